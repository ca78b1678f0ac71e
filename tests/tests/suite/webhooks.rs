//! Webhooks end to end, on both stores: subscriptions over HTTP, events from the conversation API
//! and the moderation worker fanned out through the queues, deliveries to real HTTP receivers on
//! loopback, signatures checked by the `standardwebhooks` Python package (an implementation that
//! is not ours), retries, the dead-letter queue, 410, redelivery and the SSRF guard.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use balcao::domain::model::{Subscription, SubscriptionStatus};
use balcao::queue::{WebhookEvent, WebhookEventData, WebhookEventDetail};
use balcao::webhooks::{new_secret, Delivery, UrlPolicy};
use balcao::workers::webhooks::DispatchConfig;
use balcao_tests::both_stores;
use balcao_tests::{spawn_app_with, StoreKind, TestApp, DEMO_APP_TOKEN};
use balcao_tests::{ACME, BRAVO, MARIA};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

const ACCOUNT: &str = "lojademo";
const SELLER: &str = ACME;
const CONVERSATION: &str = "01JD3M0C00000000000000V001";

// ---- a receiver ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    at: Instant,
}

/// A real HTTP server on loopback. What it answers depends on the path: `/ok…` 200, `/slow`
/// waits 3 s, `/fail` 500, `/gone` 410, `/flaky` 503 twice then 200, `/redirect` 302 to `/ok`.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (l, c) = (log.clone(), counts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (l, c) = (l.clone(), c.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(req, l.clone(), c.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Receiver { addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn at(&self, path: &str) -> Vec<Received> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until `path` has received `n` requests.
    async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{path} received {} of {n} requests", self.at(path).len());
    }
}

async fn answer(
    req: hyper::Request<Incoming>,
    log: Arc<Mutex<Vec<Received>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let path = req.uri().path().to_owned();
    let h = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let body = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
    log.lock().unwrap().push(Received {
        path: path.clone(),
        id,
        timestamp,
        signature,
        body,
        at,
    });
    let n = {
        let mut c = counts.lock().unwrap();
        let n = c.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let status = match path.as_str() {
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            200
        }
        "/fail" => 500,
        "/gone" => 410,
        "/flaky" if n <= 2 => 503,
        "/redirect" => 302,
        _ => 200,
    };
    let mut res = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
    *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    if status == 302 {
        res.headers_mut()
            .insert("location", hyper::header::HeaderValue::from_static("/ok"));
    }
    Ok(res)
}

// ---- checking signatures with standardwebhooks --------------------------------------------

fn python() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run the tests with scripts/test (it installs standardwebhooks)",
        venv.display()
    );
    venv
}

/// Runs every delivery through `standardwebhooks.Webhook(secret).verify`; returns, per delivery,
/// whether it verified.
fn verify_independently(cases: &[(String, Received)]) -> Vec<bool> {
    let input: Vec<Value> = cases
        .iter()
        .map(|(secret, r)| {
            json!({"secret": secret, "id": r.id, "timestamp": r.timestamp,
                   "signature": r.signature, "body": r.body})
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("balcao-wh-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deliveries.json");
    std::fs::write(&file, serde_json::to_vec(&input).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("verify_webhooks.py");
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "verify_webhooks.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<bool> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(results.len(), cases.len());
    results
}

/// Every delivery verifies; the same delivery with its body changed does not.
fn assert_signed(secret: &str, got: &[Received]) {
    let mut cases: Vec<(String, Received)> =
        got.iter().map(|r| (secret.to_owned(), r.clone())).collect();
    let mut tampered = got[0].clone();
    tampered.body.push(' ');
    cases.push((secret.to_owned(), tampered));
    let results = verify_independently(&cases);
    let (last, real) = results.split_last().unwrap();
    assert!(
        real.iter().all(|ok| *ok),
        "every delivery verifies: {results:?}"
    );
    assert!(!last, "a changed body must not verify");
}

// ---- helpers --------------------------------------------------------------------------------

fn fast(policy: UrlPolicy) -> DispatchConfig {
    DispatchConfig {
        policy,
        timeout: Duration::from_secs(1),
        schedule: vec![Duration::from_millis(200), Duration::from_millis(200)],
    }
}

async fn subscribe(app: &TestApp, url: &str, domains: Option<&[&str]>) -> (String, String) {
    let mut body = json!({ "url": url });
    if let Some(d) = domains {
        body["domains"] = json!(d);
    }
    let r = app
        .call("POST", "/v0/webhooks")
        .bearer(&app.seller_token(ACCOUNT, SELLER))
        .json(&body)
        .send()
        .await;
    let b = r.expect(201);
    (
        b["id"].as_str().unwrap().to_owned(),
        b["secret"].as_str().unwrap().to_owned(),
    )
}

/// The seller closes (or reopens) the demo conversation: a `conversation UPDATED` event.
async fn set_status(app: &TestApp, status: &str) {
    app.call("PATCH", &format!("/v0/conversations/{CONVERSATION}"))
        .bearer(&app.seller_token(ACCOUNT, SELLER))
        .json(&json!({ "status": status }))
        .send()
        .await
        .expect(200);
}

/// Waits until the deliveries DLQ has given up `n` deliveries (or 10 s have passed).
async fn dead_letters(app: &TestApp, n: usize) -> Vec<Delivery> {
    let mut dead = Vec::new();
    for _ in 0..400 {
        dead.extend(app.stack.dead_webhooks().await.unwrap());
        if dead.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    dead
}

fn parse(r: &Received) -> Value {
    serde_json::from_str(&r.body).expect("a JSON body")
}

// ---- the cases --------------------------------------------------------------------------------

both_stores!(threads = 4; subscriptions_over_http);
async fn subscriptions_over_http(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::LOCAL)).await else {
        return;
    };
    let rx = Receiver::start().await;
    let token = app.seller_token(ACCOUNT, SELLER);
    let r = app
        .call("POST", "/v0/webhooks")
        .bearer(&token)
        .json(&json!({"url": rx.url("/ok")}))
        .send()
        .await;
    let created = r.expect(201).clone();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["domains"], json!(["conversation", "message"]));
    assert_eq!(created["status"], "ACTIVE");
    let id = created["id"].as_str().unwrap();

    let listed = app.call("GET", "/v0/webhooks").bearer(&token).send().await;
    let results = listed.expect(200)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["id"], id);
    assert!(
        results[0].get("secret").is_none(),
        "the secret is shown once"
    );

    // Another seller of the account sees none of it and cannot delete it.
    let bravo = app.seller_token(ACCOUNT, BRAVO);
    let r = app.call("GET", "/v0/webhooks").bearer(&bravo).send().await;
    assert_eq!(r.expect(200)["results"], json!([]));
    app.call("DELETE", &format!("/v0/webhooks/{id}"))
        .bearer(&bravo)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");

    // Bad input: every problem named, nothing written.
    for bad in [
        json!({}),
        json!({"url": "ftp://example.com/hook"}),
        json!({"url": "http://10.0.0.7/hook"}),
        json!({"url": "http://169.254.169.254/latest/meta-data"}),
        json!({"url": rx.url("/ok"), "domains": []}),
        json!({"url": rx.url("/ok"), "domains": ["orders"]}),
        json!({"url": rx.url("/ok"), "secret": "mine"}),
    ] {
        app.call("POST", "/v0/webhooks")
            .bearer(&token)
            .json(&bad)
            .send()
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    // A read-only token may list but not create.
    let reader = app.seller_token_with(ACCOUNT, SELLER, balcao::auth::SCOPE_SELLER_READ, 3600);
    app.call("POST", "/v0/webhooks")
        .bearer(&reader)
        .json(&json!({"url": rx.url("/ok")}))
        .send()
        .await
        .expect_error(403, "MISSING_SCOPES");
    app.call("GET", "/v0/webhooks")
        .bearer("nope")
        .send()
        .await
        .expect_error(401, "UNAUTHORIZED");

    let r = app
        .call("DELETE", &format!("/v0/webhooks/{id}"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let r = app.call("GET", "/v0/webhooks").bearer(&token).send().await;
    assert_eq!(r.expect(200)["results"], json!([]));
    app.call("DELETE", &format!("/v0/webhooks/{id}"))
        .bearer(&token)
        .send()
        .await
        .expect_error(404, "NOT_FOUND");
}

both_stores!(threads = 4; events_are_delivered_signed_and_filtered);
async fn events_are_delivered_signed_and_filtered(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::LOCAL)).await else {
        return;
    };
    let rx = Receiver::start().await;
    let (_, all_secret) = subscribe(&app, &rx.url("/ok"), None).await;
    let (_, msg_secret) = subscribe(&app, &rx.url("/ok-messages"), Some(&["message"])).await;

    // The seller closes the conversation: the conversation API queues the event.
    set_status(&app, "CLOSED").await;
    let got = rx.wait_for("/ok", 1).await;
    let e = parse(&got[0]);
    assert_eq!(
        e["data"],
        json!({"domain": "conversation", "status": "UPDATED"})
    );
    assert_eq!(e["detail"]["conversation_id"], CONVERSATION);
    assert_eq!(e["seller_id"], SELLER);
    assert_eq!(e["account"], ACCOUNT);
    assert_eq!(
        got[0].id,
        e["id"].as_str().unwrap(),
        "webhook-id is the event id"
    );
    assert!(got[0].signature.starts_with("v1,"));

    // A customer message, approved by the moderation worker: message NEW to both subscriptions,
    // conversation UPDATED only to the one that takes every domain.
    let token = app.visitor_token(DEMO_APP_TOKEN, MARIA).await;
    let r = app
        .as_customer(
            "POST",
            &format!("/v0/customer/conversations/{CONVERSATION}/messages"),
            &token,
            MARIA,
        )
        .json(&json!({"content": "Chegou certinho, obrigada!"}))
        .send()
        .await;
    let mid = r.expect(201)["id"].as_str().unwrap().to_owned();
    let only_messages = rx.wait_for("/ok-messages", 1).await;
    let m = parse(&only_messages[0]);
    assert_eq!(m["data"], json!({"domain": "message", "status": "NEW"}));
    assert_eq!(m["detail"]["message_id"], mid.as_str());
    let all = rx.wait_for("/ok", 3).await;
    let kinds: Vec<(String, String)> = all
        .iter()
        .map(parse)
        .map(|e| {
            (
                e["data"]["domain"].as_str().unwrap().to_owned(),
                e["data"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("message".into(), "NEW".into())),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| k.0 == "conversation").count(),
        2,
        "{kinds:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        rx.at("/ok-messages").len(),
        1,
        "no conversation event for a message-only subscription"
    );

    assert_signed(&all_secret, &rx.at("/ok"));
    assert_signed(&msg_secret, &rx.at("/ok-messages"));
}

both_stores!(threads = 4; slow_and_failing_receivers_do_not_hold_up_a_healthy_one);
async fn slow_and_failing_receivers_do_not_hold_up_a_healthy_one(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::LOCAL)).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(&app, &rx.url("/slow"), None).await;
    subscribe(&app, &rx.url("/fail"), None).await;
    subscribe(&app, &rx.url("/redirect"), None).await;
    let (_, secret) = subscribe(&app, &rx.url("/ok"), None).await;
    set_status(&app, "CLOSED").await;

    let ok = rx.wait_for("/ok", 1).await;
    let slow = rx.wait_for("/slow", 1).await;
    // The healthy receiver got its delivery while the slow one was still being waited for (each
    // attempt may take up to the 1 s timeout).
    assert!(
        ok[0].at < slow[0].at + Duration::from_millis(900),
        "the healthy receiver was held up by the slow one"
    );
    assert_signed(&secret, &ok);

    // The failing ones: three attempts (the first and two retries), one webhook-id, then the
    // dead-letter queue with the reason. A redirect is not followed and counts as a failure.
    for path in ["/fail", "/redirect", "/slow"] {
        let tries = rx.wait_for(path, 3).await;
        assert!(
            tries.iter().all(|t| t.id == tries[0].id),
            "{path}: one webhook-id"
        );
    }
    let dead = dead_letters(&app, 3).await;
    assert_eq!(dead.len(), 3, "{dead:?}");
    let reasons: Vec<String> = dead.iter().map(|d| d.last_error.clone().unwrap()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("HTTP 500")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("HTTP 302")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no answer within")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().all(|r| r.contains("after 3 attempts")),
        "{reasons:?}"
    );
    assert!(
        dead.iter().all(|d| d.attempt == 0),
        "a redrive starts the schedule over"
    );
    assert_eq!(rx.at("/ok").len(), 1, "the healthy receiver got it once");
}

both_stores!(threads = 4; retry_then_success_and_gone_disables);
async fn retry_then_success_and_gone_disables(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::LOCAL)).await else {
        return;
    };
    let rx = Receiver::start().await;
    let (_, flaky_secret) = subscribe(&app, &rx.url("/flaky"), None).await;
    let (gone_id, _) = subscribe(&app, &rx.url("/gone"), None).await;
    set_status(&app, "CLOSED").await;

    let tries = rx.wait_for("/flaky", 3).await;
    assert!(
        tries.iter().all(|t| t.id == tries[0].id),
        "one webhook-id across retries"
    );
    assert_signed(&flaky_secret, &tries);

    rx.wait_for("/gone", 1).await;
    let token = app.seller_token(ACCOUNT, SELLER);
    let mut status = Value::Null;
    for _ in 0..200 {
        let r = app.call("GET", "/v0/webhooks").bearer(&token).send().await;
        let list = r.expect(200)["results"].as_array().unwrap().clone();
        status = list
            .iter()
            .find(|s| s["id"] == gone_id.as_str())
            .unwrap()
            .clone();
        if status["status"] == "DISABLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status["status"], "DISABLED", "{status}");
    assert!(status["disabled_reason"].as_str().unwrap().contains("410"));

    // The next event reaches the healthy subscription and not the disabled one.
    set_status(&app, "OPENED").await;
    rx.wait_for("/flaky", 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.at("/gone").len(), 1, "nothing is sent after 410");
    assert!(app.stack.dead_webhooks().await.unwrap().is_empty());
}

fn delivery_record(message_id: &str, d: &Delivery) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.into());
    m.body = Some(serde_json::to_string(d).unwrap());
    m
}

both_stores!(threads = 4; a_redelivered_record_keeps_its_webhook_id);
async fn a_redelivered_record_keeps_its_webhook_id(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::LOCAL)).await else {
        return;
    };
    let rx = Receiver::start().await;
    let (sub_id, secret) = subscribe(&app, &rx.url("/ok"), None).await;
    let d = Delivery {
        subscription_id: sub_id,
        attempt: 0,
        event: WebhookEvent {
            id: "evt_redelivery_0001".into(),
            account: ACCOUNT.into(),
            seller_id: SELLER.into(),
            created_at: "2026-11-22T10:00:00.000Z".into(),
            data: WebhookEventData {
                domain: "message".into(),
                status: "NEW".into(),
            },
            detail: WebhookEventDetail {
                conversation_id: CONVERSATION.into(),
                message_id: Some("01JD3M0C00000000000000M001".into()),
            },
        },
        last_error: None,
    };
    // The same SQS record twice (a visibility timeout ran out), next to a poison record.
    for _ in 0..2 {
        let mut poison = SqsMessage::default();
        poison.message_id = Some("poison".into());
        poison.body = Some("{\"not\": \"a job\"}".into());
        let mut batch = SqsEvent::default();
        batch.records = vec![delivery_record("r1", &d), poison];
        let res = app.stack.dispatcher.handle_batch(batch).await;
        let failed: Vec<_> = res
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(
            failed,
            vec!["poison".to_owned()],
            "only the poison record fails"
        );
    }
    let got = rx.wait_for("/ok", 2).await;
    assert_eq!(got[0].id, "evt_redelivery_0001");
    assert_eq!(
        got[1].id, got[0].id,
        "the receiver can dedupe on webhook-id"
    );
    assert_signed(&secret, &got);
}

both_stores!(threads = 4; lambda_mode_refuses_reserved_addresses);
async fn lambda_mode_refuses_reserved_addresses(kind: StoreKind) {
    let Some(app) = spawn_app_with(kind, fast(UrlPolicy::STRICT)).await else {
        return;
    };
    let rx = Receiver::start().await;
    let port = rx.addr.port();
    let token = app.seller_token(ACCOUNT, SELLER);
    for url in [
        format!("https://127.0.0.1:{port}/ok"),
        format!("https://localhost:{port}/ok"),
        format!("https://[::1]:{port}/ok"),
        "https://10.0.0.5/hook".to_owned(),
        "https://192.168.1.20/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://127.0.0.1:{port}/ok"),
        "http://example.com/hook".to_owned(),
        // Spellings the HTTP client reads as those addresses (WHATWG URL rules).
        "https://10.0.0.7./h".to_owned(),
        "https://10.7/h".to_owned(),
        "https://169.254.43518/latest".to_owned(),
        "https://0x7f.1/h".to_owned(),
        format!("https://0x7f.1:{port}/ok"),
        format!("https://2130706433:{port}/ok"),
        "https://0251.0376.0251.0376/latest".to_owned(),
        "https://[::ffff:a9fe:a9fe]/latest".to_owned(),
        "https://[2002:a9fe:a9fe::]/latest".to_owned(),
        "https://example.com@10.0.0.7/h".to_owned(),
    ] {
        let r = app
            .call("POST", "/v0/webhooks")
            .bearer(&token)
            .json(&json!({ "url": url }))
            .send()
            .await;
        r.expect_error(400, "VALIDATION_ERROR");
    }
    // Checked again at delivery, after resolving: a stored subscription whose host name resolves
    // to loopback (written past the API, as an older record or a changed DNS name would be).
    let sub = Subscription {
        id: balcao::ids::new_id(app.clock.peek()),
        account: ACCOUNT.into(),
        seller_id: SELLER.into(),
        url: format!("https://localhost.:{port}/ok"),
        domains: vec!["conversation".into(), "message".into()],
        secret: new_secret(),
        status: SubscriptionStatus::Active,
        created_at: app.clock.peek(),
        disabled_reason: None,
    };
    app.store().put_subscription(&sub).await.unwrap();
    let literal = Subscription {
        id: balcao::ids::new_id(app.clock.peek() + 1),
        url: "https://169.254.169.254/latest/meta-data/".into(),
        ..sub.clone()
    };
    app.store().put_subscription(&literal).await.unwrap();
    // Stored spellings of loopback that are no host names to the HTTP client.
    for (i, url) in [
        format!("https://0x7f.1:{port}/ok"),
        format!("https://2130706433:{port}/ok"),
    ]
    .into_iter()
    .enumerate()
    {
        let spelled = Subscription {
            id: balcao::ids::new_id(app.clock.peek() + 2 + i as i64),
            url,
            ..sub.clone()
        };
        app.store().put_subscription(&spelled).await.unwrap();
    }
    set_status(&app, "CLOSED").await;
    let dead = dead_letters(&app, 4).await;
    assert_eq!(dead.len(), 4, "{dead:?}");
    assert!(
        dead.iter()
            .all(|d| d.last_error.as_deref().unwrap().contains("address refused")),
        "{dead:?}"
    );
    assert!(
        rx.at("/ok").is_empty(),
        "nothing reached the loopback receiver"
    );
}
