//! The browser side's files (`functions/assets`, and the local stack): the widget loader
//! `/widget/v1/balcao.js`, the widget's iframe app `/widget/v1/frame.*` and the seller inbox
//! `/inbox/`. They are compiled into the binary from the top-level `widget/` folder, so a deploy
//! ships exactly the files its code was tested with and nothing is fetched from elsewhere.
//!
//! Caching: an HTML page names its scripts and styles as `name?v=<hash>` (the marker `?v=__V__`
//! in the source is replaced by the first 16 hex digits of the file's SHA-256). A request whose
//! `v` matches is cached for a year (`immutable`); the pages themselves and the loader, whose
//! URL stores embed, for 5 minutes. Every answer carries a strong `ETag` and honours
//! `If-None-Match` with a 304. A client that accepts gzip gets the file gzipped (compressed
//! once per process; API Gateway's HTTP API does not compress).
//!
//! Headers: the iframe app and the inbox are served with a CSP that allows only their own
//! origin (`script-src 'self'`, no inline script or style, `connect-src 'self'`); the inbox may
//! not be framed; every file is `nosniff` with `Referrer-Policy: no-referrer`.

use std::sync::OnceLock;

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::http::{finish, new_request_id};

/// What a file is, which sets its type, caching and policy headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page that may be framed by any site (the widget's iframe app).
    FramedPage,
    /// A page that may not be framed (the inbox, the demo store).
    Page,
    Script,
    Style,
    /// A JSON document any site may read (the OpenAPI document).
    Json,
}

/// One file served at one path.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub kind: Kind,
    pub bytes: &'static [u8],
}

/// The widget and the inbox: the files the `assets` function serves in AWS.
pub const FILES: &[Asset] = &[
    Asset {
        path: "/widget/v1/balcao.js",
        kind: Kind::Script,
        bytes: include_bytes!("../../../widget/v1/balcao.js"),
    },
    Asset {
        path: "/widget/v1/frame.html",
        kind: Kind::FramedPage,
        bytes: include_bytes!("../../../widget/v1/frame.html"),
    },
    Asset {
        path: "/widget/v1/frame.js",
        kind: Kind::Script,
        bytes: include_bytes!("../../../widget/v1/frame.js"),
    },
    Asset {
        path: "/widget/v1/live.js",
        kind: Kind::Script,
        bytes: include_bytes!("../../../widget/v1/live.js"),
    },
    Asset {
        path: "/widget/v1/frame.css",
        kind: Kind::Style,
        bytes: include_bytes!("../../../widget/v1/frame.css"),
    },
    Asset {
        path: "/inbox/",
        kind: Kind::Page,
        bytes: include_bytes!("../../../widget/inbox/index.html"),
    },
    Asset {
        path: "/inbox/inbox.js",
        kind: Kind::Script,
        bytes: include_bytes!("../../../widget/inbox/inbox.js"),
    },
    Asset {
        path: "/inbox/inbox.css",
        kind: Kind::Style,
        bytes: include_bytes!("../../../widget/inbox/inbox.css"),
    },
    Asset {
        path: "/openapi.json",
        kind: Kind::Json,
        bytes: include_bytes!("../../../docs/openapi.json"),
    },
];

/// The routes of `template.yaml` that the assets function serves.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/widget/v1/{file}"),
    ("GET", "/inbox"),
    ("GET", "/inbox/{file}"),
    ("GET", "/openapi.json"),
];

/// `Cache-Control` of a file fetched with its current `?v=` hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else (pages, the loader, a file fetched without its hash).
pub const SHORT: &str = "public, max-age=300";

const FRAMED_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' https: data:; base-uri 'none'; form-action 'none'";
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' https: data:; frame-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// A set of files ready to serve: hashes computed and the pages' `?v=__V__` markers filled in.
pub struct Bundle {
    files: Vec<Served>,
    /// The pages' Content-Security-Policy, `connect-src` naming the WebSocket API.
    framed_csp: String,
    page_csp: String,
}

/// Where the pages open their live socket: `BALCAO_WS_URL` (the WebSocket API stage's `wss://`
/// URL, set by the template), or `/ws` on the pages' own origin (the local stack).
pub fn live_url_from_env() -> String {
    std::env::var("BALCAO_WS_URL")
        .ok()
        .filter(|u| u.starts_with("wss://") || u.starts_with("ws://"))
        .unwrap_or_else(|| "/ws".to_owned())
}

struct Served {
    path: &'static str,
    kind: Kind,
    bytes: Vec<u8>,
    /// `bytes` gzipped (level 9), sent to a client that accepts it: API Gateway does not
    /// compress.
    gzipped: Vec<u8>,
    /// First 16 hex digits of the SHA-256 of `bytes`.
    hash: String,
}

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    // Writing to a Vec cannot fail.
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_default()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Bundle {
    pub fn new(assets: &[Asset]) -> Bundle {
        Bundle::with_live(assets, "/ws")
    }

    /// [`Bundle::new`], the pages' `<meta name="balcao-live" content="__WS__">` set to `live`
    /// (an absolute `ws(s)://` URL, also allowed by the pages' `connect-src`, or a path on the
    /// pages' own origin).
    pub fn with_live(assets: &[Asset], live: &str) -> Bundle {
        let connect = match live.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or_default();
                format!("connect-src 'self' {scheme}://{host}")
            }
            None => "connect-src 'self'".to_owned(),
        };
        let hashes: Vec<(&str, String)> = assets
            .iter()
            .filter(|a| matches!(a.kind, Kind::Script | Kind::Style))
            .map(|a| (file_name(a.path), short_hash(a.bytes)))
            .collect();
        let files = assets
            .iter()
            .map(|a| {
                let bytes = match a.kind {
                    Kind::Page | Kind::FramedPage => {
                        let mut text = String::from_utf8_lossy(a.bytes)
                            .replace("content=\"__WS__\"", &format!("content=\"{live}\""));
                        for (name, hash) in &hashes {
                            text = text
                                .replace(&format!("{name}?v=__V__"), &format!("{name}?v={hash}"));
                        }
                        text.into_bytes()
                    }
                    Kind::Script | Kind::Style | Kind::Json => a.bytes.to_vec(),
                };
                Served {
                    path: a.path,
                    kind: a.kind,
                    hash: short_hash(&bytes),
                    gzipped: gzip(&bytes),
                    bytes,
                }
            })
            .collect();
        Bundle {
            files,
            framed_csp: FRAMED_CSP.replace("connect-src 'self'", &connect),
            page_csp: PAGE_CSP.replace("connect-src 'self'", &connect),
        }
    }

    /// The widget and inbox files, built once per process.
    pub fn widget() -> &'static Bundle {
        static BUNDLE: OnceLock<Bundle> = OnceLock::new();
        BUNDLE.get_or_init(|| Bundle::with_live(FILES, &live_url_from_env()))
    }

    /// Whether `path` names a file of this bundle (`/inbox` is `/inbox/`).
    pub fn serves(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    fn find(&self, path: &str) -> Option<&Served> {
        let path = if path.ends_with('/') || path.contains('.') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
        self.files.iter().find(|f| f.path == path)
    }

    /// The body of `path` as served (pages with their hashes filled in).
    pub fn body(&self, path: &str) -> Option<&[u8]> {
        self.find(path).map(|f| f.bytes.as_slice())
    }

    /// The size of `path` gzipped, as sent to a browser.
    pub fn gzipped_len(&self, path: &str) -> Option<usize> {
        self.find(path).map(|f| f.gzipped.len())
    }

    /// Answers a GET or HEAD for one of the bundle's files; anything else in the error envelope.
    pub fn respond(&self, req: &Request) -> Response<Body> {
        let request_id = new_request_id();
        let Some(file) = self.find(req.uri().path()) else {
            return finish(Err(Error::NotFound("route".into())), &request_id);
        };
        if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
            return finish(Err(Error::MethodNotAllowed), &request_id);
        }
        let versioned = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|kv| kv.strip_prefix("v=") == Some(file.hash.as_str()));
        let etag = format!("\"{}\"", file.hash);
        let content_type = match file.kind {
            Kind::Page | Kind::FramedPage => "text/html; charset=utf-8",
            Kind::Script => "text/javascript; charset=utf-8",
            Kind::Style => "text/css; charset=utf-8",
            Kind::Json => "application/json",
        };
        let mut builder = Response::builder()
            .header("x-request-id", &request_id)
            .header("content-type", content_type)
            .header("etag", &etag)
            .header("cache-control", if versioned { IMMUTABLE } else { SHORT })
            .header("x-content-type-options", "nosniff")
            .header("referrer-policy", "no-referrer")
            // The loader and the app's files are loaded by other sites' pages.
            .header("cross-origin-resource-policy", "cross-origin");
        match file.kind {
            Kind::FramedPage => {
                builder = builder.header("content-security-policy", &self.framed_csp)
            }
            Kind::Page => {
                builder = builder
                    .header("content-security-policy", &self.page_csp)
                    .header("x-frame-options", "DENY")
            }
            Kind::Json => builder = builder.header("access-control-allow-origin", "*"),
            Kind::Script | Kind::Style => {}
        }
        let fresh = req
            .headers()
            .get_all("if-none-match")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == etag || t.trim() == "*");
        let gzip_ok = !file.gzipped.is_empty()
            && req
                .headers()
                .get_all("accept-encoding")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|e| {
                    let mut parts = e.split(';');
                    let name = parts.next().unwrap_or("").trim();
                    let refused =
                        parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                    name.eq_ignore_ascii_case("gzip") && !refused
                });
        builder = builder.header("vary", "accept-encoding");
        if gzip_ok {
            builder = builder.header("content-encoding", "gzip");
        }
        let (status, body) = if fresh {
            (304, Body::Empty)
        } else if req.method() == http::Method::HEAD {
            (200, Body::Empty)
        } else if gzip_ok {
            (200, Body::Binary(file.gzipped.clone()))
        } else {
            (200, Body::Binary(file.bytes.clone()))
        };
        builder
            .status(status)
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

/// The assets function's handler.
pub async fn handle(req: Request) -> Response<Body> {
    Bundle::widget().respond(&req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path_and_query: &str, etag: Option<&str>) -> Response<Body> {
        let mut b = http::Request::builder().uri(path_and_query);
        if let Some(e) = etag {
            b = b.header("if-none-match", e);
        }
        let req = b.body(Body::Empty).unwrap_or_default();
        Bundle::widget().respond(&req)
    }

    fn header<'r>(r: &'r Response<Body>, name: &str) -> &'r str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn pages_name_their_files_by_hash_and_those_are_immutable() {
        let bundle = Bundle::widget();
        let html = String::from_utf8_lossy(bundle.body("/widget/v1/frame.html").unwrap_or(&[]))
            .into_owned();
        assert!(!html.contains("__V__"), "{html}");
        let hash = short_hash(bundle.body("/widget/v1/frame.js").unwrap_or(&[]));
        assert!(html.contains(&format!("frame.js?v={hash}")), "{html}");
        let r = get(&format!("/widget/v1/frame.js?v={hash}"), None);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "cache-control"), IMMUTABLE);
        assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
        // Without the hash, or with an old one: a short cache.
        assert_eq!(
            header(&get("/widget/v1/frame.js", None), "cache-control"),
            SHORT
        );
        assert_eq!(
            header(&get("/widget/v1/frame.js?v=0000", None), "cache-control"),
            SHORT
        );
    }

    #[test]
    fn pages_name_the_live_socket_and_allow_it() {
        let local = Bundle::new(FILES);
        let frame =
            String::from_utf8_lossy(local.body("/widget/v1/frame.html").unwrap()).into_owned();
        assert!(
            frame.contains(r#"<meta name="balcao-live" content="/ws">"#),
            "{frame}"
        );
        assert!(local.framed_csp.contains("connect-src 'self';"));
        let aws = Bundle::with_live(FILES, "wss://abc.execute-api.us-east-1.amazonaws.com/live");
        let inbox = String::from_utf8_lossy(aws.body("/inbox/").unwrap()).into_owned();
        assert!(inbox.contains(r#"content="wss://abc.execute-api.us-east-1.amazonaws.com/live""#));
        assert!(aws
            .page_csp
            .contains("connect-src 'self' wss://abc.execute-api.us-east-1.amazonaws.com;"));
        assert!(!inbox.contains("__WS__"));
    }

    #[test]
    fn gzip_when_accepted() {
        let req = http::Request::builder()
            .uri("/widget/v1/frame.js")
            .header("accept-encoding", "br, gzip;q=0.8")
            .body(Body::Empty)
            .unwrap_or_default();
        let r = Bundle::widget().respond(&req);
        assert_eq!(header(&r, "content-encoding"), "gzip");
        let Body::Binary(gz) = r.body() else {
            panic!("binary body")
        };
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut plain)
            .unwrap_or_default();
        assert_eq!(
            Some(plain.as_slice()),
            Bundle::widget().body("/widget/v1/frame.js")
        );
        let refused = http::Request::builder()
            .uri("/widget/v1/frame.js")
            .header("accept-encoding", "gzip;q=0")
            .body(Body::Empty)
            .unwrap_or_default();
        assert_eq!(
            header(&Bundle::widget().respond(&refused), "content-encoding"),
            ""
        );
        assert_eq!(
            header(&get("/widget/v1/frame.js", None), "content-encoding"),
            ""
        );
    }

    #[test]
    fn etags_answer_304_and_pages_carry_their_policy() {
        let first = get("/widget/v1/balcao.js", None);
        let etag = header(&first, "etag").to_owned();
        assert!(etag.starts_with('"'), "{etag}");
        assert_eq!(get("/widget/v1/balcao.js", Some(&etag)).status(), 304);
        assert_eq!(get("/widget/v1/balcao.js", Some("\"other\"")).status(), 200);
        let frame = get("/widget/v1/frame.html", None);
        assert!(header(&frame, "content-security-policy").contains("script-src 'self'"));
        assert!(!header(&frame, "content-security-policy").contains("frame-ancestors"));
        let inbox = get("/inbox", None);
        assert_eq!(inbox.status(), 200);
        assert!(header(&inbox, "content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(get("/inbox/", None).status(), 200);
        assert_eq!(get("/inbox/missing.js", None).status(), 404);
        assert_eq!(get("/widget/v1/../../etc/passwd", None).status(), 404);
    }
}
