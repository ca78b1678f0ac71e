//! Every file in `events/` run through its Lambda handler, as `sam local invoke -e` or
//! `cargo lambda invoke --data-file` would: API Gateway v2 events through the HTTP handlers,
//! SQS batches through the worker. Each runs on a fresh embedded stack with the demo fixture.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use balcao::workers::moderation::Moderator;
use balcao_tests::TestClock;

/// (file, function, expected status)
const HTTP_EVENTS: &[(&str, &str, u16)] = &[
    ("token-create", "token-create", 200),
    ("token-create-alias", "token-create", 200),
    ("assets-widget-loader", "assets", 200),
    ("assets-inbox", "assets", 200),
    ("conversations-list", "conversations", 200),
    ("conversations-get", "conversations", 200),
    ("conversations-patch-status", "conversations", 200),
    ("conversations-messages-list", "conversations", 200),
    ("conversations-messages-post", "conversations", 201),
    ("conversations-messages-get", "conversations", 200),
    ("conversations-read-by", "conversations", 200),
    ("customer-conversations-open", "conversations", 201),
    ("customer-conversations-list", "conversations", 200),
    ("customer-conversations-get", "conversations", 200),
    ("customer-messages-list", "conversations", 200),
    ("customer-messages-post", "conversations", 201),
    ("customer-messages-get", "conversations", 200),
    ("customer-read-by", "conversations", 200),
    ("webhooks-create", "webhooks", 201),
    ("webhooks-list", "webhooks", 200),
    // Deletes the subscription the test puts in place first.
    ("webhooks-delete", "webhooks", 204),
    ("sessions-create", "impersonate", 201),
    ("sessions-impersonate", "impersonate", 201),
    // PATCH and GET read the session the test puts in place first (Ana impersonating Maria).
    ("sessions-patch", "impersonate", 200),
    ("sessions-get", "impersonate", 200),
    ("sessions-audit", "impersonate", 200),
];

/// The WebSocket API's events, run in this order through the realtime function's handler:
/// (file, expected status).
const WS_EVENTS: &[(&str, u16)] = &[
    ("realtime-connect", 200),
    ("realtime-connect-refused", 401),
    ("realtime-ping", 200),
    ("realtime-disconnect", 200),
];

/// The EventBridge schedule that runs the moderation sweeper.
const SCHEDULE_EVENT: &str = "moderation-sweeper-schedule";

/// The sweeper's scheduled event: it reads nothing of it and queues again every message that
/// waited too long (here: one whose job was never queued, after the clock moves 3 minutes).
#[tokio::test]
async fn the_schedule_runs_the_sweeper() {
    let event: serde_json::Value = serde_json::from_str(&read(SCHEDULE_EVENT)).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    let clock = TestClock::new();
    let stack = balcao_local::build(&balcao_local::Backend::Embedded, Arc::new(clock.clone()))
        .await
        .unwrap();
    let app = &stack.app;
    let sweeper = balcao::workers::sweeper::Sweeper::new(
        app.store.clone(),
        app.queue.clone(),
        app.clock.clone(),
    );
    assert_eq!(sweeper.run_once().await.unwrap().jobs, 0);
    // A message stored without its job.
    let conv = app
        .store
        .get_conversation("lojademo", "01JD3M0C00000000000000V001")
        .await
        .unwrap()
        .unwrap();
    let msg = balcao::domain::model::Message::waiting(
        &conv,
        balcao::ids::new_id(clock.peek()),
        balcao::domain::model::Side::Customer,
        "Chega amanhã?".into(),
        clock.peek(),
    );
    app.store
        .add_message(&msg, &conv.customer.id, None)
        .await
        .unwrap();
    assert_eq!(
        sweeper.run_once().await.unwrap().jobs,
        0,
        "too young to sweep"
    );
    clock.advance(3 * 60 * 1000);
    assert_eq!(sweeper.run_once().await.unwrap().jobs, 1);
}

/// (file, function, the records that must fail)
const SQS_EVENTS: &[(&str, &str, &[&str])] = &[
    (
        "moderation-worker-batch",
        "moderation-worker",
        &["5f0c1a9e-0003-4c4f-9e52-1b2d3c4d5e63"],
    ),
    (
        "webhook-dispatcher-events",
        "webhook-dispatcher",
        &["7a1e2b3c-0002-4d5e-8f90-a1b2c3d4e5f2"],
    ),
    (
        "webhook-dispatcher-deliveries",
        "webhook-dispatcher",
        &["7a1e2b3c-0004-4d5e-8f90-a1b2c3d4e5f4"],
    ),
];

/// The subscription `events/webhooks-delete.json` and the deliveries batch name.
const WEBHOOK_ID: &str = "01JD3M0C00000000000000W001";

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("events/{name}.json: {e}"))
}

#[test]
fn every_event_file_is_exercised() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    files.sort();
    let mut known: Vec<String> = HTTP_EVENTS
        .iter()
        .map(|e| e.0.to_owned())
        .chain(SQS_EVENTS.iter().map(|e| e.0.to_owned()))
        .chain(WS_EVENTS.iter().map(|e| e.0.to_owned()))
        .chain([SCHEDULE_EVENT.to_owned()])
        .collect();
    known.sort();
    assert_eq!(
        files, known,
        "every events/ file has a case here, and every case a file"
    );
}

/// `$connect` stores the seller's connection and answers the subprotocol; a bad credential is
/// the HTTP API's 401; `ping` is answered on the connection (the local stack's socket stands in
/// for `PostToConnection`); `$disconnect` forgets it.
#[tokio::test]
async fn websocket_events_run_through_the_realtime_handler() {
    let stack = balcao_local::build(&balcao_local::Backend::Embedded, Arc::new(TestClock::new()))
        .await
        .unwrap();
    let sockets = stack.app.live.sockets().unwrap().clone();
    let mut answers = None;
    for (name, status) in WS_EVENTS {
        let event: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest =
            serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let id = event.request_context.connection_id.clone().unwrap();
        if *name == "realtime-ping" {
            // The connection stored at `$connect` answers through this channel.
            answers = Some(sockets.attach(&id));
        }
        let res = balcao::realtime::socket::handle_event(&stack.app, event).await;
        assert_eq!(
            res.status_code,
            i64::from(*status),
            "{name}: {:?}",
            res.body
        );
        match *name {
            "realtime-connect" => {
                assert_eq!(res.headers["sec-websocket-protocol"], "balcao.v1");
                let conn = stack
                    .app
                    .store
                    .get_connection(&id, i64::MAX / 2)
                    .await
                    .unwrap();
                assert!(
                    conn.is_none(),
                    "a connection does not outlive its credential"
                );
                let conn = stack
                    .app
                    .store
                    .get_connection(&id, 0)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    conn.viewer,
                    balcao::domain::model::Viewer::Seller("seller-acme".into())
                );
            }
            "realtime-connect-refused" => {
                let body = format!("{:?}", res.body);
                assert!(body.contains("UNAUTHORIZED"), "{body}");
                assert!(stack
                    .app
                    .store
                    .get_connection(&id, 0)
                    .await
                    .unwrap()
                    .is_none());
            }
            "realtime-ping" => {
                let got = answers.as_mut().unwrap().try_recv().expect("an answer");
                let balcao::realtime::Outgoing::Frame(text) = got else {
                    panic!("{got:?}")
                };
                assert!(text.contains("\"pong\""), "{text}");
            }
            _ => assert!(stack
                .app
                .store
                .get_connection(&id, 0)
                .await
                .unwrap()
                .is_none()),
        }
    }
}

#[tokio::test]
async fn http_events_run_through_their_handlers() {
    for (name, function, status) in HTTP_EVENTS {
        let stack =
            balcao_local::build(&balcao_local::Backend::Embedded, Arc::new(TestClock::new()))
                .await
                .unwrap();
        let req =
            lambda_http::request::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The event's path routes to the function the template says.
        assert_eq!(
            balcao_local::function_for(req.uri().path()),
            Some(*function),
            "{name}"
        );
        stack.app.store.put_session(&demo_session()).await.unwrap();
        if *name == "webhooks-delete" {
            stack
                .app
                .store
                .put_subscription(&demo_subscription())
                .await
                .unwrap();
        }
        let res = match *function {
            "token-create" => balcao::api::token_create::handle(&stack.app, req).await,
            "webhooks" => balcao::api::webhooks::handle(&stack.app, req).await,
            "impersonate" => balcao::api::sessions::handle(&stack.app, req).await,
            "assets" => {
                // A file, not JSON: served with its type and cache headers.
                let res = balcao::api::assets::handle(req).await;
                assert_eq!(res.status().as_u16(), *status, "{name}");
                let kind = res.headers()["content-type"].to_str().unwrap();
                assert!(kind.starts_with("text/"), "{name}: {kind}");
                assert!(res.headers().contains_key("etag"), "{name}");
                assert!(matches!(res.body(), lambda_http::Body::Binary(b) if !b.is_empty()));
                continue;
            }
            _ => balcao::api::conversations::handle(&stack.app, req).await,
        };
        let body = match res.body() {
            lambda_http::Body::Text(t) => t.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(res.status().as_u16(), *status, "{name}: {body}");
        assert!(res.headers().contains_key("x-request-id"), "{name}");
        if *status == 204 {
            assert!(matches!(res.body(), lambda_http::Body::Empty), "{name}");
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{name}: JSON body"));
        assert!(json.is_object(), "{name}");
    }
}

#[tokio::test]
async fn sqs_events_run_through_the_worker() {
    for (name, function, failing) in SQS_EVENTS {
        let stack =
            balcao_local::build(&balcao_local::Backend::Embedded, Arc::new(TestClock::new()))
                .await
                .unwrap();
        let app = &stack.app;
        let event: SqsEvent =
            serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let res = match *function {
            "moderation-worker" => {
                Moderator::new(app.store.clone(), app.queue.clone(), app.clock.clone())
                    .handle_batch(event)
                    .await
            }
            _ => stack.dispatcher.handle_batch(event).await,
        };
        let ids: Vec<&str> = res
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, *failing, "{name}: only the poison record fails");
        // The response has the shape Lambda expects for ReportBatchItemFailures.
        let wire = serde_json::to_value(&res).unwrap();
        assert_eq!(wire["batchItemFailures"][0]["itemIdentifier"], failing[0]);
    }
}

fn demo_subscription() -> balcao::domain::model::Subscription {
    balcao::domain::model::Subscription {
        id: WEBHOOK_ID.into(),
        account: "lojademo".into(),
        seller_id: "seller-acme".into(),
        url: "https://erp.lojademo.com.br/balcao/webhooks".into(),
        domains: vec!["message".into()],
        secret: balcao::webhooks::new_secret(),
        status: balcao::domain::model::SubscriptionStatus::Active,
        created_at: 1_795_000_000_000,
        disabled_reason: None,
    }
}

/// The session `events/sessions-patch.json` and `sessions-get.json` carry a token for.
fn demo_session() -> balcao::domain::model::Session {
    balcao::domain::model::Session {
        id: "01JD3M0C00000000000000S001".into(),
        account: "lojademo".into(),
        public: Default::default(),
        admin_user_email: Some("ana.televendas@lojademo.com.br".into()),
        impersonation_input: Some("maria@example.com".into()),
        impersonation: Some(balcao::domain::model::Impersonation {
            operator_email: "ana.televendas@lojademo.com.br".into(),
            operator_name: "Ana (Televendas)".into(),
            customer_id: "01JD3M0C00000000000000C001".into(),
            customer_email: "maria@example.com".into(),
            started_at: TestClock::new().peek(),
        }),
        created_at: TestClock::new().peek(),
        valid_until: 4_102_444_800_000,
    }
}
