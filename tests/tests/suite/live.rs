//! The realtime protocol over a real WebSocket (`/ws` of the local stack), on the embedded store
//! and on DynamoDB (connections stored and looked up through the DynamoDB adapter; the push port
//! is the local stack's sockets, the stand-in for `PostToConnection`): who gets which frame,
//! `ping`, `resume` from a cursor, and reconnecting without missing or doubling a message.

use balcao_tests::live::{self, about, Socket};
use balcao_tests::{
    both_stores, spawn_app, StoreKind, TestApp, ACME, BRAVO, DEMO_APP_TOKEN, JOAO, MARIA,
    OTHER_ACCOUNT_APP_TOKEN,
};
use serde_json::{json, Value};

const SIX_MINUTES: i64 = 6 * 60 * 1000;

struct People {
    maria_token: String,
    maria: Socket,
    joao: Socket,
    acme: Socket,
    bravo: Socket,
    /// Another account's seller with the same seller id.
    other_acme: Socket,
}

async fn people(a: &TestApp) -> People {
    let maria_token = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let joao_token = a.visitor_token(DEMO_APP_TOKEN, JOAO).await;
    People {
        maria: live::customer(a, &maria_token, MARIA).await,
        joao: live::customer(a, &joao_token, JOAO).await,
        acme: live::seller(a, "lojademo", ACME).await,
        bravo: live::seller(a, "lojademo", BRAVO).await,
        other_acme: live::seller(a, "outraloja", ACME).await,
        maria_token,
    }
}

fn status_of(frames: &[Value], id: &str, kind: &str, status: &str) -> bool {
    about(frames, id)
        .iter()
        .any(|(k, s)| k == kind && s == status)
}

async fn bad_credentials_get_no_socket(kind: StoreKind) {
    let Some(a) = spawn_app(kind).await else {
        return;
    };
    let maria = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let other = a.visitor_token(OTHER_ACCOUNT_APP_TOKEN, MARIA).await;
    let no_read = a.seller_token_with("lojademo", ACME, balcao::auth::SCOPE_SELLER_WRITE, 3600);
    let expired = a.seller_token_with("lojademo", ACME, balcao::auth::SCOPE_SELLER_READ, -3600);
    let bearer = |t: &str| format!("Bearer {t}");
    type Case<'a> = (Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], 401, "nothing"),
        (
            vec![("authorization", bearer(&maria))],
            401,
            "a visitor token as a seller's",
        ),
        (
            vec![
                ("authorization", bearer(&maria)),
                ("x-identification-email", JOAO.into()),
            ],
            401,
            "another e-mail's token",
        ),
        (
            vec![
                ("authorization", bearer(&other)),
                ("x-identification-email", MARIA.into()),
                ("x-account", "lojademo".into()),
            ],
            401,
            "another account's token",
        ),
        (
            vec![("authorization", bearer(&no_read))],
            403,
            "a seller token without read",
        ),
        (
            vec![("authorization", bearer(&expired))],
            401,
            "an expired seller token",
        ),
        (
            vec![("authorization", "Bearer x.y.z".into())],
            401,
            "garbage",
        ),
        (
            vec![("sec-websocket-protocol", "balcao.v1, bearer.x.y.z".into())],
            401,
            "garbage as a subprotocol",
        ),
    ];
    for (headers, status, what) in cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match live::connect(&a, &h).await {
            Ok(_) => panic!("{what}: a socket opened"),
            Err((got, body)) => {
                assert_eq!(got, status, "{what}: {body}");
                assert_eq!(body["status"], "error", "{what}: the contract's envelope");
            }
        }
    }
    let sockets = a.stack.app.live.sockets().unwrap();
    assert_eq!(sockets.count(), 0, "no refused socket is held");
    // A plain GET of /ws is not an upgrade.
    a.call("GET", "/ws")
        .send()
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // The subprotocol form a browser uses opens, and is answered with `balcao.v1`.
    let email = base64_url(MARIA);
    let proto = format!("balcao.v1, bearer.{maria}, email.{email}");
    let s = live::connect(&a, &[("sec-websocket-protocol", &proto)])
        .await
        .unwrap_or_else(|(s, b)| panic!("subprotocol credentials refused: {s} {b}"));
    s.close().await;
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// A customer's message: its sender sees it waiting and then decided; the seller only once it
/// is approved; nobody else ever.
async fn frames_follow_the_visibility_rules(kind: StoreKind) {
    let Some(a) = spawn_app(kind).await else {
        return;
    };
    let mut p = people(&a).await;
    let conv = a
        .open(
            &p.maria_token,
            MARIA,
            ACME,
            "sku-live-1",
            "Tem na cor azul?",
        )
        .await;
    let first = p
        .maria
        .until(|f| f.iter().any(|f| f["type"] == "message.decided"))
        .await;
    let id = first
        .iter()
        .find(|f| f["type"] == "message.decided")
        .unwrap()["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        status_of(first, &id, "message.created", "WAITING_MODERATION"),
        "{first:#?}"
    );
    assert!(status_of(first, &id, "message.decided", "APPROVED"));
    let seen = p.acme.until(|f| !f.is_empty()).await.to_vec();
    assert_eq!(
        about(&seen, &id),
        vec![("message.created".into(), "APPROVED".into())]
    );
    assert_eq!(seen[0]["conversation"]["id"], conv.as_str());
    assert_eq!(seen[0]["unread_count"], 1);

    // A rejected message goes back to its sender with its block rules, and nowhere else.
    let r = a
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{conv}/messages"),
            &p.maria_token,
            MARIA,
        )
        .json(&json!({"content": "meu cpf é 529.982.247-25"}))
        .send()
        .await;
    let bad = r.expect(201)["id"].as_str().unwrap().to_owned();
    let got = p
        .maria
        .until(|f| status_of(f, &bad, "message.decided", "REJECTED"))
        .await;
    let rejected = got
        .iter()
        .find(|f| f["message"]["id"] == bad.as_str() && f["type"] == "message.decided")
        .unwrap();
    assert!(
        rejected["message"]["moderation"]["block_rules"][0]["tags"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{rejected:#}"
    );

    // The seller answers: the customer gets it once approved, the seller sees its own first.
    let r = a
        .call("POST", &format!("/v0/conversations/{conv}/messages"))
        .bearer(&a.seller_token("lojademo", ACME))
        .json(&json!({"content": "Temos sim!", "owner": {"name": "Ana", "external_id": "ana"}}))
        .send()
        .await;
    let reply = r.expect(201)["id"].as_str().unwrap().to_owned();
    let got = p
        .maria
        .until(|f| status_of(f, &reply, "message.created", "APPROVED"))
        .await;
    assert_eq!(
        about(got, &reply),
        vec![("message.created".into(), "APPROVED".into())]
    );
    let last = got.last().unwrap();
    assert_eq!(last["unread_count"], 1);
    p.acme
        .until(|f| status_of(f, &reply, "message.decided", "APPROVED"))
        .await;

    // Reading is news to both sides.
    a.as_customer(
        "PATCH",
        &format!("/v0/customer/conversations/{conv}/read_by"),
        &p.maria_token,
        MARIA,
    )
    .send()
    .await
    .expect(200);
    let read = p
        .acme
        .until(|f| f.iter().any(|f| f["type"] == "message.read"))
        .await;
    let read = read.iter().find(|f| f["type"] == "message.read").unwrap();
    assert_eq!(read["conversation"]["unread_from_count"], 0);
    p.maria
        .until(|f| {
            f.iter()
                .any(|f| f["type"] == "message.read" && f["unread_count"] == 0)
        })
        .await;

    // Closing goes to both.
    a.call("PATCH", &format!("/v0/conversations/{conv}"))
        .bearer(&a.seller_token("lojademo", ACME))
        .json(&json!({"status": "CLOSED"}))
        .send()
        .await
        .expect(200);
    p.maria
        .until(|f| f.iter().any(|f| f["type"] == "conversation.closed"))
        .await;
    p.acme
        .until(|f| f.iter().any(|f| f["type"] == "conversation.closed"))
        .await;

    // Nothing of it ever reached the seller's side before approval, nor anyone else.
    assert!(
        about(&p.acme.frames, &bad).is_empty(),
        "the seller never sees a rejected message"
    );
    assert!(
        !p.acme.frames.iter().any(
            |f| f["message"]["moderation"]["status"] == "WAITING_MODERATION"
                && f["message"]["from_user"]["type"] == "CUSTOMER"
        ),
        "the seller never sees a customer's pending message"
    );
    for (who, s) in [
        ("another seller", &mut p.bravo),
        ("another customer", &mut p.joao),
        ("another account's seller", &mut p.other_acme),
    ] {
        if let Some(f) = s.next_within(300).await {
            panic!("{who} got a frame: {f:#}");
        }
    }
}

/// `ping`, bad frames, and `resume` of someone else's conversation.
async fn client_frames_are_answered(kind: StoreKind) {
    let Some(a) = spawn_app(kind).await else {
        return;
    };
    let mut p = people(&a).await;
    p.maria.send(&json!({"action": "ping"})).await;
    p.maria.answer("pong").await;
    for bad in [
        json!({"action": "dance"}),
        json!({"action": "ping", "extra": 1}),
        json!({"action": "resume"}),
        json!({"action": "resume", "conversation_id": "01JD3M0C00000000000000C001", "after": "!!"}),
        json!(["not", "an", "object"]),
    ] {
        p.maria.send(&bad).await;
        let e = p.maria.answer("error").await;
        assert_eq!(e["error"]["status"], "error");
        assert_eq!(e["error"]["category"], "VALIDATION_ERROR", "{bad}: {e:#}");
    }
    let conv = a
        .open(&p.maria_token, MARIA, ACME, "sku-live-2", "Oi")
        .await;
    p.maria
        .until(|f| f.iter().any(|f| f["type"] == "message.decided"))
        .await;
    // Joao, another seller and another account cannot resume Maria's conversation: 404, as GET.
    for (who, s) in [
        ("joao", &mut p.joao),
        ("bravo", &mut p.bravo),
        ("other", &mut p.other_acme),
    ] {
        s.send(&json!({"action": "resume", "conversation_id": conv, "after": null}))
            .await;
        let e = s.answer("error").await;
        assert_eq!(e["error"]["category"], "NOT_FOUND", "{who}: {e:#}");
    }
    p.acme
        .send(&json!({"action": "resume", "conversation_id": conv, "after": null}))
        .await;
    let r = p
        .acme
        .until(|f| f.iter().any(|f| f["type"] == "resume"))
        .await;
    let r = r.iter().find(|f| f["type"] == "resume").unwrap();
    assert_eq!(r["messages"].as_array().unwrap().len(), 1);
}

/// The socket drops while the seller writes three messages: after reconnecting, `resume` from
/// the last cursor brings all three, once each, and nothing from before the cursor.
async fn reconnecting_misses_nothing(kind: StoreKind) {
    let Some(a) = spawn_app(kind).await else {
        return;
    };
    let maria_token = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let mut maria = live::customer(&a, &maria_token, MARIA).await;
    let conv = a.open(&maria_token, MARIA, ACME, "sku-live-3", "Oi").await;
    maria
        .until(|f| f.iter().any(|f| f["type"] == "message.decided"))
        .await;
    // Minutes later the first message is settled: a resume's cursor moves past it.
    a.clock.advance(SIX_MINUTES);
    maria
        .send(&json!({"action": "resume", "conversation_id": conv, "after": null}))
        .await;
    let first = maria.answer("resume").await;
    let cursor = first["cursor"]
        .as_str()
        .expect("a settled cursor")
        .to_owned();
    assert_eq!(first["messages"].as_array().unwrap().len(), 1);
    maria.close().await;

    let seller = a.seller_token("lojademo", ACME);
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = a
            .call("POST", &format!("/v0/conversations/{conv}/messages"))
            .bearer(&seller)
            .json(&json!({"content": format!("resposta {i}"), "owner": {"name": "Ana", "external_id": "ana"}}))
            .send()
            .await;
        ids.push(r.expect(201)["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        a.moderated("lojademo", &conv, id).await;
    }
    let mut again = live::customer(&a, &maria_token, MARIA).await;
    again
        .send(&json!({"action": "resume", "conversation_id": conv, "after": cursor}))
        .await;
    let r = again.answer("resume").await;
    let got: Vec<&str> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["moderation"]["status"] == "APPROVED"));
    assert_eq!(r["unread_count"], 3);
    assert_eq!(r["more"], false);
    // Those three are recent: the cursor stays where it was until they settle.
    assert_eq!(r["cursor"], cursor.as_str());
    a.clock.advance(SIX_MINUTES);
    again
        .send(&json!({"action": "resume", "conversation_id": conv, "after": cursor}))
        .await;
    let later = again.answer("resume").await;
    assert_ne!(later["cursor"], cursor.as_str());
    again
        .send(&json!({"action": "resume", "conversation_id": conv, "after": later["cursor"]}))
        .await;
    let empty = again.answer("resume").await;
    assert_eq!(empty["messages"], json!([]));
}

/// Frames reach every open socket of the same person (several tabs), and a closed one is
/// forgotten.
async fn every_tab_gets_the_frames(kind: StoreKind) {
    let Some(a) = spawn_app(kind).await else {
        return;
    };
    let token = a.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let mut tab1 = live::customer(&a, &token, MARIA).await;
    let mut tab2 = live::customer(&a, &token, MARIA).await;
    let gone = live::customer(&a, &token, MARIA).await;
    gone.close().await;
    a.open(&token, MARIA, ACME, "sku-live-4", "Oi").await;
    for tab in [&mut tab1, &mut tab2] {
        tab.until(|f| f.iter().any(|f| f["type"] == "message.decided"))
            .await;
    }
    let sockets = a.stack.app.live.sockets().unwrap();
    for _ in 0..100 {
        if sockets.count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sockets.count(), 2);
}

both_stores!(
    threads = 2;
    bad_credentials_get_no_socket,
    frames_follow_the_visibility_rules,
    client_frames_are_answered,
    reconnecting_misses_nothing,
    every_tab_gets_the_frames,
);

/// The AWS push adapter against a real HTTP peer speaking the management API's wire shape: a
/// signed `POST {stage}/@connections/{id}` with the frame as its body, `410 GoneException` read
/// as gone, `DELETE` to close. (moto's `apigatewaymanagementapi` cannot answer 410.)
#[tokio::test]
async fn api_gateway_pusher_speaks_post_to_connection() {
    use balcao::realtime::{ApiGatewayPusher, Posted, Pusher};
    use http_body_util::BodyExt;
    use std::sync::{Arc, Mutex};
    if !balcao_tests::dynamo_available() {
        return;
    }
    type Seen = Vec<(String, String, String, bool)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_owned();
                            let signed = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .is_some_and(|v| {
                                    v.starts_with("AWS4-HMAC-SHA256 ")
                                        && v.contains("/execute-api/")
                                });
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body = String::from_utf8_lossy(&body).into_owned();
                            log.lock()
                                .unwrap()
                                .push((method, path.clone(), body, signed));
                            let res = if path.ends_with("/gone-one") {
                                hyper::Response::builder()
                                    .status(410)
                                    .header("x-amzn-errortype", "GoneException")
                                    .header("content-type", "application/json")
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from(
                                        r#"{"message":"gone"}"#,
                                    )))
                            } else {
                                hyper::Response::builder()
                                    .status(200)
                                    .body(http_body_util::Full::new(hyper::body::Bytes::new()))
                            };
                            Ok::<_, std::convert::Infallible>(res.unwrap())
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let sdk = balcao::config::lambda_sdk_config().unwrap();
    let pusher = ApiGatewayPusher::new(&sdk, &format!("http://{addr}/prod"));
    let frame = r#"{"type":"message.created"}"#;
    assert_eq!(pusher.post("abc123=", frame).await.unwrap(), Posted::Sent);
    assert_eq!(pusher.post("gone-one", frame).await.unwrap(), Posted::Gone);
    pusher.close("abc123=").await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let (m, p, b, signed) = &seen[0];
    assert_eq!(m, "POST");
    assert!(
        p.starts_with("/prod/") && p.contains("connections/abc123"),
        "{p}"
    );
    assert_eq!(b, frame);
    assert!(signed, "requests are SigV4-signed for execute-api");
    assert_eq!(seen[2].0, "DELETE");
}
