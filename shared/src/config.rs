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

/// The roots of the certificates AWS service endpoints present (see the file's header).
pub const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws-roots.pem");

/// The AWS SDK configuration of Lambda mode, from what Lambda puts in the environment: region
/// (`AWS_REGION`), credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, read when a request is signed) and `AWS_ENDPOINT_URL` when set.
///
/// Unlike [`aws_config`] it reads no profile file and no system trust store: TLS trusts the
/// compiled-in roots of AWS's endpoints ([`AWS_ROOTS_PEM`]), plus the system's when
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` says where they are (an endpoint behind a private CA).
/// Reading the system store was most of a cold start (see the README's cold-start figures).
pub fn lambda_sdk_config() -> Result<aws_types::SdkConfig> {
    lambda_sdk_config_from(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn lambda_sdk_config_from(env: impl Fn(&str) -> Option<String>) -> Result<aws_types::SdkConfig> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};

    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .ok_or_else(|| Error::unexpected_msg("AWS_REGION is not set"))?;
    let system_roots = env("SSL_CERT_FILE").is_some() || env("SSL_CERT_DIR").is_some();
    let trust = TrustStore::empty()
        .with_native_roots(system_roots)
        .with_pem_certificate(AWS_ROOTS_PEM);
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(Error::unexpected)?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    let credentials = aws_credential_types::provider::SharedCredentialsProvider::new(
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    );
    let mut builder = aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region))
        .credentials_provider(credentials)
        .http_client(http)
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .time_source(aws_smithy_async::time::SharedTimeSource::new(
            aws_smithy_async::time::SystemTimeSource::new(),
        ))
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        );
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    Ok(builder.build())
}

/// Store, queues and clock of Lambda mode: DynamoDB table `BALCAO_TABLE`, queue URLs
/// `BALCAO_MODERATION_QUEUE_URL`, `BALCAO_WEBHOOK_EVENTS_QUEUE_URL`,
/// `BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL` and `BALCAO_WEBHOOK_DLQ_URL` (each function is given only
/// the ones it sends to; the SQS client is built on the first send).
pub async fn lambda_backend() -> Result<(Arc<DynamoStore>, Arc<SqsQueue>, Arc<dyn Clock>)> {
    let sdk = lambda_sdk_config()?;
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
    let queue = SqsQueue::lazy(sdk, urls);
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_compiled_in_roots_are_five_certificates() {
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM)
            .collect::<std::result::Result<_, _>>()
            .expect("valid PEM");
        assert_eq!(certs.len(), 5);
        assert!(certs.iter().all(|c| c.len() > 300));
    }

    #[test]
    fn lambda_config_comes_from_the_environment() {
        let sdk = lambda_sdk_config_from(env_of(&[
            ("AWS_REGION", "sa-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("sa-east-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert!(sdk.http_client().is_some() && sdk.credentials_provider().is_some());
        let sdk = lambda_sdk_config_from(env_of(&[("AWS_DEFAULT_REGION", "us-east-2")])).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert_eq!(sdk.endpoint_url(), None);
        assert!(lambda_sdk_config_from(env_of(&[])).is_err());
    }
}
