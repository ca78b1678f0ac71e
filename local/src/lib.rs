//! The embedded default: every HTTP route of `template.yaml` behind one router, the same handlers
//! as the Lambda packages, an embedded store (or DynamoDB/SQS), in-process queues, and the demo
//! fixture.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use balcao::api::{conversations, sessions, token_create, webhooks, App};
use balcao::auth::Auth;
use balcao::clock::{Clock, SystemClock};
use balcao::error::Error;
use balcao::fixture::Fixture;
use balcao::http::{finish, new_request_id, MAX_BODY_BYTES};
use balcao::queue::WebhookEvent;
use balcao::queue::{MemoryQueue, QueueName, SqsQueue};
use balcao::realtime::LocalSockets;
use balcao::store::dynamo::DynamoStore;
use balcao::store::memory::MemoryStore;
use balcao::webhooks::{Delivery, UrlPolicy};
use balcao::workers::webhooks::{DispatchConfig, Dispatcher};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 10 * 1024 * 1024;

pub const DEMO_FIXTURE: &str = include_str!("../fixtures/demo.json");

pub mod demo;
pub mod workers;
pub mod ws;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Embedded,
    /// DynamoDB + SQS at whatever endpoint the AWS SDK is configured for (`AWS_ENDPOINT_URL`).
    Aws {
        table: String,
        moderation_queue: String,
        /// Create the table and queue when missing, and load the demo fixture.
        create: bool,
    },
}

/// A running stack's parts, for tests and the binary.
pub struct Stack {
    pub app: App,
    /// Present with the embedded backend: the in-process queues.
    pub memory_queue: Option<Arc<MemoryQueue>>,
    pub dynamo: Option<DynamoStore>,
    pub sqs: Option<Arc<SqsQueue>>,
    /// Webhook events the workers queued, as the fan-out took them off the queue.
    pub events: Arc<Mutex<Vec<WebhookEvent>>>,
    /// Jobs that failed every attempt (the local stand-in for the queues' DLQs).
    pub dead_letters: Arc<Mutex<Vec<String>>>,
    /// The webhook dispatcher the queue pumps drive.
    pub dispatcher: Arc<Dispatcher>,
    /// SQS URLs by queue (AWS backend).
    pub queue_urls: HashMap<QueueName, String>,
}

impl Stack {
    /// Webhook deliveries that used every attempt, taken off the dead-letter queue.
    pub async fn dead_webhooks(&self) -> Result<Vec<Delivery>, Error> {
        let bodies = match (&self.memory_queue, &self.sqs) {
            (Some(q), _) => q.drain(QueueName::WebhookDeadLetters).await,
            (None, Some(sqs)) => {
                let url = self
                    .queue_urls
                    .get(&QueueName::WebhookDeadLetters)
                    .cloned()
                    .unwrap_or_default();
                workers::take_all(sqs.client(), &url).await?
            }
            (None, None) => Vec::new(),
        };
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(Error::unexpected))
            .collect()
    }
}

/// The local stack's deliveries: plain HTTP and loopback receivers are allowed, so a newcomer can
/// receive on their own machine; private, link-local and metadata addresses still are not.
pub fn local_dispatch() -> DispatchConfig {
    DispatchConfig {
        policy: UrlPolicy::LOCAL,
        ..DispatchConfig::default()
    }
}

pub async fn build(backend: &Backend, clock: Arc<dyn Clock>) -> Result<Stack, Error> {
    build_with(backend, clock, local_dispatch()).await
}

pub async fn build_with(
    backend: &Backend,
    clock: Arc<dyn Clock>,
    dispatch: DispatchConfig,
) -> Result<Stack, Error> {
    let now = clock.now_ms();
    let url_policy = dispatch.policy;
    let fixture = Fixture::parse(DEMO_FIXTURE)?;
    let auth = Auth::local(clock.clone());
    match backend {
        Backend::Embedded => {
            let store = Arc::new(MemoryStore::new());
            fixture.load(store.as_ref(), now).await?;
            let queue = Arc::new(MemoryQueue::new());
            let dispatcher = Arc::new(Dispatcher::new(store.clone(), queue.clone(), dispatch)?);
            let stack = Stack {
                app: App {
                    store,
                    queue: queue.clone(),
                    auth,
                    clock,
                    url_policy,
                    sites: balcao::api::Sites::local(),
                    post_limits: balcao::config::post_limits_from_env()?,
                    live: balcao::realtime::Live::local(Arc::new(LocalSockets::new())).detached(),
                },
                memory_queue: Some(queue.clone()),
                dynamo: None,
                sqs: None,
                events: Arc::default(),
                dead_letters: Arc::default(),
                dispatcher,
                queue_urls: HashMap::new(),
            };
            workers::start_memory(&stack, &queue).await;
            Ok(stack)
        }
        Backend::Aws {
            table,
            moderation_queue,
            create,
        } => {
            let sdk = balcao::config::aws_config().await;
            let store = DynamoStore::new(aws_sdk_dynamodb(&sdk), table.clone());
            let sqs_client = aws_sdk_sqs::Client::new(&sdk);
            let mut urls = HashMap::new();
            let deliveries = format!("{moderation_queue}-webhook-deliveries");
            for (q, name) in [
                (QueueName::Moderation, moderation_queue.clone()),
                (
                    QueueName::WebhookEvents,
                    format!("{moderation_queue}-webhook-events"),
                ),
                (QueueName::WebhookDeliveries, deliveries.clone()),
            ] {
                // Long enough for a delivery's timeout; short for a failed moderation job.
                let visibility = if q == QueueName::Moderation { 5 } else { 60 };
                let url = if *create {
                    workers::create_queue_with_dlq(&sqs_client, &name, visibility).await?
                } else {
                    workers::queue_url(&sqs_client, &name).await?
                };
                urls.insert(q, url);
            }
            // Exhausted deliveries go to the deliveries queue's own DLQ.
            urls.insert(
                QueueName::WebhookDeadLetters,
                workers::queue_url(&sqs_client, &format!("{deliveries}-dlq")).await?,
            );
            if *create {
                if store.table_status().await?.is_none() {
                    store.create_table().await?;
                }
                fixture.load(&store, now).await?;
            }
            let sqs = Arc::new(SqsQueue::new(sqs_client.clone(), urls.clone()));
            let dispatcher = Arc::new(Dispatcher::new(
                Arc::new(store.clone()),
                sqs.clone(),
                dispatch,
            )?);
            let stack = Stack {
                app: App {
                    store: Arc::new(store.clone()),
                    queue: sqs.clone(),
                    auth,
                    clock,
                    url_policy,
                    sites: balcao::api::Sites::local(),
                    post_limits: balcao::config::post_limits_from_env()?,
                    live: balcao::realtime::Live::local(Arc::new(LocalSockets::new())).detached(),
                },
                memory_queue: None,
                dynamo: Some(store),
                sqs: Some(sqs),
                events: Arc::default(),
                dead_letters: Arc::default(),
                dispatcher,
                queue_urls: urls.clone(),
            };
            workers::start_sqs(&stack, sqs_client, urls);
            Ok(stack)
        }
    }
}

fn aws_sdk_dynamodb(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// Which function serves a path: the same split as the API routes in `template.yaml`.
pub fn function_for(path: &str) -> Option<&'static str> {
    if token_create::PATHS.contains(&path.trim_end_matches('/')) {
        Some("token-create")
    } else if path == "/api/sessions" || path == "/api/sessions/audit" {
        Some("impersonate")
    } else if path == "/v0/webhooks" || path.starts_with("/v0/webhooks/") {
        Some("webhooks")
    } else if balcao::api::assets::Bundle::widget().serves(path) {
        Some("assets")
    } else if path == "/v0/conversations"
        || path.starts_with("/v0/conversations/")
        || path == "/v0/customer/conversations"
        || path.starts_with("/v0/customer/conversations/")
    {
        Some("conversations")
    } else {
        None
    }
}

/// One request through the router, as API Gateway would hand it to the function.
pub async fn dispatch(
    app: &App,
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    if demo::serves(req.uri().path()) {
        return demo::handle(app, req).await;
    }
    match function_for(req.uri().path()) {
        Some("assets") => balcao::api::assets::handle(req).await,
        Some("token-create") => token_create::handle(app, req).await,
        Some("webhooks") => webhooks::handle(app, req).await,
        Some("impersonate") => sessions::handle(app, req).await,
        Some(_) => conversations::handle(app, req).await,
        None => finish(Err(Error::NotFound("route".into())), &new_request_id()),
    }
}

/// What API Gateway would record as the caller's address.
fn source_ip(req: &hyper::Request<Incoming>, trust_proxy: bool, peer: SocketAddr) -> String {
    // What API Gateway would record as the source address (audit entries carry it): the
    // connection's peer. A client's X-Forwarded-For is believed only when the stack was told it
    // runs behind a proxy (`--trust-proxy`), and then its last hop, the one the proxy added.
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .next_back()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned);
    match forwarded {
        Some(ip) if trust_proxy => ip,
        _ => peer.ip().to_string(),
    }
}

async fn serve_one(
    app: App,
    trust_proxy: bool,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == ws::PATH {
        let ip = source_ip(&req, trust_proxy, peer);
        return Ok(ws::accept(app, req, ip).await);
    }
    let source_ip = source_ip(&req, trust_proxy, peer);
    let (parts, mut body) = req.into_parts();
    // Read up to our limit; past it keep draining (up to API Gateway's 10 MB) so the client gets
    // the 413 instead of a broken pipe.
    let mut bytes: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_BODY_BYTES {
                bytes.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        return Ok(to_hyper(finish(
            Err(Error::PayloadTooLarge(MAX_BODY_BYTES)),
            &new_request_id(),
        )));
    }
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Binary(bytes)
    };
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip);
    let req = lambda_http::RequestExt::with_request_context(
        lambda_http::Request::from_parts(parts, body),
        lambda_http::request::RequestContext::ApiGatewayV2(context),
    );
    Ok(to_hyper(dispatch(&app, req).await))
}

pub(crate) fn to_hyper(
    res: lambda_http::Response<lambda_http::Body>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = res.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(s) => Bytes::from(s),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, app: App) {
    serve_with(listener, app, false).await
}

/// [`serve`]; with `trust_proxy` the caller's address is the last hop of `X-Forwarded-For`
/// (the stack runs behind a reverse proxy that appends it), not the connection's peer.
pub async fn serve_with(listener: TcpListener, app: App, trust_proxy: bool) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| serve_one(app.clone(), trust_proxy, peer, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

/// Binds `addr` and serves `app` in the background; returns the bound address.
pub async fn spawn(
    addr: SocketAddr,
    app: App,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(listener, app))))
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
