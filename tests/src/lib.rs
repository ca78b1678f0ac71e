//! Test harness: a local stack per test on port 0 with its own data (an embedded store, or its own
//! DynamoDB table and SQS queue on the moto server the test command started), an HTTP client,
//! token helpers and a clock the test controls.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use balcao::auth::{
    mint_seller_token, SellerClaims, LOCAL_AUDIENCE, LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER,
    SCOPE_SELLER_READ, SCOPE_SELLER_WRITE,
};
use balcao::clock::{Clock, Millis};
use balcao::store::Store;
use balcao_local::{Backend, Stack};
use serde_json::{json, Value};

pub const DEMO_APP_TOKEN: &str = "pat-demo-lojademo-0000000000000000000000000001";
pub const OTHER_ACCOUNT_APP_TOKEN: &str = "pat-demo-outraloja-000000000000000000000000002";
pub const STARTER_APP_TOKEN: &str = "pat-demo-lojastarter-00000000000000000000000003";
pub const NO_SCOPE_APP_TOKEN: &str = "pat-demo-noscope-0000000000000000000000000004";
pub const TOKEN_PATH: &str = "/conversations/v3/visitor-identification/tokens/create";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Embedded,
    Dynamo,
}

/// Moves only when told, and one millisecond on every read so ids taken in a row stay ordered.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(1_795_000_000_000)))
    }
    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn peek(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> Millis {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// The moto endpoint the test command exported. DynamoDB tests fail loudly without it, unless
/// `BALCAO_SKIP_DYNAMODB=1` says to skip them on purpose.
pub fn dynamo_available() -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        return true;
    }
    if std::env::var("BALCAO_SKIP_DYNAMODB").as_deref() == Ok("1") {
        eprintln!("skipping a DynamoDB case: BALCAO_SKIP_DYNAMODB=1");
        return false;
    }
    panic!("AWS_ENDPOINT_URL is not set: run the tests with scripts/test (it starts moto), or set BALCAO_SKIP_DYNAMODB=1");
}

pub fn backend(kind: StoreKind) -> Backend {
    match kind {
        StoreKind::Embedded => Backend::Embedded,
        StoreKind::Dynamo => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            Backend::Aws {
                table: format!("balcao-test-{id}"),
                moderation_queue: format!("balcao-moderation-{id}"),
                create: true,
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub stack: Stack,
    pub clock: TestClock,
    _server: tokio::task::JoinHandle<()>,
}

/// A fresh stack, or `None` when DynamoDB cases are skipped on purpose.
pub async fn spawn_app(kind: StoreKind) -> Option<TestApp> {
    spawn_app_with(kind, balcao_local::local_dispatch()).await
}

/// [`spawn_app`] with the webhook dispatcher configured as given.
pub async fn spawn_app_with(
    kind: StoreKind,
    dispatch: balcao::workers::webhooks::DispatchConfig,
) -> Option<TestApp> {
    spawn(kind, dispatch, |q| q).await
}

/// [`spawn_app`] whose HTTP handlers send through `wrap(queue)` (fault injection); the workers
/// keep the stack's own queues.
pub async fn spawn_app_wrapping_queue(
    kind: StoreKind,
    wrap: impl FnOnce(Arc<dyn balcao::queue::Queue>) -> Arc<dyn balcao::queue::Queue>,
) -> Option<TestApp> {
    spawn(kind, balcao_local::local_dispatch(), wrap).await
}

async fn spawn(
    kind: StoreKind,
    dispatch: balcao::workers::webhooks::DispatchConfig,
    wrap: impl FnOnce(Arc<dyn balcao::queue::Queue>) -> Arc<dyn balcao::queue::Queue>,
) -> Option<TestApp> {
    if kind == StoreKind::Dynamo && !dynamo_available() {
        return None;
    }
    let clock = TestClock::new();
    let stack = balcao_local::build_with(&backend(kind), Arc::new(clock.clone()), dispatch)
        .await
        .expect("the stack builds");
    let served = balcao::api::App {
        queue: wrap(stack.app.queue.clone()),
        ..stack.app.clone()
    };
    let (addr, server) = balcao_local::spawn("127.0.0.1:0".parse().unwrap(), served)
        .await
        .expect("binds a port");
    Some(TestApp {
        base: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        stack,
        clock,
        _server: server,
    })
}

/// A response read whole: status, headers we check, JSON body.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub request_id: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Res {
    /// Asserts the contract's error envelope and its category; returns the body.
    pub fn expect_error(&self, status: u16, category: &str) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["status"], "error", "{}", self.body);
        assert_eq!(self.body["category"], category, "{}", self.body);
        assert_eq!(
            self.body["correlationId"].as_str(),
            self.request_id.as_deref(),
            "correlationId must equal x-request-id"
        );
        assert!(self.body["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty()));
        &self.body
    }
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert!(self.request_id.is_some(), "every response has x-request-id");
        &self.body
    }
}

pub struct Call<'a> {
    app: &'a TestApp,
    req: reqwest::RequestBuilder,
}

impl Call<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.req = self.req.bearer_auth(token);
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.req = self.req.header(k, v);
        self
    }
    pub fn json(mut self, body: &Value) -> Self {
        self.req = self
            .req
            .header("content-type", "application/json")
            .body(body.to_string());
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.req = self.req.header("content-type", content_type).body(body);
        self
    }
    pub async fn send(self) -> Res {
        let _ = self.app;
        let res = self
            .req
            .send()
            .await
            .expect("the request reaches the stack");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.bytes().await.expect("body");
        let json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if !json {
            // A file (the browser side's): its text.
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("JSON body, got {:?}", String::from_utf8_lossy(&bytes)))
        };
        Res {
            status,
            request_id,
            headers,
            body,
        }
    }
}

impl TestApp {
    pub fn store(&self) -> Arc<dyn Store> {
        self.stack.app.store.clone()
    }

    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        Call {
            app: self,
            req: self.http.request(m, format!("{}{}", self.base, path)),
        }
    }

    pub fn seller_token(&self, account: &str, seller: &str) -> String {
        self.seller_token_with(
            account,
            seller,
            &format!("{SCOPE_SELLER_READ} {SCOPE_SELLER_WRITE}"),
            3600,
        )
    }

    pub fn seller_token_with(
        &self,
        account: &str,
        seller: &str,
        scope: &str,
        ttl_s: i64,
    ) -> String {
        let claims = SellerClaims {
            sub: format!("{seller}-user"),
            account: account.into(),
            seller_id: seller.into(),
            scope: scope.into(),
            name: Some("Ana do Atendimento".into()),
        };
        mint_seller_token(
            LOCAL_DEV_SECRET.as_bytes(),
            LOCAL_DEV_KID,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
            &claims,
            self.clock.peek() / 1000 + ttl_s,
        )
        .unwrap()
    }

    /// An identification token for `email`, from the account's private app token.
    pub async fn visitor_token(&self, app_token: &str, email: &str) -> String {
        let r = self
            .call("POST", TOKEN_PATH)
            .bearer(app_token)
            .json(&json!({"email": email, "firstName": "Test", "lastName": "Visitor"}))
            .send()
            .await;
        r.expect(200)["token"].as_str().expect("a token").to_owned()
    }

    pub fn as_customer<'a>(
        &'a self,
        method: &str,
        path: &str,
        token: &str,
        email: &str,
    ) -> Call<'a> {
        self.call(method, path)
            .bearer(token)
            .header("x-identification-email", email)
    }

    /// Opens a conversation about `product` as the customer; returns its id.
    pub async fn open(
        &self,
        token: &str,
        email: &str,
        seller: &str,
        product: &str,
        content: &str,
    ) -> String {
        let r = self
            .as_customer("POST", "/v0/customer/conversations", token, email)
            .json(&json!({
                "seller_id": seller,
                "tags": [{"name": "productId", "value": product}, {"name": "productTitle", "value": "Geladeira Frost Free"}],
                "content": content,
            }))
            .send()
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Waits until the moderation worker has decided `message` (it runs on the stack's queues).
    pub async fn moderated(
        &self,
        account: &str,
        conversation: &str,
        message: &str,
    ) -> balcao::domain::model::Message {
        let store = self.store();
        for _ in 0..400 {
            if let Some(m) = store
                .get_message(balcao::domain::model::MessageKey {
                    account,
                    conversation,
                    message,
                })
                .await
                .unwrap()
            {
                if m.moderation.status != balcao::domain::model::ModerationStatus::WaitingModeration
                    && !m.events_pending
                {
                    return m;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("message {message} was not moderated in time");
    }

    /// Waits until every message of the conversation is decided.
    pub async fn all_moderated(&self, account: &str, conversation: &str) {
        let store = self.store();
        let page = balcao::store::PageRequest {
            limit: 100,
            after: None,
            skip: 0,
            backward: false,
        };
        let list = store
            .list_messages(
                account,
                conversation,
                balcao::domain::model::Side::Customer,
                &page,
            )
            .await
            .unwrap();
        let mut ids: Vec<String> = list.items.iter().map(|m| m.id.clone()).collect();
        let seller = store
            .list_messages(
                account,
                conversation,
                balcao::domain::model::Side::Seller,
                &page,
            )
            .await
            .unwrap();
        ids.extend(seller.items.iter().map(|m| m.id.clone()));
        for id in ids {
            self.moderated(account, conversation, &id).await;
        }
    }

    /// The webhook events queued so far.
    pub async fn events(&self) -> Vec<balcao::queue::WebhookEvent> {
        self.stack.events.lock().await.clone()
    }
}

/// An operator token (`token_use: "operator"`) signed with the local development key.
pub fn operator_token(app: &TestApp, account: &str, email: &str, ttl_s: i64) -> String {
    balcao::auth::mint_operator_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &balcao::auth::OperatorClaims {
            sub: email.into(),
            account: account.into(),
            name: None,
        },
        app.clock.peek() / 1000 + ttl_s,
    )
    .unwrap()
}

/// The demo account's impersonation audit trail, newest first, as its admin reads it.
pub async fn audit_trail(app: &TestApp) -> Vec<Value> {
    let admin = operator_token(app, "lojademo", "admin@lojademo.com.br", 3600);
    let r = app
        .call("GET", "/api/sessions/audit?_limit=100")
        .bearer(&admin)
        .send()
        .await;
    r.expect(200)["results"].as_array().unwrap().clone()
}

/// Runs each `async fn name(kind: StoreKind)` as two tests, `name::embedded` and
/// `name::dynamodb`; `both_stores!(threads = N; a, b)` runs them on a multi-thread runtime.
/// The one helper every module of the suite uses.
#[macro_export]
macro_rules! both_stores {
    (threads = $n:literal; $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = $n)]
                async fn embedded() {
                    super::$name($crate::StoreKind::Embedded).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = $n)]
                async fn dynamodb() {
                    super::$name($crate::StoreKind::Dynamo).await
                }
            }
        )+
    };
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn embedded() {
                    super::$name($crate::StoreKind::Embedded).await
                }
                #[tokio::test]
                async fn dynamodb() {
                    super::$name($crate::StoreKind::Dynamo).await
                }
            }
        )+
    };
}

/// The demo account's sellers (`shared/src/fixture.rs`): the fixture's conversation is ACME's.
pub const ACME: &str = "seller-acme";
pub const BRAVO: &str = "seller-bravo";
/// Demo shoppers.
pub const MARIA: &str = "maria@example.com";
pub const JOAO: &str = "joao@example.com";

/// A seller token signed with the local development key.
pub fn mint_seller(clock: &TestClock, account: &str, seller: &str) -> String {
    let claims = SellerClaims {
        sub: format!("{seller}-user"),
        account: account.into(),
        seller_id: seller.into(),
        scope: format!("{SCOPE_SELLER_READ} {SCOPE_SELLER_WRITE}"),
        name: None,
    };
    mint_seller_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &claims,
        clock.peek() / 1000 + 3600,
    )
    .unwrap()
}

pub mod faults;

/// WebSocket clients of the local stack's `/ws` (the realtime protocol).
pub mod live {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::Value;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    use super::TestApp;

    type Ws = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// One open socket and every frame it received so far.
    pub struct Socket {
        ws: Ws,
        pub frames: Vec<Value>,
    }

    /// Opens `/ws` with these headers; the HTTP status and body when the upgrade is refused.
    pub async fn connect(app: &TestApp, headers: &[(&str, &str)]) -> Result<Socket, (u16, Value)> {
        let mut req = format!("ws://{}/ws", app.addr)
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Socket {
                ws,
                frames: Vec::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let status = res.status().as_u16();
                let body = res
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err((status, body))
            }
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    /// A customer's socket (identification token + e-mail, as the HTTP API takes them).
    pub async fn customer(app: &TestApp, token: &str, email: &str) -> Socket {
        let auth = format!("Bearer {token}");
        connect(
            app,
            &[("authorization", &auth), ("x-identification-email", email)],
        )
        .await
        .unwrap_or_else(|(s, b)| panic!("customer socket refused: {s} {b}"))
    }

    /// A seller's socket.
    pub async fn seller(app: &TestApp, account: &str, seller: &str) -> Socket {
        let auth = format!("Bearer {}", app.seller_token(account, seller));
        connect(app, &[("authorization", &auth)])
            .await
            .unwrap_or_else(|(s, b)| panic!("seller socket refused: {s} {b}"))
    }

    impl Socket {
        pub async fn send(&mut self, frame: &Value) {
            self.ws
                .send(Message::Text(frame.to_string().into()))
                .await
                .unwrap();
        }

        /// The next frame within `ms`, recorded in `frames`.
        pub async fn next_within(&mut self, ms: u64) -> Option<Value> {
            loop {
                let got = tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await;
                match got {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        let v: Value = serde_json::from_str(t.as_str()).expect("frames are JSON");
                        self.frames.push(v.clone());
                        return Some(v);
                    }
                    Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Err(_) => return None,
                    Ok(Some(Ok(_))) => continue,
                    Ok(Some(Err(e))) => panic!("socket error: {e}"),
                }
            }
        }

        /// Reads frames until `done` holds for everything received so far (at most 10 s).
        pub async fn until(&mut self, done: impl Fn(&[Value]) -> bool) -> &[Value] {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !done(&self.frames) {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() || self.next_within(left.as_millis() as u64).await.is_none() {
                    panic!("frames so far do not hold: {:#?}", self.frames);
                }
            }
            &self.frames
        }

        /// The next frame of `kind`, skipping none: frames of other kinds fail the test.
        pub async fn answer(&mut self, kind: &str) -> Value {
            let f = self
                .next_within(5000)
                .await
                .unwrap_or_else(|| panic!("no {kind} frame"));
            assert_eq!(f["type"], kind, "{f:#}");
            f
        }

        /// Asserts that no frame arrives within `ms`.
        pub async fn quiet_for(&mut self, ms: u64) {
            if let Some(f) = self.next_within(ms).await {
                panic!("an unexpected frame: {f:#}");
            }
        }

        pub async fn close(mut self) {
            let _ = self.ws.close(None).await;
        }
    }

    /// The frames about message `id`, by type and moderation status.
    pub fn about(frames: &[Value], id: &str) -> Vec<(String, String)> {
        frames
            .iter()
            .filter(|f| f["message"]["id"] == id)
            .map(|f| {
                (
                    f["type"].as_str().unwrap_or_default().to_owned(),
                    f["message"]["moderation"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}
