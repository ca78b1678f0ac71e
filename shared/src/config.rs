//! Lambda-mode configuration, read once per cold start from the environment (which the template
//! fills from SSM / Secrets Manager).

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::EncodingKey;

use crate::api::App;
use crate::auth::{Auth, KeySet};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::queue::{QueueName, SqsQueue};
use crate::store::dynamo::DynamoStore;

fn var(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| Error::unexpected_msg(format!("{name} is not set")))
}

fn json_map(name: &str) -> Result<HashMap<String, String>> {
    serde_json::from_str(&var(name)?)
        .map_err(|_| Error::unexpected_msg(format!("{name} must be a JSON object of kid → key")))
}

/// Seller/operator JWT keys and the visitor token keys from the environment:
/// `BALCAO_JWT_ALG` (HS256 | RS256 | ES256), `BALCAO_JWT_KEYS` (`{"kid": "secret or PEM"}`),
/// `BALCAO_JWT_ISSUER`, `BALCAO_JWT_AUDIENCE`, `BALCAO_VISITOR_KEYS` (`{"kid": "secret"}`),
/// `BALCAO_VISITOR_KID` (the kid that signs new tokens).
pub fn auth_from_env(clock: Arc<dyn Clock>) -> Result<Auth> {
    let visitor = json_map("BALCAO_VISITOR_KEYS")?;
    let kid = var("BALCAO_VISITOR_KID")?;
    let signing = visitor.get(&kid).ok_or_else(|| {
        Error::unexpected_msg("BALCAO_VISITOR_KID names no key of BALCAO_VISITOR_KEYS")
    })?;
    Ok(Auth {
        seller_keys: KeySet::from_config(&var("BALCAO_JWT_ALG")?, &json_map("BALCAO_JWT_KEYS")?)?,
        issuer: var("BALCAO_JWT_ISSUER")?,
        audience: var("BALCAO_JWT_AUDIENCE")?,
        visitor_keys: KeySet::from_config("HS256", &visitor)?,
        visitor_signing: (kid, Arc::new(EncodingKey::from_secret(signing.as_bytes()))),
        clock,
    })
}

/// The AWS SDK configuration: region, credentials and endpoint (`AWS_ENDPOINT_URL`) as the SDK
/// reads them.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Store, queues and clock of Lambda mode: DynamoDB table `BALCAO_TABLE`, queue URLs
/// `BALCAO_MODERATION_QUEUE_URL`, `BALCAO_WEBHOOK_EVENTS_QUEUE_URL`,
/// `BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL` and `BALCAO_WEBHOOK_DLQ_URL` (each function is given only
/// the ones it sends to).
pub async fn lambda_backend() -> Result<(Arc<DynamoStore>, Arc<SqsQueue>, Arc<dyn Clock>)> {
    let sdk = aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), var("BALCAO_TABLE")?);
    let mut urls = HashMap::new();
    for (q, name) in [
        (QueueName::Moderation, "BALCAO_MODERATION_QUEUE_URL"),
        (QueueName::WebhookEvents, "BALCAO_WEBHOOK_EVENTS_QUEUE_URL"),
        (
            QueueName::WebhookDeliveries,
            "BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL",
        ),
        (QueueName::WebhookDeadLetters, "BALCAO_WEBHOOK_DLQ_URL"),
    ] {
        if let Ok(url) = var(name) {
            urls.insert(q, url);
        }
    }
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), urls);
    Ok((Arc::new(store), Arc::new(queue), Arc::new(SystemClock)))
}

/// Everything an HTTP function needs: [`lambda_backend`] plus keys as in [`auth_from_env`].
pub async fn lambda_app() -> Result<App> {
    let (store, queue, clock) = lambda_backend().await?;
    Ok(App {
        store,
        queue,
        auth: auth_from_env(clock.clone())?,
        clock,
        url_policy: crate::webhooks::UrlPolicy::STRICT,
    })
}

/// JSON logs (one object per line, CloudWatch-friendly); `RUST_LOG` sets the level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing::subscriber::set_global_default(log_subscriber(filter, std::io::stdout));
}

/// The log format: one JSON object per line, with the request span's fields (`request_id`,
/// `aws_request_id`) on every line written inside a request.
pub fn log_subscriber<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_writer(writer)
        .finish()
}
