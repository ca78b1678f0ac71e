//! Property tests for everything that parses untrusted input: JWTs (seller, operator, visitor,
//! session), cursors, query strings and paging parameters, JSON bodies, cookies, the webhook URL
//! policy, and the moderation engine (prescan against full rules). Each property runs thousands
//! of generated cases (`CASES`, `BALCAO_PROPTEST_CASES` to change it): nothing panics, what was
//! issued round-trips, and anything altered or foreign is refused.
//!
//! These stand in for `cargo fuzz` targets, which need a nightly toolchain this project does not
//! use: the same entry points, driven by proptest's generators and shrinking on stable.

use std::sync::Arc;

use balcao::api::paging::{decode_cursor, encode_cursor, PageParams, Query};
use balcao::auth::{
    mint_operator_token, mint_seller_token, mint_visitor_token, Auth, OperatorClaims, SellerClaims,
    VisitorClaims, LOCAL_AUDIENCE, LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER,
};
use balcao::domain::input::{OpenConversationBody, PostMessageBody};
use balcao::moderation::{Engine, Scratch};
use balcao::webhooks::UrlPolicy;
use lambda_http::{Body, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per property in the full run.
const CASES: u32 = 3000;

fn config() -> Config {
    let cases = std::env::var("BALCAO_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` over `strategy` and prints how many cases it took (the test output's counts).
fn check<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let cfg = config();
    let cases = cfg.cases;
    let mut runner = TestRunner::new(cfg);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}");
    }
    println!("property {name}: {cases} cases held");
}

fn auth() -> Auth {
    Auth::local(Arc::new(balcao::clock::SystemClock))
}

fn exp() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + 3600
}

/// Ids, names and scopes as claims carry them: printable text, sometimes empty or odd.
fn claim_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,24}",
        "\\PC{0,40}",
        Just(String::new()),
        Just("seller-acme\u{0}".to_owned()),
    ]
}

/// A token with one character replaced by another of the base64url alphabet (or a dot).
fn tamper(token: &str, at: usize, with: char) -> Option<String> {
    let chars: Vec<char> = token.chars().collect();
    let i = at % chars.len();
    (chars[i] != with).then(|| {
        let mut c = chars;
        c[i] = with;
        c.into_iter().collect()
    })
}

fn token_char() -> impl Strategy<Value = char> {
    prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
            .chars()
            .collect::<Vec<_>>(),
    )
}

#[test]
fn any_text_is_refused_by_every_token_check() {
    let a = auth();
    let text = prop_oneof![
        "\\PC{0,200}",
        // Three dot-separated base64url-ish parts, the shape of a JWT.
        "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,60}",
        // A real header with the algorithm switched off, and junk after it.
        "[A-Za-z0-9_-]{0,80}"
            .prop_map(|rest| format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{rest}.")),
    ];
    check("token checks refuse any text", text, |t| {
        prop_assert!(a.verify_seller(&t).is_err());
        prop_assert!(a.verify_operator(&t).is_err());
        prop_assert!(a.verify_visitor(&t).is_err());
        prop_assert!(a.verify_session(&t).is_err());
        Ok(())
    });
}

#[test]
fn seller_tokens_round_trip_and_any_change_is_refused() {
    let a = auth();
    let strategy = (
        "[a-z0-9-]{1,24}",
        "[a-z0-9-]{1,24}",
        claim_text(),
        any::<usize>(),
        token_char(),
    );
    check(
        "seller tokens round-trip, tampered ones are refused",
        strategy,
        |(account, seller, name, at, with)| {
            let claims = SellerClaims {
                sub: "prop".into(),
                account: account.clone(),
                seller_id: seller.clone(),
                scope: "services:conversations-seller:read".into(),
                name: Some(name.clone()),
            };
            let token = mint_seller_token(
                LOCAL_DEV_SECRET.as_bytes(),
                LOCAL_DEV_KID,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
                &claims,
                exp(),
            )
            .unwrap();
            let p = a.verify_seller(&token).unwrap();
            prop_assert_eq!(&p.account, &account);
            prop_assert_eq!(&p.seller_id, &seller);
            prop_assert_eq!(p.name.as_deref(), Some(name.as_str()));
            // Another kind of token never passes for this one.
            prop_assert!(a.verify_operator(&token).is_err());
            prop_assert!(a.verify_visitor(&token).is_err());
            prop_assert!(a.verify_session(&token).is_err());
            if let Some(bad) = tamper(&token, at, with) {
                prop_assert!(a.verify_seller(&bad).is_err(), "accepted {bad}");
            }
            // Signed with another key: refused.
            let other = mint_seller_token(
                b"another-secret-of-thirty-two-bytes!!",
                LOCAL_DEV_KID,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
                &claims,
                exp(),
            )
            .unwrap();
            prop_assert!(a.verify_seller(&other).is_err());
            Ok(())
        },
    );
}

#[test]
fn visitor_operator_and_session_tokens_round_trip_and_resist_tampering() {
    let a = auth();
    let strategy = (
        "[a-z0-9-]{1,24}",
        "[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}",
        any::<usize>(),
        token_char(),
    );
    check(
        "visitor, operator and session tokens round-trip, tampered ones are refused",
        strategy,
        |(id, email, at, with)| {
            let visitor = mint_visitor_token(
                LOCAL_DEV_SECRET.as_bytes(),
                LOCAL_DEV_KID,
                &VisitorClaims {
                    sub: id.clone(),
                    account: "lojademo".into(),
                    email: email.clone(),
                    jti: format!("jti-{id}"),
                },
                exp(),
            )
            .unwrap();
            let v = a.verify_visitor(&visitor).unwrap();
            prop_assert_eq!(&v.email, &email);
            prop_assert!(a.verify_seller(&visitor).is_err());
            prop_assert!(a.verify_session(&visitor).is_err());

            let operator = mint_operator_token(
                LOCAL_DEV_SECRET.as_bytes(),
                LOCAL_DEV_KID,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
                &OperatorClaims {
                    sub: email.clone(),
                    account: "lojademo".into(),
                    name: None,
                },
                exp(),
            )
            .unwrap();
            prop_assert_eq!(a.verify_operator(&operator).unwrap().sub, email.clone());
            prop_assert!(a.verify_seller(&operator).is_err());

            let session = a.issue_session_token(&id).unwrap();
            prop_assert_eq!(a.verify_session(&session).unwrap(), id.clone());
            prop_assert!(a.verify_visitor(&session).is_err());

            for t in [&visitor, &operator, &session] {
                if let Some(bad) = tamper(t, at, with) {
                    prop_assert!(a.verify_visitor(&bad).is_err(), "accepted {bad}");
                    prop_assert!(a.verify_operator(&bad).is_err(), "accepted {bad}");
                    prop_assert!(a.verify_session(&bad).is_err(), "accepted {bad}");
                }
            }
            Ok(())
        },
    );
}

#[test]
fn cursors_round_trip_and_foreign_ones_are_refused() {
    let valid = |k: &str| balcao::ids::is_id(k);
    let strategy = (
        "[0-7][0-9A-HJKMNP-TV-Z]{25}",
        prop_oneof!["\\PC{0,60}", "[A-Za-z0-9_-]{0,60}"],
    );
    check(
        "cursors round-trip; anything else decodes to a valid key or nothing",
        strategy,
        |(id, raw)| {
            prop_assert_eq!(decode_cursor(&encode_cursor(&id), valid), Some(id.clone()));
            if let Some(k) = decode_cursor(&raw, valid) {
                prop_assert!(valid(&k));
                prop_assert_eq!(encode_cursor(&k), raw.trim_end_matches('='));
            }
            Ok(())
        },
    );
}

const PAGING: [&str; 4] = ["_offset", "_limit", "_after", "_before"];

#[test]
fn query_strings_parse_or_are_refused_and_pages_stay_bounded() {
    let key = prop_oneof![
        prop::sample::select(PAGING.to_vec()).prop_map(str::to_owned),
        "[a-z_]{0,10}",
        "\\PC{0,12}",
    ];
    let value = prop_oneof![
        "[0-9]{0,25}",
        "-[0-9]{1,5}",
        "[A-Za-z0-9_-]{0,40}",
        "\\PC{0,20}"
    ];
    let pairs = prop::collection::vec((key, value), 0..6);
    check(
        "queries parse or are refused; a page never exceeds its limits",
        pairs,
        |pairs| {
            let raw = pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        balcao::http::percent_encode(k),
                        balcao::http::percent_encode(v)
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            let req: Request = lambda_http::http::Request::builder()
                .uri(format!("https://api.example/v0/conversations?{raw}"))
                .body(Body::Empty)
                .unwrap();
            let read = balcao::http::query_pairs(&req).unwrap();
            prop_assert_eq!(&read, &pairs);
            let Ok(q) = Query::parse(read, &PAGING) else {
                return Ok(());
            };
            if let Ok(p) = PageParams::parse(&q, balcao::ids::is_id) {
                prop_assert!((1..=100).contains(&p.limit));
                prop_assert!(p.after.is_none() || p.before.is_none());
                if p.after.is_none() && p.before.is_none() {
                    prop_assert!(p.offset <= 1000);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn percent_encoding_round_trips_and_decoding_never_panics() {
    check(
        "percent-encoding round-trips",
        ("\\PC{0,60}", "[%0-9A-Fa-fg+]{0,30}"),
        |(text, raw)| {
            let enc = balcao::http::percent_encode(&text);
            prop_assert_eq!(balcao::http::percent_decode(&enc).unwrap(), text);
            let _ = balcao::http::percent_decode(&raw);
            Ok(())
        },
    );
}

fn json_request(bytes: Vec<u8>, content_type: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://api.example/v0/customer/conversations")
        .header("content-type", content_type)
        .body(Body::Binary(bytes))
        .unwrap()
}

/// JSON-ish bytes: real bodies with parts changed, other JSON values, and raw bytes.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
    ];
    let json = leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "content",
                        "seller_id",
                        "tags",
                        "name",
                        "value",
                        "owner",
                        "external_id",
                        "attachments",
                        "custom_fields",
                        "display_name",
                    ])
                    .prop_map(str::to_owned),
                    "\\PC{0,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        json.prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        "\\{\\PC{0,80}".prop_map(String::into_bytes),
    ]
}

#[test]
fn json_bodies_are_read_or_refused_with_a_field() {
    let strategy = (
        body_bytes(),
        prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/json; charset=latin1",
        ]),
    );
    check(
        "JSON bodies are read or refused as a 4xx naming a field",
        strategy,
        |(bytes, ct)| {
            let req = json_request(bytes, ct);
            for outcome in [
                balcao::http::json_body::<PostMessageBody>(&req)
                    .and_then(|b| b.validate(false))
                    .map(|_| ()),
                balcao::http::json_body::<OpenConversationBody>(&req)
                    .and_then(|b| b.validate())
                    .map(|_| ()),
            ] {
                if let Err(e) = outcome {
                    let status = e.status();
                    prop_assert!((400..500).contains(&status), "{status}: {e}");
                }
            }
            Ok(())
        },
    );
}

#[test]
fn cookies_are_found_by_exact_name_only() {
    let name = "[A-Za-z_]{1,12}";
    let value = "[A-Za-z0-9._-]{1,40}";
    let noise = prop::collection::vec(("[A-Za-z_]{1,12}", "[A-Za-z0-9._=-]{0,20}"), 0..4);
    check(
        "cookies are found by exact name",
        (name, value, noise, "\\PC{0,80}"),
        |(name, value, noise, junk)| {
            let mut parts: Vec<String> = noise
                .iter()
                .filter(|(n, _)| *n != name)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let at = parts.len() / 2;
            parts.insert(at, format!("{name}={value}"));
            let req: Request = lambda_http::http::Request::builder()
                .uri("https://api.example/api/sessions")
                .header("cookie", parts.join("; "))
                .body(Body::Empty)
                .unwrap();
            prop_assert_eq!(balcao::http::cookie(&req, &name), Some(value.as_str()));
            let other = format!("{name}x");
            prop_assert_eq!(balcao::http::cookie(&req, &other), None);
            if let Ok(h) = lambda_http::http::HeaderValue::from_str(&junk) {
                let req: Request = lambda_http::http::Request::builder()
                    .uri("https://api.example/api/sessions")
                    .header("cookie", h)
                    .body(Body::Empty)
                    .unwrap();
                let _ = balcao::http::cookie(&req, &name);
            }
            Ok(())
        },
    );
}

/// Hosts that must never receive a webhook, spelled the ways URL parsers accept.
fn reserved_host() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..=255, 0u8..=255, 0u8..=255).prop_map(|(a, b, c)| format!("10.{a}.{b}.{c}")),
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("192.168.{a}.{b}")),
        (16u8..=31, 0u8..=255).prop_map(|(a, b)| format!("172.{a}.{b}.1")),
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("127.{a}.{b}.1")),
        (0u8..=255).prop_map(|a| format!("169.254.{a}.254")),
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("[::ffff:10.0.{a}.{b}]")),
        (0u32..=0x00ff_ffff).prop_map(|n| format!("{}", 0x0a00_0000u32 + n)),
        (0u32..=0x00ff_ffff).prop_map(|n| format!("0x{:x}", 0x7f00_0000u32 + n)),
        Just("[::1]".to_owned()),
        Just("localhost.".to_owned()),
        Just("0".to_owned()),
        Just("[fe80::1]".to_owned()),
    ]
}

#[test]
fn the_url_policy_never_lets_a_reserved_address_through() {
    let strict = UrlPolicy::STRICT;
    check(
        "the URL policy refuses every spelling of a reserved address, and never panics",
        (reserved_host(), "[a-z/]{0,12}", "\\PC{0,80}"),
        |(host, path, junk)| {
            for scheme in ["https", "http"] {
                let url = format!("{scheme}://{host}/{path}");
                prop_assert!(strict.check_url(&url).is_err(), "let {url} through");
            }
            if let Ok(u) = strict.check_url(&junk) {
                prop_assert_eq!(u.scheme(), "https");
                prop_assert!(u.host().is_some());
            }
            Ok(())
        },
    );
}

/// Text that looks like what people write to slip contact details through, and plain chat.
fn chat_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,4}",
        prop::sample::select(vec![
            " ", ".", "-", "/", " . ", "\n", ",", "(", ")", "@", "+55", "pix", "cpf", "zap",
            "whats", "um", "dois", "três", "sete", "nove", "ponto", "arroba", "gmail", "com", "br",
            "https://", "www", "t.me/", "0", "O", "l", "I", "𝟓", "٣", "\u{200b}", "é", "olá",
            "preço", "frete", "pedido", "nota", "tamanho", "cor", "sim",
        ])
        .prop_map(str::to_owned),
        "\\PC{1,6}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

#[test]
fn the_prescan_gives_what_the_full_rules_give() {
    let engine = Engine::new();
    let scratch = std::cell::RefCell::new(Scratch::default());
    check(
        "moderation: prescan windows give what the full rules give, on any text",
        chat_text(),
        |text| {
            let fast = engine.check_with(&text, None, &mut scratch.borrow_mut());
            let full = engine.check_full(&text, None);
            let names =
                |f: balcao::moderation::Findings| f.kinds().map(|t| t.as_str()).collect::<Vec<_>>();
            prop_assert_eq!(names(fast), names(full), "on {:?}", text);
            Ok(())
        },
    );
}
