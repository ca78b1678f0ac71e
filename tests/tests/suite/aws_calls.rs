//! AWS calls per operation, counted on DynamoDB/SQS (moto): the table `bench/results/aws-calls.md` quotes. Counts
//! are exact and deterministic, so they are asserted: a change that adds a call to a route shows
//! up here (and in that table) on purpose.

use std::collections::HashMap;
use std::sync::Arc;

use balcao::api::App;
use balcao::auth::Auth;
use balcao::fixture::Fixture;
use balcao::queue::{ModerationJob, QueueName, SqsQueue};
use balcao::store::dynamo::DynamoStore;
use balcao::workers::moderation::Moderator;
use balcao::workers::webhooks::{Dispatcher, Outcome};
use balcao_tests::{dynamo_available, TestClock, DEMO_APP_TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_calls_per_operation() {
    if !dynamo_available() {
        return;
    }
    let sdk = balcao::config::aws_config().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), format!("calls-{id}"));
    store.create_table().await.unwrap();
    let clock = TestClock::new();
    Fixture::parse(balcao_local::DEMO_FIXTURE)
        .unwrap()
        .load(&store, clock.peek())
        .await
        .unwrap();
    let sqs_client = aws_sdk_sqs::Client::new(&sdk);
    let mut urls = HashMap::new();
    for q in QueueName::ALL {
        let url = SqsQueue::create_queue(&sqs_client, &format!("calls-{}-{id}", q.as_str()))
            .await
            .unwrap();
        urls.insert(q, url);
    }
    let (sqs_client_for_reading, urls_for_reading) = (sqs_client.clone(), urls.clone());
    let sqs = Arc::new(SqsQueue::new(sqs_client, urls));
    let clock_arc: Arc<dyn balcao::clock::Clock> = Arc::new(clock.clone());
    let app = App {
        store: Arc::new(store.clone()),
        queue: sqs.clone(),
        auth: Auth::local(clock_arc.clone()),
        clock: clock_arc.clone(),
        url_policy: balcao::webhooks::UrlPolicy::LOCAL,
        sites: balcao::api::Sites::local(),
        post_limits: balcao::api::PostLimits::default(),
        live: balcao::realtime::Live::off(),
    };
    // No background workers: the worker runs by hand below, so every count is one operation's.
    let moderator = Moderator::new(app.store.clone(), sqs.clone(), clock_arc);
    let (addr, _server) = balcao_local::spawn("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let seller = balcao_tests::mint_seller(&clock, "lojademo", balcao_tests::BRAVO);

    let mut rows: Vec<(String, u64, u64)> = Vec::new();
    let mut last = (store.calls(), sqs.calls());
    let mut measure = |name: &str, rows: &mut Vec<(String, u64, u64)>| {
        let now = (store.calls(), sqs.calls());
        rows.push((name.to_owned(), now.0 - last.0, now.1 - last.1));
        last = now;
    };
    let send =
        |m: &str, path: &str, token: &str, body: Option<serde_json::Value>, customer: bool| {
            let mut r = http
                .request(
                    reqwest::Method::from_bytes(m.as_bytes()).unwrap(),
                    format!("{base}{path}"),
                )
                .bearer_auth(token);
            if customer {
                r = r.header("x-identification-email", "maria@example.com");
            }
            if let Some(b) = body {
                r = r
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            async move {
                let res = r.send().await.unwrap();
                let status = res.status().as_u16();
                let v: serde_json::Value = res.json().await.unwrap();
                assert!(status < 300, "{status}: {v}");
                v
            }
        };

    let tok = send(
        "POST",
        "/conversations/v3/visitor-identification/tokens/create",
        DEMO_APP_TOKEN,
        Some(json!({"email": "maria@example.com"})),
        false,
    )
    .await;
    measure("POST tokens/create", &mut rows);
    let t = tok["token"].as_str().unwrap().to_owned();
    let open = json!({"seller_id": "seller-bravo", "tags": [{"name": "productId", "value": "SOFA"}], "content": "Tem em cinza?"});
    let conv = send(
        "POST",
        "/v0/customer/conversations",
        &t,
        Some(open.clone()),
        true,
    )
    .await;
    measure("POST customer/conversations (new)", &mut rows);
    let cid = conv["id"].as_str().unwrap().to_owned();
    send("POST", "/v0/customer/conversations", &t, Some(open), true).await;
    measure("POST customer/conversations (same product)", &mut rows);
    send(
        "POST",
        &format!("/v0/customer/conversations/{cid}/messages"),
        &t,
        Some(json!({"content": "Alô?"})),
        true,
    )
    .await;
    measure("POST customer/conversations/{id}/messages", &mut rows);
    send("GET", "/v0/customer/conversations", &t, None, true).await;
    measure("GET customer/conversations", &mut rows);

    // Moderate what is queued, one job at a time.
    let store_view = app_store_messages(&store, &cid).await;
    measure("(test: list the queued messages)", &mut rows);
    rows.pop();
    for (i, m) in store_view.iter().enumerate() {
        let job = ModerationJob {
            account: "lojademo".into(),
            conversation_id: cid.clone(),
            message_id: m.clone(),
        };
        moderator.handle(&job).await.unwrap();
        measure(
            if i == 0 {
                "worker: approve (first message)"
            } else {
                "worker: approve"
            },
            &mut rows,
        );
    }
    let job = ModerationJob {
        account: "lojademo".into(),
        conversation_id: cid.clone(),
        message_id: store_view[0].clone(),
    };
    moderator.handle(&job).await.unwrap();
    measure("worker: redelivered job", &mut rows);

    send("GET", "/v0/conversations?_limit=10", &seller, None, false).await;
    measure("GET conversations (list)", &mut rows);
    send(
        "GET",
        &format!("/v0/conversations/{cid}"),
        &seller,
        None,
        false,
    )
    .await;
    measure("GET conversations/{id}", &mut rows);
    let msgs = send(
        "GET",
        &format!("/v0/conversations/{cid}/messages"),
        &seller,
        None,
        false,
    )
    .await;
    measure("GET conversations/{id}/messages", &mut rows);
    let mid = msgs["results"][0]["id"].as_str().unwrap().to_owned();
    send(
        "GET",
        &format!("/v0/conversations/{cid}/messages/{mid}"),
        &seller,
        None,
        false,
    )
    .await;
    measure("GET conversations/{id}/messages/{mid}", &mut rows);
    let reply = json!({"content": "Temos!", "external_id": "erp-1", "owner": {"name": "Ana", "external_id": "ana"}});
    send(
        "POST",
        &format!("/v0/conversations/{cid}/messages"),
        &seller,
        Some(reply.clone()),
        false,
    )
    .await;
    measure("POST conversations/{id}/messages", &mut rows);
    send(
        "POST",
        &format!("/v0/conversations/{cid}/messages"),
        &seller,
        Some(reply),
        false,
    )
    .await;
    measure(
        "POST conversations/{id}/messages (same external_id)",
        &mut rows,
    );
    send(
        "PATCH",
        &format!("/v0/conversations/{cid}/read_by"),
        &seller,
        None,
        false,
    )
    .await;
    measure("PATCH conversations/{id}/read_by", &mut rows);
    // What the worker queued so far is not this test's business below.
    drain(
        &sqs_client_for_reading,
        &urls_for_reading[&QueueName::WebhookEvents],
    )
    .await;
    send(
        "PATCH",
        &format!("/v0/conversations/{cid}"),
        &seller,
        Some(json!({"status": "CLOSED"})),
        false,
    )
    .await;
    measure("PATCH conversations/{id}", &mut rows);

    // Webhooks: a subscription to a receiver that answers 200, then the dispatcher by hand on
    // the event the PATCH queued (fan-out), then on the delivery that made.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}/hook", receiver.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = receiver.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    let bravo = balcao_tests::mint_seller(&clock, "lojademo", balcao_tests::BRAVO);
    send(
        "POST",
        "/v0/webhooks",
        &bravo,
        Some(json!({ "url": receiver_url })),
        false,
    )
    .await;
    measure("POST webhooks", &mut rows);
    send("GET", "/v0/webhooks", &bravo, None, false).await;
    measure("GET webhooks", &mut rows);
    let dispatcher = Dispatcher::new(
        Arc::new(store.clone()),
        sqs.clone(),
        balcao_local::local_dispatch(),
    )
    .unwrap();
    let event = take_one(
        &sqs_client_for_reading,
        &urls_for_reading[&QueueName::WebhookEvents],
    )
    .await;
    let outcome = dispatcher.handle_body(&event).await.unwrap();
    assert_eq!(outcome, Outcome::FannedOut(1));
    measure("dispatcher: fan-out (1 subscription)", &mut rows);
    let delivery = take_one(
        &sqs_client_for_reading,
        &urls_for_reading[&QueueName::WebhookDeliveries],
    )
    .await;
    let outcome = dispatcher.handle_body(&delivery).await.unwrap();
    assert_eq!(outcome, Outcome::Delivered { status: 200 });
    measure("dispatcher: delivery", &mut rows);

    println!("| operation | DynamoDB calls | SQS calls |\n|---|---|---|");
    for (name, d, s) in &rows {
        println!("| {name} | {d} | {s} |");
    }
    let got: Vec<(&str, u64, u64)> = rows.iter().map(|(n, d, s)| (n.as_str(), *d, *s)).collect();
    let expected: Vec<(&str, u64, u64)> = vec![
        ("POST tokens/create", 3, 0),
        ("POST customer/conversations (new)", 5, 1),
        ("POST customer/conversations (same product)", 6, 1),
        ("POST customer/conversations/{id}/messages", 4, 1),
        ("GET customer/conversations", 2, 0),
        ("worker: approve (first message)", 6, 2),
        ("worker: approve", 5, 2),
        ("worker: approve", 5, 2),
        ("worker: redelivered job", 1, 0),
        ("GET conversations (list)", 1, 0),
        ("GET conversations/{id}", 1, 0),
        ("GET conversations/{id}/messages", 2, 0),
        ("GET conversations/{id}/messages/{mid}", 2, 0),
        ("POST conversations/{id}/messages", 3, 1),
        ("POST conversations/{id}/messages (same external_id)", 5, 1),
        ("PATCH conversations/{id}/read_by", 2, 0),
        ("PATCH conversations/{id}", 3, 1),
        ("POST webhooks", 1, 0),
        ("GET webhooks", 1, 0),
        ("dispatcher: fan-out (1 subscription)", 1, 1),
        ("dispatcher: delivery", 1, 0),
    ];
    assert_eq!(got, expected);
}

/// The ids of a conversation's messages, oldest first (read straight from the store).
async fn app_store_messages(store: &DynamoStore, conv: &str) -> Vec<String> {
    use balcao::store::ConversationStore;
    let page = balcao::store::PageRequest {
        limit: 100,
        after: None,
        skip: 0,
        backward: false,
    };
    store
        .list_messages(
            "lojademo",
            conv,
            balcao::domain::model::Side::Customer,
            &page,
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// The one message on a queue (read outside the counted adapter).
async fn take_one(client: &aws_sdk_sqs::Client, url: &str) -> String {
    let got = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(got.len(), 1, "one message on {url}");
    got[0].body.clone().unwrap()
}

async fn drain(client: &aws_sdk_sqs::Client, url: &str) {
    loop {
        let got = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return;
        }
        for m in got {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// A conversation flooded with 5 000 messages the seller may not see (waiting for moderation)
/// around a few it may: every page of the seller's list costs a handful of Query calls, ends
/// early with a cursor where evaluation stopped, and following the cursors finds every visible
/// message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_conversation_is_read_in_bounded_pages() {
    use balcao::domain::model::{Conversation, IdentifiedVia, Message, Party, Side};
    use balcao::store::{ConversationStore, PageRequest, MAX_EVALUATED};
    if !dynamo_available() {
        return;
    }
    let sdk = balcao::config::aws_config().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        format!("flood-{id}"),
    ));
    store.create_table().await.unwrap();
    let t0 = 1_795_000_000_000;
    let party = |id: &str| Party {
        id: id.into(),
        external_id: id.into(),
        full_name: id.into(),
    };
    let conv = Conversation::open(
        "lojademo",
        balcao::ids::new_id(t0),
        party("seller-acme"),
        party("c1"),
        IdentifiedVia::VisitorIdentification,
        "TV".into(),
        vec![],
        t0,
    );
    let msg = |i: i64, side: Side| {
        Message::waiting(
            &conv,
            balcao::ids::new_id(t0 + i),
            side,
            format!("m{i}"),
            t0 + i,
        )
    };
    store
        .create_conversation(&conv, &msg(0, Side::Customer), None)
        .await
        .unwrap();
    // Seller messages (the seller sees its own) at the start, in the middle and at the end.
    let visible = [1_i64, 2_500, 5_002];
    // Loaded in batches: one transaction each would take moto minutes (it copies the table).
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let items: Vec<_> = (1..=5_002_i64)
        .map(|i| {
            let side = if visible.contains(&i) {
                Side::Seller
            } else {
                Side::Customer
            };
            DynamoStore::message_item(&msg(i, side)).unwrap()
        })
        .collect();
    for chunk in items.chunks(25) {
        let writes = chunk
            .iter()
            .map(|item| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items(format!("flood-{id}"), writes)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
    let mut page = PageRequest {
        limit: 10,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut queries_per_page = Vec::new();
    for _ in 0..20 {
        let before = store.calls();
        let got = store
            .list_messages("lojademo", &conv.id, Side::Seller, &page)
            .await
            .unwrap();
        queries_per_page.push(store.calls() - before);
        seen.extend(got.items.iter().map(|m| m.content.clone()));
        match (got.more, got.resume_after, got.items.last()) {
            (false, _, _) => break,
            (true, Some(k), _) => page.after = Some(k),
            (true, None, Some(last)) => page.after = Some(last.id.clone()),
            (true, None, None) => panic!("more without a cursor"),
        }
    }
    println!("flooded conversation: Query calls per page {queries_per_page:?}");
    assert_eq!(seen, ["m1", "m2500", "m5002"]);
    assert!(
        queries_per_page.iter().all(|q| *q <= 7),
        "{queries_per_page:?}"
    );
    // 5 003 items at most MAX_EVALUATED a page: six pages.
    assert_eq!(queries_per_page.len(), 5_003_usize.div_ceil(MAX_EVALUATED));
}
