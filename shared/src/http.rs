//! HTTP edge helpers shared by every HTTP function: reading bodies and queries strictly, and the
//! single place where a handler's result becomes a response (status, envelope, `x-request-id`).

use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, FieldError, Result};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A handler's successful answer: status and JSON value, plus extra headers (cookies).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: &impl Serialize) -> Result<Reply> {
        Ok(Reply {
            status,
            body: serde_json::to_value(body).map_err(Error::unexpected)?,
            headers: Vec::new(),
        })
    }
    pub fn ok(body: &impl Serialize) -> Result<Reply> {
        Reply::json(200, body)
    }
    pub fn created(body: &impl Serialize) -> Result<Reply> {
        Reply::json(201, body)
    }
    /// 204, no body.
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: serde_json::Value::Null,
            headers: Vec::new(),
        }
    }
    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// Runs a handler's route inside a span that carries the request id (and Lambda's own request id
/// when there is one), so every log line the request writes names it; then [`finish`]es.
pub async fn respond<'a, Fut>(
    req: &'a Request,
    route: impl FnOnce(&'a Request) -> Fut,
) -> Response<Body>
where
    Fut: std::future::Future<Output = Result<Reply>> + 'a,
{
    use lambda_http::RequestExt;
    use tracing::Instrument;
    let request_id = new_request_id();
    let aws_request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span =
        tracing::info_span!("request", request_id = %request_id, aws_request_id = %aws_request_id);
    let result = route(req).instrument(span.clone()).await;
    let _in = span.enter();
    finish(result, &request_id)
}

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Turns a handler's result into the response. Errors become the contract's envelope; 5xx causes
/// go to the log with the request id, never to the client.
pub fn finish(result: Result<Reply>, request_id: &str) -> Response<Body> {
    let (status, body, headers) = match result {
        Ok(reply) => (reply.status, reply.body, reply.headers),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(request_id, error = %ErrorChain(&e), "request failed");
            } else {
                tracing::info!(request_id, status = e.status(), error = %ErrorChain(&e), "request refused");
            }
            let headers = match e {
                Error::RateLimited(after) | Error::Unavailable(after, _) => {
                    vec![("retry-after", after.to_string())]
                }
                _ => Vec::new(),
            };
            (e.status(), e.envelope(request_id), headers)
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header("x-request-id", request_id);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    if status == 204 {
        return builder
            .body(Body::Empty)
            .unwrap_or_else(|_| Response::new(Body::Empty));
    }
    builder
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Text("{}".into())))
}

/// Prints an error with all of its sources, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut src = self.0.source();
        while let Some(s) = src {
            write!(f, ": {s}")?;
            src = s.source();
        }
        Ok(())
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The caller's address as API Gateway recorded it (`requestContext.http.sourceIp`). A client's
/// `X-Forwarded-For` is never read: anyone can write it. The local stack fills the same field
/// from the connection's peer (or, told to trust a proxy, from the proxy's header).
pub fn client_ip(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// The bearer token of `Authorization`, if the header has that scheme.
pub fn bearer(req: &Request) -> Option<&str> {
    let v = header(req, "authorization")?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(s) => s.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Reads a JSON body strictly: size, media type, UTF-8, syntax, then types, naming the field
/// that failed.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge(MAX_BODY_BYTES));
    }
    check_json_media_type(req)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::validation(
            "body",
            "REQUIRED",
            "a JSON body is required",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::validation("body", "INVALID_ENCODING", "the body is not valid UTF-8")
    })?;
    // Every body of this API is an object (serde would read a struct from an array too).
    if !text.trim_start().starts_with('{') {
        return Err(Error::validation(
            "body",
            "INVALID_TYPE",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (field, code) = if inner.is_syntax() || inner.is_eof() {
            ("body".to_owned(), "INVALID_JSON")
        } else {
            (
                if path == "." { "body".to_owned() } else { path },
                "INVALID_TYPE",
            )
        };
        Error::Validation(vec![FieldError::new(
            field,
            code,
            strip_position(&inner.to_string()),
        )])
    })?;
    de.end().map_err(|_| {
        Error::validation(
            "body",
            "INVALID_JSON",
            "trailing characters after the JSON value",
        )
    })?;
    Ok(value)
}

/// For bodies that may be empty (PATCH read_by): only the size and, when present, the type.
pub fn optional_body_ok(req: &Request) -> Result<()> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge(MAX_BODY_BYTES));
    }
    if !bytes.iter().all(|b| b.is_ascii_whitespace()) {
        check_json_media_type(req)?;
    }
    Ok(())
}

fn check_json_media_type(req: &Request) -> Result<()> {
    let ct = header(req, "content-type").unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType(ct.chars().take(100).collect()))
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The query string as decoded pairs. Bad percent-encoding or UTF-8 is a 400.
pub fn query_pairs(req: &Request) -> Result<Vec<(String, String)>> {
    let Some(q) = req.uri().query() else {
        return Ok(Vec::new());
    };
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> Result<String> {
    let bad = || Error::validation("query", "INVALID_ENCODING", "malformed query string");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path split on `/`, without empty segments.
pub fn segments(req: &Request) -> Vec<&str> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ct: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri("/x?a=1&b=%C3%A3o+x")
            .header("content-type", ct)
            .body(Body::Text(body.into()))
            .unwrap()
    }

    #[derive(serde::Deserialize, Debug)]
    struct T {
        #[allow(dead_code)]
        n: u32,
    }

    #[test]
    fn body_errors_are_4xx_and_name_the_field() {
        assert!(matches!(
            json_body::<T>(&req("text/plain", "{}")),
            Err(Error::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            json_body::<T>(&req("application/json", "{")),
            Err(Error::Validation(_))
        ));
        let Err(Error::Validation(v)) = json_body::<T>(&req("application/json", r#"{"n":"x"}"#))
        else {
            panic!()
        };
        assert_eq!(v[0].field, "n");
        assert_eq!(v[0].code, "INVALID_TYPE");
        let big = format!(r#"{{"n":1,"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            json_body::<T>(&req("application/json", &big)),
            Err(Error::PayloadTooLarge(_))
        ));
        assert!(json_body::<T>(&req("application/json; charset=utf-8", r#"{"n":1}"#)).is_ok());
        assert!(json_body::<T>(&req("application/json", r#"{"n":1} x"#)).is_err());
    }

    #[test]
    fn query_strings_are_decoded_strictly() {
        let q = query_pairs(&req("application/json", "")).unwrap();
        assert_eq!(
            q,
            vec![("a".into(), "1".into()), ("b".into(), "ão x".into())]
        );
        assert!(percent_decode("%ZZ").is_err());
        assert!(percent_decode("%FF").is_err());
        assert_eq!(percent_decode(&percent_encode("a b/ç")).unwrap(), "a b/ç");
    }

    #[test]
    fn cookies_and_bearer_are_read() {
        let r = http::Request::builder()
            .header("authorization", "Bearer abc")
            .header("cookie", "a=1; vtex_session=xyz")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer(&r), Some("abc"));
        assert_eq!(cookie(&r, "vtex_session"), Some("xyz"));
        assert_eq!(cookie(&r, "nope"), None);
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;
    use crate::test_logs::capture;

    #[test]
    fn every_log_line_of_a_request_names_it() {
        let (res, lines) = capture(|| async {
            let req = Request::default();
            respond(&req, |_| async {
                tracing::info!("looking for the thing");
                Err(Error::NotFound("thing".into()))
            })
            .await
        });
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        // The handler's own line and the refusal `finish` logs.
        assert_eq!(lines.len(), 2, "{lines:?}");
        for v in lines {
            assert_eq!(v["span"]["request_id"], request_id.as_str(), "{v}");
        }
    }
}
