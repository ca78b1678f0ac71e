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
    lambda_sdk_config_from(env_var)
}

/// An environment variable, when set and not empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
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
    let flag = |name: &str| env(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    builder = builder
        .use_fips(flag("AWS_USE_FIPS_ENDPOINT"))
        .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    Ok(builder.build())
}

/// The endpoint of one AWS service in Lambda mode: `AWS_ENDPOINT_URL` when set, otherwise the
/// service's regional endpoint, `https://{service}.{region}.{suffix}` (`amazonaws.com`,
/// `amazonaws.com.cn` in China, `amazonaws.eu` in the European Sovereign Cloud).
///
/// The SDK's default resolver evaluates the service's endpoint rules against a partition table
/// it parses (JSON and a dozen regular expressions) the first time a client resolves an
/// endpoint, in the cold start or the first invocation; a Lambda function knows its region and
/// calls two services, so it states their endpoints instead. With `AWS_USE_FIPS_ENDPOINT` or
/// `AWS_USE_DUALSTACK_ENDPOINT` set to `true` there is no stated endpoint (`None`) and the SDK's
/// rules choose it; the isolated partitions are reached by setting `AWS_ENDPOINT_URL` (or
/// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`).
#[derive(Debug, Clone)]
pub struct FixedEndpoint(String);

impl FixedEndpoint {
    pub fn of(service: &str, sdk: &aws_types::SdkConfig) -> Result<Option<Self>> {
        Self::from_env(service, sdk, env_var)
    }

    fn from_env(
        service: &str,
        sdk: &aws_types::SdkConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>> {
        let specific = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
        if let Some(url) = env(&specific).or_else(|| sdk.endpoint_url().map(str::to_owned)) {
            return Ok(Some(Self(url)));
        }
        if sdk.use_fips() == Some(true) || sdk.use_dual_stack() == Some(true) {
            return Ok(None);
        }
        let region = sdk
            .region()
            .ok_or_else(|| Error::unexpected_msg("AWS_REGION is not set"))?
            .as_ref();
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else if region.starts_with("eusc-") {
            "amazonaws.eu"
        } else {
            "amazonaws.com"
        };
        Ok(Some(Self(format!("https://{service}.{region}.{suffix}"))))
    }

    pub fn url(&self) -> &str {
        &self.0
    }

    fn endpoint(&self) -> aws_sdk_dynamodb::config::endpoint::Endpoint {
        aws_sdk_dynamodb::config::endpoint::Endpoint::builder()
            .url(self.0.clone())
            .build()
    }
}

impl aws_sdk_dynamodb::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_dynamodb::config::endpoint::Params,
    ) -> aws_sdk_dynamodb::config::endpoint::EndpointFuture<'a> {
        aws_sdk_dynamodb::config::endpoint::EndpointFuture::ready(Ok(self.endpoint()))
    }
}

impl aws_sdk_sqs::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_sqs::config::endpoint::Params,
    ) -> aws_sdk_sqs::config::endpoint::EndpointFuture<'a> {
        aws_sdk_sqs::config::endpoint::EndpointFuture::ready(Ok(self.endpoint()))
    }
}

/// Store, queues and clock of Lambda mode: DynamoDB table `BALCAO_TABLE`, queue URLs
/// `BALCAO_MODERATION_QUEUE_URL`, `BALCAO_WEBHOOK_EVENTS_QUEUE_URL`,
/// `BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL` and `BALCAO_WEBHOOK_DLQ_URL` (each function is given only
/// the ones it sends to; the SQS client is built on the first send).
pub async fn lambda_backend() -> Result<(Arc<DynamoStore>, Arc<SqsQueue>, Arc<dyn Clock>)> {
    let sdk = lambda_sdk_config()?;
    let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(endpoint) = FixedEndpoint::of("dynamodb", &sdk)? {
        dynamodb = dynamodb.endpoint_resolver(endpoint);
    }
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        var("BALCAO_TABLE")?,
    );
    let sqs_endpoint = FixedEndpoint::of("sqs", &sdk)?;
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
    let queue = SqsQueue::lazy(
        move || {
            let mut sqs = aws_sdk_sqs::config::Builder::from(&sdk);
            if let Some(endpoint) = sqs_endpoint.clone() {
                sqs = sqs.endpoint_resolver(endpoint);
            }
            aws_sdk_sqs::Client::from_conf(sqs.build())
        },
        urls,
    );
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

/// The whole `main` of an HTTP function: logging, [`lambda_app`] once per cold start, then
/// API Gateway events served by `handler` (one of the `api::*::handle`) until the process ends.
/// The app lives as long as the process, so it is leaked rather than reference-counted.
pub async fn run_http<H, F>(handler: H) -> std::result::Result<(), lambda_http::Error>
where
    H: Fn(&'static App, lambda_http::Request) -> F,
    F: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send,
{
    init_logging();
    let app: &'static App = Box::leak(Box::new(lambda_app().await?));
    lambda_http::run(lambda_http::service_fn(|req| {
        let response = handler(app, req);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
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

    #[test]
    fn each_service_is_called_at_its_regional_endpoint_unless_one_is_set() {
        let at = |service: &str, pairs: &'static [(&'static str, &'static str)]| {
            let sdk = lambda_sdk_config_from(env_of(pairs)).unwrap();
            FixedEndpoint::from_env(service, &sdk, env_of(pairs))
                .unwrap()
                .map(|e| e.url().to_owned())
                .unwrap_or_else(|| "(the SDK's rules)".into())
        };
        let sp = &[("AWS_REGION", "sa-east-1")];
        assert_eq!(
            at("dynamodb", sp),
            "https://dynamodb.sa-east-1.amazonaws.com"
        );
        assert_eq!(at("sqs", sp), "https://sqs.sa-east-1.amazonaws.com");
        let cn = &[("AWS_REGION", "cn-northwest-1")];
        assert_eq!(at("sqs", cn), "https://sqs.cn-northwest-1.amazonaws.com.cn");
        let eu = &[("AWS_REGION", "eusc-de-east-1")];
        assert_eq!(
            at("dynamodb", eu),
            "https://dynamodb.eusc-de-east-1.amazonaws.eu"
        );
        let any = &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ];
        assert_eq!(at("dynamodb", any), "http://127.0.0.1:5000");
        let both = &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            (
                "AWS_ENDPOINT_URL_SQS",
                "https://sqs-fips.us-east-1.amazonaws.com",
            ),
        ];
        assert_eq!(at("sqs", both), "https://sqs-fips.us-east-1.amazonaws.com");
        assert_eq!(at("dynamodb", both), "http://127.0.0.1:5000");
        // FIPS or dual-stack: no stated endpoint, the SDK's rules (told by the config) decide.
        let rules = "(the SDK's rules)";
        let fips = &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
        ];
        assert_eq!(at("dynamodb", fips), rules);
        assert_eq!(at("sqs", fips), rules);
        let sdk = lambda_sdk_config_from(env_of(fips)).unwrap();
        assert_eq!(
            (sdk.use_fips(), sdk.use_dual_stack()),
            (Some(true), Some(false))
        );
        let dual = &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "TRUE"),
        ];
        assert_eq!(at("dynamodb", dual), rules);
        let sdk = lambda_sdk_config_from(env_of(dual)).unwrap();
        assert_eq!(
            (sdk.use_fips(), sdk.use_dual_stack()),
            (Some(false), Some(true))
        );
        let off = &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_USE_FIPS_ENDPOINT", "false"),
        ];
        assert_eq!(at("sqs", off), "https://sqs.us-east-1.amazonaws.com");
    }

    #[tokio::test]
    async fn the_fixed_endpoint_is_what_the_clients_resolve() {
        use aws_sdk_dynamodb::config::endpoint::{Params, ResolveEndpoint};
        let sdk = lambda_sdk_config_from(env_of(&[("AWS_REGION", "sa-east-1")])).unwrap();
        let fixed = FixedEndpoint::of("dynamodb", &sdk).unwrap().unwrap();
        let params = Params::builder().region("sa-east-1").build().unwrap();
        let ours = fixed.resolve_endpoint(&params).await.unwrap();
        // The SDK's own rules give the same URL for a commercial region.
        let theirs = ResolveEndpoint::resolve_endpoint(
            &aws_sdk_dynamodb::config::endpoint::DefaultResolver::new(),
            &params,
        )
        .await
        .unwrap();
        assert_eq!(ours.url(), theirs.url());
        let params = aws_sdk_sqs::config::endpoint::Params::builder()
            .region("sa-east-1")
            .build()
            .unwrap();
        let sqs = FixedEndpoint::of("sqs", &sdk).unwrap().unwrap();
        let theirs = aws_sdk_sqs::config::endpoint::ResolveEndpoint::resolve_endpoint(
            &aws_sdk_sqs::config::endpoint::DefaultResolver::new(),
            &params,
        )
        .await
        .unwrap();
        let ours = aws_sdk_sqs::config::endpoint::ResolveEndpoint::resolve_endpoint(&sqs, &params)
            .await
            .unwrap();
        assert_eq!(ours.url(), theirs.url());
    }
}
