//! Faults at every step of every operation, against DynamoDB and SQS on moto: each DynamoDB and
//! SQS call an operation makes is failed in turn — throttled, cancelled by a conflicting
//! transaction, answered with a 500, timed out before it reaches the server, or applied with its
//! answer lost — once (the SDK's retry) and on every attempt (where a retry cannot help).
//!
//! For each case the test checks what the README's fault table promises:
//! - an HTTP answer is the operation's own success or a 503 `SERVICE_UNAVAILABLE` with
//!   `Retry-After` and no internals; a fault the SDK retries (once) never reaches the caller;
//! - no partial write: the items the operation writes are all there after a success and none
//!   after a 503;
//! - nothing lost or doubled once the workers have run (a failed job is redelivered, as SQS
//!   does, and the sweeper runs): every message written is decided once, and its webhook events
//!   are queued under their one id each; a webhook reaches the receiver under one `webhook-id`.
//!
//! The counts per scenario are printed (`--nocapture`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use balcao::api::App;
use balcao::auth::Auth;
use balcao::domain::model::{MessageKey, ModerationStatus};
use balcao::fixture::Fixture;
use balcao::queue::{QueueName, SqsQueue, WebhookEvent};
use balcao::store::dynamo::DynamoStore;
use balcao::store::{ConversationStore, Store};
use balcao::workers::moderation::Moderator;
use balcao::workers::sweeper::{Sweeper, SWEEP_AFTER_MS};
use balcao::workers::webhooks::Dispatcher;
use balcao_tests::faults::{faulty_clients, Fault, Faults, ALWAYS};
use balcao_tests::{dynamo_available, TestClock, BRAVO, DEMO_APP_TOKEN, MARIA};
use serde_json::{json, Value};

const ACCOUNT: &str = "lojademo";

/// One stack on its own table and queues, whose DynamoDB and SQS clients go through [`Faults`].
struct Ctx {
    base: String,
    http: reqwest::Client,
    clock: TestClock,
    faults: Faults,
    store: DynamoStore,
    plain_dynamodb: aws_sdk_dynamodb::Client,
    plain_sqs: aws_sdk_sqs::Client,
    urls: HashMap<QueueName, String>,
    moderator: Moderator,
    sweeper: Sweeper,
    dispatcher: Dispatcher,
    /// Webhook events queued so far (read off the events queue by [`Ctx::heal`]).
    events: Vec<WebhookEvent>,
    /// `webhook-id` of every request the receiver got.
    received: Arc<Mutex<Vec<String>>>,
    receiver_url: String,
    subscribed: bool,
    _server: tokio::task::JoinHandle<()>,
}

/// What an operation answered: an HTTP status and body, or a worker's result.
enum Answer {
    Http(balcao_tests::Res),
    Worker(Result<(), balcao::error::Error>),
}

impl Answer {
    fn ok(&self) -> bool {
        match self {
            Answer::Http(r) => r.status < 300,
            Answer::Worker(r) => r.is_ok(),
        }
    }

    /// A failure says what the caller must know and nothing more: a 503 with `Retry-After`
    /// (HTTP), or a transient error that SQS redelivers (workers).
    fn check_failure(&self, table: &str) -> Result<(), String> {
        match self {
            Answer::Http(r) => {
                let text = r.body.to_string();
                let leaks = [
                    "injected",
                    "Exception",
                    "dynamodb",
                    "DynamoDB",
                    "sqs",
                    table,
                ]
                .iter()
                .any(|w| text.contains(w));
                let retry = r.headers.get("retry-after").and_then(|v| v.to_str().ok());
                if r.status != 503
                    || r.body["category"] != "SERVICE_UNAVAILABLE"
                    || retry != Some("1")
                    || leaks
                {
                    return Err(format!("{} retry-after {retry:?}: {text}", r.status));
                }
                Ok(())
            }
            Answer::Worker(Err(e)) if e.status() == 503 => Ok(()),
            Answer::Worker(Err(e)) => Err(format!(
                "not a transient error: {}",
                balcao::http::ErrorChain(e)
            )),
            Answer::Worker(Ok(())) => Ok(()),
        }
    }
}

impl Ctx {
    async fn new(name: &str) -> Ctx {
        let sdk =
            balcao::config::lambda_sdk_config().expect("AWS_REGION is set by the test command");
        let faults = Faults::default();
        let (dynamodb, sqs_client) = faulty_clients(&sdk, &faults);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("faults-{name}-{id}");
        let store = DynamoStore::new(dynamodb, table.clone());
        store.create_table().await.unwrap();
        let clock = TestClock::new();
        Fixture::parse(balcao_local::DEMO_FIXTURE)
            .unwrap()
            .load(&store, clock.peek())
            .await
            .unwrap();
        let plain_sqs = aws_sdk_sqs::Client::new(&sdk);
        let mut urls = HashMap::new();
        for q in QueueName::ALL {
            let url = SqsQueue::create_queue(&plain_sqs, &format!("faults-{}-{id}", q.as_str()))
                .await
                .unwrap();
            urls.insert(q, url);
        }
        let sqs = Arc::new(SqsQueue::new(sqs_client, urls.clone()));
        let clock_arc: Arc<dyn balcao::clock::Clock> = Arc::new(clock.clone());
        let store_arc: Arc<dyn Store> = Arc::new(store.clone());
        let app = App {
            store: store_arc.clone(),
            queue: sqs.clone(),
            auth: Auth::local(clock_arc.clone()),
            clock: clock_arc.clone(),
            url_policy: balcao::webhooks::UrlPolicy::LOCAL,
            sites: balcao::api::Sites::local(),
            post_limits: balcao::api::PostLimits::default(),
            live: balcao::realtime::Live::off(),
        };
        let (addr, server) = balcao_local::spawn("127.0.0.1:0".parse().unwrap(), app)
            .await
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let receiver_url = receiver(received.clone()).await;
        Ctx {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            clock,
            faults,
            plain_dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            plain_sqs,
            urls,
            moderator: Moderator::new(store_arc.clone(), sqs.clone(), clock_arc.clone()),
            sweeper: Sweeper::new(store_arc.clone(), sqs.clone(), clock_arc),
            dispatcher: Dispatcher::new(store_arc, sqs, balcao_local::local_dispatch()).unwrap(),
            store,
            events: Vec::new(),
            received,
            receiver_url,
            subscribed: false,
            _server: server,
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        customer: bool,
    ) -> balcao_tests::Res {
        let mut r = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", self.base),
            )
            .bearer_auth(token);
        if customer {
            r = r.header("x-identification-email", MARIA);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        balcao_tests::Res {
            status,
            request_id: None,
            headers,
            body,
        }
    }

    fn seller(&self) -> String {
        balcao_tests::mint_seller(&self.clock, ACCOUNT, BRAVO)
    }

    async fn visitor(&self) -> String {
        let r = self
            .send(
                "POST",
                "/conversations/v3/visitor-identification/tokens/create",
                DEMO_APP_TOKEN,
                Some(json!({"email": MARIA})),
                false,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Opens a conversation about a new product (no faults); returns its id and first message.
    async fn open(&self, marker: &str) -> (String, String) {
        let t = self.visitor().await;
        let r = self
            .send(
                "POST",
                "/v0/customer/conversations",
                &t,
                Some(open_body(marker)),
                true,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let conv = r.body["id"].as_str().unwrap().to_owned();
        let first = self.message_ids(&conv).await[0].clone();
        (conv, first)
    }

    /// Every message of the conversation, as the customer sees it (their own and the seller's
    /// approved ones), oldest first.
    async fn message_ids(&self, conv: &str) -> Vec<String> {
        let page = balcao::store::PageRequest {
            limit: 100,
            after: None,
            skip: 0,
            backward: false,
        };
        let mut ids = Vec::new();
        for side in [
            balcao::domain::model::Side::Customer,
            balcao::domain::model::Side::Seller,
        ] {
            let p = self
                .store
                .list_messages(ACCOUNT, conv, side, &page)
                .await
                .unwrap();
            ids.extend(p.items.into_iter().map(|m| m.id));
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Items of the table whose text holds `marker`.
    async fn items_with(&self, marker: &str) -> usize {
        let mut n = 0;
        let mut start = None;
        loop {
            let out = self
                .plain_dynamodb
                .scan()
                .table_name(self.store.table())
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            n += out
                .items()
                .iter()
                .filter(|i| format!("{i:?}").contains(marker))
                .count();
            start = out.last_evaluated_key;
            if start.is_none() {
                return n;
            }
        }
    }

    /// Takes every message of a queue (received and deleted).
    async fn take(&self, q: QueueName) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let r = self
                .plain_sqs
                .receive_message()
                .queue_url(&self.urls[&q])
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                self.plain_sqs
                    .delete_message()
                    .queue_url(&self.urls[&q])
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
                out.push(m.body.unwrap_or_default());
            }
        }
    }

    /// What the platform does after a fault, with no fault left: the sweeper runs (its clock
    /// past the wait) when a job may be missing (`sweep`), the moderation worker takes every
    /// job, and the events and deliveries the workers queue are taken (events kept in
    /// `self.events`, deliveries made).
    async fn heal(&mut self, sweep: bool) {
        self.faults.disarm();
        for _ in 0..5 {
            if sweep {
                self.clock.advance(SWEEP_AFTER_MS + 1000);
                self.sweeper.run_once().await.unwrap();
            }
            let jobs = self.take(QueueName::Moderation).await;
            if jobs.is_empty() {
                break;
            }
            for j in jobs {
                self.moderator.handle_body(&j).await.unwrap();
            }
        }
        for e in self.take(QueueName::WebhookEvents).await {
            self.events.push(serde_json::from_str(&e).unwrap());
            self.dispatcher.handle_body(&e).await.unwrap();
        }
        for d in self.take(QueueName::WebhookDeliveries).await {
            self.dispatcher.handle_body(&d).await.unwrap();
        }
    }

    /// The `(domain, status)` of the distinct events queued about `message`; fails when one
    /// event id stands for two different events.
    fn events_about(&self, message: &str) -> Result<BTreeSet<(String, String)>, String> {
        let mut by_id: HashMap<&str, (String, String)> = HashMap::new();
        for e in &self.events {
            if e.detail.message_id.as_deref() == Some(message)
                || (e.data.domain == "conversation" && self.conversation_event_of(e, message))
            {
                let kind = (e.data.domain.clone(), e.data.status.clone());
                if let Some(k) = by_id.insert(&e.id, kind.clone()) {
                    if k != kind {
                        return Err(format!("event id {} is both {k:?} and {kind:?}", e.id));
                    }
                }
            }
        }
        let kinds: Vec<_> = by_id.values().cloned().collect();
        let set: BTreeSet<_> = kinds.iter().cloned().collect();
        if set.len() != kinds.len() {
            return Err(format!("one event under two ids: {kinds:?}"));
        }
        Ok(set)
    }

    /// A conversation event belongs to the message whose decision queued it: same conversation,
    /// the message's decision time.
    fn conversation_event_of(&self, e: &WebhookEvent, message: &str) -> bool {
        self.events.iter().any(|m| {
            m.detail.message_id.as_deref() == Some(message)
                && m.detail.conversation_id == e.detail.conversation_id
                && m.created_at == e.created_at
        })
    }

    async fn decided(&self, conv: &str, message: &str) -> bool {
        self.store
            .get_message(MessageKey {
                account: ACCOUNT,
                conversation: conv,
                message,
            })
            .await
            .unwrap()
            .is_some_and(|m| {
                m.moderation.status != ModerationStatus::WaitingModeration && !m.events_pending
            })
    }
}

/// A fresh marker with no digits: a run of digits could read as a document or a phone and be
/// refused by moderation, which is not what these cases are about.
fn new_marker() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    let letters: String = hex
        .chars()
        .map(|c| match c.to_digit(16) {
            Some(d) => char::from(b'g' + d as u8),
            None => c,
        })
        .collect();
    format!("m{letters}")
}

fn open_body(marker: &str) -> Value {
    json!({
        "seller_id": BRAVO,
        "tags": [{"name": "productId", "value": format!("SOFA-{marker}")}],
        "content": format!("Tem em cinza? ref {marker}"),
    })
}

/// A webhook receiver on loopback that answers 200 and keeps each request's `webhook-id`.
async fn receiver(ids: Arc<Mutex<Vec<String>>>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let ids = ids.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Headers are all this receiver reads.
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                if let Some(id) = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("webhook-id")
                        .then(|| v.trim().to_owned())
                }) {
                    ids.lock().unwrap().push(id);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    url
}

/// The operations under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    CreateToken,
    OpenConversation,
    CustomerPost,
    SellerPost,
    ReadBy,
    Close,
    CreateWebhook,
    Moderate,
    FanOut,
    Deliver,
    Sweep,
}

impl Op {
    const ALL: [Op; 11] = [
        Op::CreateToken,
        Op::OpenConversation,
        Op::CustomerPost,
        Op::SellerPost,
        Op::ReadBy,
        Op::Close,
        Op::CreateWebhook,
        Op::Moderate,
        Op::FanOut,
        Op::Deliver,
        Op::Sweep,
    ];
}

/// What a case set up before the operation ran.
#[derive(Default)]
struct Setup {
    conv: String,
    message: String,
    token: String,
    job: String,
    before: String,
}

/// Prepares one case of `op` (no faults), identified by `marker`.
async fn prepare(ctx: &mut Ctx, op: Op, marker: &str) -> Setup {
    let mut s = Setup::default();
    match op {
        Op::CreateToken | Op::CreateWebhook => {}
        Op::OpenConversation => s.token = ctx.visitor().await,
        Op::CustomerPost | Op::SellerPost | Op::ReadBy | Op::Close => {
            let (conv, _) = ctx.open(marker).await;
            ctx.heal(false).await;
            s.token = if op == Op::CustomerPost {
                ctx.visitor().await
            } else {
                ctx.seller()
            };
            s.before = conversation_text(ctx, &conv).await;
            s.conv = conv;
        }
        Op::Moderate | Op::Sweep => {
            let (conv, first) = ctx.open(marker).await;
            // The job the customer's message queued: the worker takes it (Moderate), or it is
            // lost and only the sweeper can find the message (Sweep).
            let jobs = ctx.take(QueueName::Moderation).await;
            assert_eq!(jobs.len(), 1);
            s.job = jobs[0].clone();
            if op == Op::Sweep {
                ctx.clock.advance(SWEEP_AFTER_MS + 1000);
            }
            s.conv = conv;
            s.message = first;
        }
        Op::FanOut | Op::Deliver => {
            if !ctx.subscribed {
                let r = ctx
                    .send(
                        "POST",
                        "/v0/webhooks",
                        &ctx.seller(),
                        Some(json!({"url": ctx.receiver_url})),
                        false,
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.body);
                ctx.subscribed = true;
            }
            let (conv, first) = ctx.open(marker).await;
            let jobs = ctx.take(QueueName::Moderation).await;
            ctx.moderator.handle_body(&jobs[0]).await.unwrap();
            let events = ctx.take(QueueName::WebhookEvents).await;
            // `message NEW` (the conversation's NEW rides along; it is not this case's).
            s.job = events
                .iter()
                .find(|e| e.contains("\"message\""))
                .unwrap()
                .clone();
            if op == Op::Deliver {
                ctx.dispatcher.handle_body(&s.job).await.unwrap();
                let d = ctx.take(QueueName::WebhookDeliveries).await;
                assert_eq!(d.len(), 1);
                s.job = d[0].clone();
            }
            ctx.received.lock().unwrap().clear();
            s.conv = conv;
            s.message = first;
        }
    }
    s
}

async fn conversation_text(ctx: &Ctx, conv: &str) -> String {
    format!(
        "{:?}",
        ctx.store.get_conversation(ACCOUNT, conv).await.unwrap()
    )
}

/// Runs the operation (faults armed by the caller).
async fn act(ctx: &Ctx, op: Op, s: &Setup, marker: &str) -> Answer {
    let path = |tail: &str| format!("/v0/conversations/{}{tail}", s.conv);
    match op {
        Op::CreateToken => Answer::Http(
            ctx.send(
                "POST",
                "/conversations/v3/visitor-identification/tokens/create",
                DEMO_APP_TOKEN,
                Some(json!({"email": format!("{marker}@example.com")})),
                false,
            )
            .await,
        ),
        Op::OpenConversation => Answer::Http(
            ctx.send(
                "POST",
                "/v0/customer/conversations",
                &s.token,
                Some(open_body(marker)),
                true,
            )
            .await,
        ),
        Op::CustomerPost => Answer::Http(
            ctx.send(
                "POST",
                &format!("/v0/customer/conversations/{}/messages", s.conv),
                &s.token,
                Some(json!({"content": format!("Alô? {marker}")})),
                true,
            )
            .await,
        ),
        Op::SellerPost => Answer::Http(
            ctx.send(
                "POST",
                &path("/messages"),
                &s.token,
                Some(json!({
                    "content": format!("Temos! {marker}"),
                    "external_id": marker,
                    "owner": {"name": "Ana", "external_id": "ana"},
                })),
                false,
            )
            .await,
        ),
        Op::ReadBy => Answer::Http(
            ctx.send("PATCH", &path("/read_by"), &s.token, None, false)
                .await,
        ),
        Op::Close => Answer::Http(
            ctx.send(
                "PATCH",
                &path(""),
                &s.token,
                Some(json!({"status": "CLOSED"})),
                false,
            )
            .await,
        ),
        Op::CreateWebhook => Answer::Http(
            ctx.send(
                "POST",
                "/v0/webhooks",
                &ctx.seller(),
                Some(json!({"url": format!("{}?{marker}", ctx.receiver_url)})),
                false,
            )
            .await,
        ),
        Op::Moderate => Answer::Worker(ctx.moderator.handle_body(&s.job).await.map(|_| ())),
        Op::FanOut | Op::Deliver => {
            Answer::Worker(ctx.dispatcher.handle_body(&s.job).await.map(|_| ()))
        }
        Op::Sweep => Answer::Worker(ctx.sweeper.run_once().await.map(|_| ())),
    }
}

/// After the operation, before healing: all or nothing was written.
/// `setup` items held the marker before the operation (a post's own conversation); `baseline`
/// is what the operation writes when nothing fails.
async fn check_written(
    ctx: &Ctx,
    op: Op,
    s: &Setup,
    marker: &str,
    ok: bool,
    (setup, baseline): (usize, usize),
) -> Result<(), String> {
    match op {
        Op::CreateToken
        | Op::OpenConversation
        | Op::CustomerPost
        | Op::SellerPost
        | Op::CreateWebhook => {
            let n = ctx.items_with(marker).await;
            // What the case set up holds the marker too (the conversation of a post).
            let own = n.saturating_sub(setup);
            let expected = if ok { baseline } else { 0 };
            if own != expected {
                return Err(format!(
                    "{own} items written, expected {expected} (answer ok: {ok})"
                ));
            }
            Ok(())
        }
        Op::ReadBy | Op::Close => {
            let changed = conversation_text(ctx, &s.conv).await != s.before;
            if changed != ok {
                return Err(format!("conversation changed: {changed}, answer ok: {ok}"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// After healing: nothing lost, nothing doubled.
async fn check_healed(ctx: &Ctx, op: Op, s: &Setup, marker: &str, ok: bool) -> Result<(), String> {
    let expect = |kinds: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        kinds
            .iter()
            .map(|(d, st)| (d.to_string(), st.to_string()))
            .collect()
    };
    match op {
        Op::OpenConversation if ok => {
            let conv = find_conversation(ctx, marker)
                .await
                .ok_or("conversation missing")?;
            let ids = ctx.message_ids(&conv).await;
            if ids.len() != 1 || !ctx.decided(&conv, &ids[0]).await {
                return Err(format!("messages {ids:?}, first decided: false"));
            }
            let got = ctx.events_about(&ids[0])?;
            if got != expect(&[("message", "NEW"), ("conversation", "NEW")]) {
                return Err(format!("events {got:?}"));
            }
        }
        Op::CustomerPost | Op::SellerPost => {
            let ids = ctx.message_ids(&s.conv).await;
            let want = if ok { 2 } else { 1 };
            if ids.len() != want {
                return Err(format!("{} messages, expected {want}", ids.len()));
            }
            if ok {
                let last = ids.last().unwrap();
                if !ctx.decided(&s.conv, last).await {
                    return Err("the new message was never decided".into());
                }
                let got = ctx.events_about(last)?;
                let want = if op == Op::CustomerPost {
                    expect(&[("message", "NEW"), ("conversation", "UPDATED")])
                } else {
                    expect(&[("message", "UPDATED"), ("conversation", "UPDATED")])
                };
                if got != want {
                    return Err(format!("events {got:?}"));
                }
            }
        }
        Op::Moderate | Op::Sweep => {
            if !ctx.decided(&s.conv, &s.message).await {
                return Err("the message was never decided".into());
            }
            let got = ctx.events_about(&s.message)?;
            if got != expect(&[("message", "NEW"), ("conversation", "NEW")]) {
                return Err(format!("events {got:?}"));
            }
        }
        Op::Close => {
            // The status change's own event (a conversation event about no message), once.
            let ids: BTreeSet<&str> = ctx
                .events
                .iter()
                .filter(|e| {
                    e.detail.conversation_id == s.conv
                        && e.detail.message_id.is_none()
                        && e.data.status == "UPDATED"
                })
                .map(|e| e.id.as_str())
                .collect();
            if ids.len() != usize::from(ok) {
                return Err(format!("status events {ids:?}, answer ok: {ok}"));
            }
        }
        Op::FanOut | Op::Deliver => {
            let ids: BTreeSet<String> = ctx.received.lock().unwrap().iter().cloned().collect();
            let event: Value = serde_json::from_str(&s.job).unwrap();
            let id = event["id"]
                .as_str()
                .or(event["event"]["id"].as_str())
                .unwrap_or_default();
            if ids.len() != 1 || !ids.contains(id) {
                return Err(format!("the receiver got {ids:?}, expected only {id}"));
            }
        }
        _ => {}
    }
    Ok(())
}

async fn find_conversation(ctx: &Ctx, marker: &str) -> Option<String> {
    let customer = ctx.visitor().await;
    let r = ctx
        .send(
            "GET",
            "/v0/customer/conversations?_limit=100",
            &customer,
            None,
            true,
        )
        .await;
    r.body["results"].as_array()?.iter().find_map(|c| {
        let has = c.to_string().contains(&format!("SOFA-{marker}"));
        has.then(|| c["id"].as_str().unwrap_or_default().to_owned())
    })
}

/// The faults tried at step `step` (a call to `op_name`): one the SDK retries, an answer lost
/// after the write was applied, one that fails every attempt, and for DynamoDB a transaction
/// conflict (which the SDK does not retry). The retried and the persistent kinds rotate over the
/// steps (throttling, 500, timeout), so that each kind meets reads, writes, transactions and
/// sends across the operations without every step paying for every kind.
fn plan(step: usize, op_name: &str) -> Vec<(Fault, u32)> {
    const KINDS: [Fault; 3] = [Fault::Throttle, Fault::ServerError, Fault::Timeout];
    let mut p = vec![
        (KINDS[step % 3], 1),
        (Fault::LostResponse, 1),
        (KINDS[(step + 1) % 3], ALWAYS),
    ];
    if op_name.starts_with("DynamoDB") {
        p.push((Fault::Conflict, 1));
    }
    p
}

/// One operation: a baseline run counts its calls, then every step gets every fault.
async fn run(op: Op) -> Result<String, Vec<String>> {
    let started = std::time::Instant::now();
    let mut ctx = Ctx::new(&format!("{op:?}").to_ascii_lowercase()).await;
    let mut failures = Vec::new();
    let table = ctx.store.table().to_owned();

    // Baseline.
    let marker = new_marker();
    // A first run warms what the workers cache (an account's moderation lists), so that the
    // baseline counts the calls every later case makes.
    let warm = prepare(&mut ctx, op, &marker).await;
    assert!(
        act(&ctx, op, &warm, &marker).await.ok(),
        "{op:?} fails with no fault"
    );
    ctx.heal(false).await;
    let marker = new_marker();
    let s = prepare(&mut ctx, op, &marker).await;
    let setup = ctx.items_with(&marker).await;
    ctx.faults.arm();
    let answer = act(&ctx, op, &s, &marker).await;
    let calls = ctx.faults.calls();
    ctx.faults.disarm();
    if let Answer::Http(r) = &answer {
        assert!(
            r.status < 300,
            "{op:?} fails with no fault: {} {}",
            r.status,
            r.body
        );
    }
    assert!(answer.ok(), "{op:?} fails with no fault");
    let baseline = ctx.items_with(&marker).await - setup;
    ctx.heal(false).await;
    if let Err(e) = check_healed(&ctx, op, &s, &marker, true).await {
        failures.push(format!("{op:?} baseline: {e}"));
    }

    let mut cases = 0;
    let mut refused = 0;
    for (step, call) in calls.iter().enumerate() {
        // Of a run of the same call (the sweeper's shard queries), the first and the last.
        let inside = step > 0 && calls.get(step + 1) == Some(call) && calls[step - 1] == *call;
        if inside {
            continue;
        }
        for (fault, attempts) in plan(step, call) {
            cases += 1;
            let marker = new_marker();
            let s = prepare(&mut ctx, op, &marker).await;
            let setup = ctx.items_with(&marker).await;
            ctx.faults.arm();
            ctx.faults.inject(step, fault, attempts);
            let answer = act(&ctx, op, &s, &marker).await;
            let hits = ctx.faults.hits();
            ctx.faults.disarm();
            let times = if attempts == ALWAYS {
                "always".to_owned()
            } else {
                format!("{attempts}×")
            };
            let case = format!("{op:?} step {step} {call}, {} {times}", fault.name());
            if hits == 0 {
                failures.push(format!("{case}: the fault was never injected"));
                continue;
            }
            let ok = answer.ok();
            // What the SDK retries must not reach the caller.
            let retried = attempts == 1 && fault != Fault::Conflict;
            if retried && !ok {
                failures.push(format!("{case}: failed although the SDK retries it"));
            }
            if !ok {
                refused += 1;
                if let Err(e) = answer.check_failure(&table) {
                    failures.push(format!("{case}: {e}"));
                }
            }
            if let Err(e) = check_written(&ctx, op, &s, &marker, ok, (setup, baseline)).await {
                failures.push(format!("{case}: partial write: {e}"));
            }
            if !ok {
                if let Answer::Worker(_) = answer {
                    // SQS redelivers the record the worker failed (the sweeper's next run goes
                    // again); this time nothing fails.
                    if let Answer::Worker(Err(e)) = act(&ctx, op, &s, &marker).await {
                        failures.push(format!("{case}: redelivery failed: {e}"));
                    }
                }
            }
            // A job can be missing only when a send failed or the operation did.
            ctx.heal(call.starts_with("SQS") || !ok || op == Op::Sweep)
                .await;
            if let Err(e) = check_healed(&ctx, op, &s, &marker, ok).await {
                failures.push(format!("{case}: after healing: {e}"));
            }
        }
    }
    let summary = format!(
        "{op:?}: {} calls ({}), {cases} cases, {refused} answered 503 / left to redelivery, {:.1} s",
        calls.len(),
        calls.join(", "),
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        Ok(summary)
    } else {
        failures.insert(0, summary);
        Err(failures)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_call_of_every_operation_fails_safely() {
    if !dynamo_available() {
        return;
    }
    let mut tasks = Vec::new();
    // `BALCAO_FAULT_OPS=CreateToken,Moderate` runs only those (when working on one).
    let only = std::env::var("BALCAO_FAULT_OPS").unwrap_or_default();
    for op in Op::ALL {
        if !only.is_empty() && !only.split(',').any(|o| o == format!("{op:?}")) {
            continue;
        }
        tasks.push(tokio::spawn(run(op)));
    }
    let mut failures = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(summary) => println!("faults: {summary}"),
            Err(f) => failures.extend(f),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
