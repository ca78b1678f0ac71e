//! Lambda-mode configuration, read once per cold start from the environment (which the template
//! fills from SSM / Secrets Manager).

use std::collections::HashMap;
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
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
    // A function that neither issues nor verifies visitor or session tokens (webhooks) is given
    // no visitor key at all: it then verifies none and signs with a throwaway key nobody holds.
    let visitor = match std::env::var("BALCAO_VISITOR_KEYS") {
        Ok(_) => Some(json_map("BALCAO_VISITOR_KEYS")?),
        Err(_) => None,
    };
    let jwt = json_map("BALCAO_JWT_KEYS")?;
    refuse_development_keys(
        jwt.values().chain(visitor.iter().flat_map(|v| v.values())),
        std::env::var("BALCAO_ALLOW_DEVELOPMENT_KEYS").as_deref() == Ok("1"),
    )?;
    let (visitor_keys, visitor_signing) = match visitor {
        Some(visitor) => {
            let kid = var("BALCAO_VISITOR_KID")?;
            let signing = visitor.get(&kid).ok_or_else(|| {
                Error::unexpected_msg("BALCAO_VISITOR_KID names no key of BALCAO_VISITOR_KEYS")
            })?;
            let key = Arc::new(EncodingKey::from_secret(signing.as_bytes()));
            (KeySet::from_config("HS256", &visitor)?, (kid, key))
        }
        None => {
            let mut throwaway = [0u8; 32];
            crate::ids::fill_random(&mut throwaway);
            let key = Arc::new(EncodingKey::from_secret(&throwaway));
            (KeySet::none(), ("none".to_owned(), key))
        }
    };
    Ok(Auth {
        seller_keys: KeySet::from_config(&var("BALCAO_JWT_ALG")?, &jwt)?,
        issuer: var("BALCAO_JWT_ISSUER")?,
        audience: var("BALCAO_JWT_AUDIENCE")?,
        visitor_keys,
        visitor_signing,
        clock,
    })
}

/// Lambda mode does not start with the development secret the README publishes (anyone could
/// sign any token with it), unless `BALCAO_ALLOW_DEVELOPMENT_KEYS=1` says this is a local test.
fn refuse_development_keys<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    allowed: bool,
) -> Result<()> {
    if !allowed
        && keys
            .into_iter()
            .any(|k| k.trim() == crate::auth::LOCAL_DEV_SECRET)
    {
        return Err(Error::unexpected_msg(
            "refusing to start: a configured key is the published development secret \
             (set BALCAO_ALLOW_DEVELOPMENT_KEYS=1 only for local tests)",
        ));
    }
    Ok(())
}

/// The AWS SDK configuration: region, credentials and endpoint (`AWS_ENDPOINT_URL`) as the SDK
/// reads them.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}

/// The SDK's time limits: 3.1 s to connect (just past a lost SYN's 3 s retransmit), 3.5 s per
/// attempt and 7 s per call, retries included. A call that hangs ends as a 503 well within the
/// HTTP functions' 10 s, instead of the function timing out with API Gateway's own answer.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(std::time::Duration::from_millis(3500))
        .operation_timeout(std::time::Duration::from_secs(7))
        .build()
}

/// The roots of the certificates AWS service endpoints present (see the file's header).
pub const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws-roots.pem");

/// The AWS SDK configuration of Lambda mode, from what Lambda puts in the environment: region
/// (`AWS_REGION`), credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, read when a request is signed) and `AWS_ENDPOINT_URL` when set.
///
/// Unlike [`aws_config()`] it reads no profile file and no system trust store: TLS trusts the
/// compiled-in roots of AWS's endpoints ([`AWS_ROOTS_PEM`]), plus the system's when
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` says where they are (an endpoint behind a private CA).
/// Reading the system store was most of a cold start (`bench/results/2026-11-23-coldstart.md`).
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
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    let http = NoThrowawayConnector {
        inner: https,
        load_system_roots: system_roots,
    };
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
        .timeout_config(timeouts());
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    let flag = |name: &str| env(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    builder = builder
        .use_fips(flag("AWS_USE_FIPS_ENDPOINT"))
        .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    Ok(builder.build())
}

/// The SDK's HTTPS client, less the TLS connector it builds and drops when a client is created.
///
/// The SDK's hyper client validates each new service client by building a connector (rustls
/// configuration and root store) and dropping it, so that a system trust store is read at start
/// rather than on the first request; the first request then builds, and caches, the connector it
/// uses. With the roots compiled in that first one warms nothing, so this wrapper skips it unless
/// the system's roots are in use (then it warms the SDK's cache of them). Everything else goes
/// to the SDK's client unchanged.
#[derive(Debug)]
struct NoThrowawayConnector {
    inner: SharedHttpClient,
    load_system_roots: bool,
}

impl HttpClient for NoThrowawayConnector {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        if self.load_system_roots {
            self.inner.validate_base_client_config(components, cfg)
        } else {
            Ok(())
        }
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// `AWS_ENDPOINT_URL_{SERVICE}` (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`): one
/// service's endpoint, over `AWS_ENDPOINT_URL` (which the SDK configuration carries). Otherwise
/// the SDK's endpoint rules choose, from the region and `AWS_USE_FIPS_ENDPOINT` /
/// `AWS_USE_DUALSTACK_ENDPOINT`.
fn service_endpoint(service: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    env(&format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_ascii_uppercase()
    ))
}

/// The DynamoDB client of Lambda mode.
fn dynamodb_client(
    sdk: &aws_types::SdkConfig,
    env: impl Fn(&str) -> Option<String>,
) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = service_endpoint("dynamodb", env) {
        config = config.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// The SQS client of Lambda mode.
fn sqs_client(
    sdk: &aws_types::SdkConfig,
    env: impl Fn(&str) -> Option<String>,
) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(url) = service_endpoint("sqs", env) {
        config = config.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// Store, queues and clock of Lambda mode: DynamoDB table `BALCAO_TABLE`, queue URLs
/// `BALCAO_MODERATION_QUEUE_URL`, `BALCAO_WEBHOOK_EVENTS_QUEUE_URL`,
/// `BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL` and `BALCAO_WEBHOOK_DLQ_URL` (each function is given only
/// the ones it sends to; the SQS client is built on the first send).
pub async fn lambda_backend() -> Result<(Arc<DynamoStore>, Arc<SqsQueue>, Arc<dyn Clock>)> {
    let sdk = lambda_sdk_config()?;
    let store = DynamoStore::new(dynamodb_client(&sdk, env_var), var("BALCAO_TABLE")?);
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
    let queue = SqsQueue::lazy(move || sqs_client(&sdk, env_var), urls);
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
        sites: sites_from_env()?,
        post_limits: post_limits_from_env()?,
        live: live_from_env()?,
    })
}

/// `BALCAO_WS_ENDPOINT`: the WebSocket API stage's management URL
/// (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`) the writers push through; unset,
/// nothing is pushed. `BALCAO_PUSH_BUDGET_MS` (default 250): the longest a push may add to the
/// write it follows.
pub fn live_from_env() -> Result<crate::realtime::Live> {
    let Some(endpoint) = env_var("BALCAO_WS_ENDPOINT") else {
        return Ok(crate::realtime::Live::off());
    };
    let sdk = lambda_sdk_config()?;
    let budget = match env_var("BALCAO_PUSH_BUDGET_MS") {
        None => 250,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|ms| (1..=10_000).contains(ms))
            .ok_or_else(|| {
                Error::unexpected_msg("BALCAO_PUSH_BUDGET_MS must be 1..=10000 milliseconds")
            })?,
    };
    let pusher = crate::realtime::ApiGatewayPusher::new(&sdk, &endpoint);
    Ok(crate::realtime::Live::with(std::sync::Arc::new(pusher))
        .with_budget(std::time::Duration::from_millis(budget)))
}

/// `BALCAO_CUSTOMER_POSTS_PER_MINUTE` and `BALCAO_SELLER_POSTS_PER_MINUTE` (defaults 30 and
/// 300; `0` turns a limit off).
pub fn post_limits_from_env() -> Result<crate::api::PostLimits> {
    let d = crate::api::PostLimits::default();
    let read = |name: &str, default: u32| -> Result<u32> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                Error::unexpected_msg(format!("{name} must be a whole number of messages"))
            }),
            _ => Ok(default),
        }
    };
    Ok(crate::api::PostLimits {
        customer_per_minute: read("BALCAO_CUSTOMER_POSTS_PER_MINUTE", d.customer_per_minute)?,
        seller_per_minute: read("BALCAO_SELLER_POSTS_PER_MINUTE", d.seller_per_minute)?,
    })
}

/// The stores' own hosts (see [`crate::api::Sites`]): `BALCAO_STORE_HOSTS`, a JSON object of
/// host → account, and `BALCAO_STORE_BASE_DOMAIN`; both optional.
pub fn sites_from_env() -> Result<crate::api::Sites> {
    let hosts = match std::env::var("BALCAO_STORE_HOSTS") {
        Ok(v) if !v.trim().is_empty() => serde_json::from_str::<HashMap<String, String>>(&v)
            .map_err(|_| {
                Error::unexpected_msg("BALCAO_STORE_HOSTS must be a JSON object of host → account")
            })?
            .into_iter()
            .map(|(h, a)| (h.trim().trim_end_matches('.').to_ascii_lowercase(), a))
            .collect(),
        _ => HashMap::new(),
    };
    let base_domain = std::env::var("BALCAO_STORE_BASE_DOMAIN")
        .ok()
        .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    Ok(crate::api::Sites { hosts, base_domain })
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

    #[test]
    fn the_published_development_secret_is_refused() {
        let dev = crate::auth::LOCAL_DEV_SECRET.to_owned();
        let other = "a-real-secret-of-at-least-thirty-two-bytes".to_owned();
        assert!(refuse_development_keys([&other, &dev], false).is_err());
        assert!(refuse_development_keys([&format!(" {dev} ")], false).is_err());
        assert!(refuse_development_keys([&other], false).is_ok());
        assert!(refuse_development_keys([&dev], true).is_ok());
    }

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

    /// An HTTP client that counts the validations it is asked for (and connects nowhere); the
    /// test keeps a clone of the counter.
    #[derive(Debug, Default)]
    struct CountingClient(Arc<std::sync::atomic::AtomicUsize>);

    impl HttpClient for CountingClient {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            unreachable!("no request is made")
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> std::result::Result<(), BoxError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn the_throwaway_connector_is_built_only_to_warm_the_system_roots() {
        for system_roots in [false, true] {
            let counting = CountingClient::default();
            let validations = counting.0.clone();
            let wrapped = NoThrowawayConnector {
                inner: SharedHttpClient::new(counting),
                load_system_roots: system_roots,
            };
            // What building a DynamoDB client asks of its HTTP client.
            let sdk = aws_types::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_types::region::Region::new("sa-east-1"))
                .http_client(wrapped)
                .build();
            let _client = aws_sdk_dynamodb::Client::new(&sdk);
            assert_eq!(
                validations.load(std::sync::atomic::Ordering::SeqCst),
                usize::from(system_roots),
                "system roots: {system_roots}"
            );
        }
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
        // The SDK's HTTPS client, wrapped so that no connector is built only to be dropped.
        let http = format!("{:?}", sdk.http_client());
        assert!(
            http.contains("NoThrowawayConnector") && http.contains("load_system_roots: false"),
            "{http}"
        );
        let sdk = lambda_sdk_config_from(env_of(&[("AWS_DEFAULT_REGION", "us-east-2")])).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert_eq!(sdk.endpoint_url(), None);
        assert!(lambda_sdk_config_from(env_of(&[])).is_err());
    }

    #[test]
    fn fips_and_dual_stack_reach_the_sdk_configuration() {
        let flags = |pairs: &'static [(&'static str, &'static str)]| {
            let sdk = lambda_sdk_config_from(env_of(pairs)).unwrap();
            (sdk.use_fips(), sdk.use_dual_stack())
        };
        const REGION: (&str, &str) = ("AWS_REGION", "us-east-1");
        assert_eq!(
            flags(&[REGION, ("AWS_USE_FIPS_ENDPOINT", "true")]),
            (Some(true), Some(false))
        );
        assert_eq!(
            flags(&[REGION, ("AWS_USE_DUALSTACK_ENDPOINT", "TRUE")]),
            (Some(false), Some(true))
        );
        assert_eq!(
            flags(&[REGION, ("AWS_USE_FIPS_ENDPOINT", "false")]),
            (Some(false), Some(false))
        );
    }

    /// A loopback HTTP server that answers every request with a 400 the SDK does not retry and
    /// records each request (head and body, lowercased).
    fn recorder() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    request.push_str(&lower);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                request.push_str(&String::from_utf8_lossy(&body).to_ascii_lowercase());
                log.lock().unwrap().push(request);
                let answer = r#"{"__type":"ValidationException","message":"recorded"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_service_endpoint_overrides_the_common_one_for_its_client_only() {
        let (common, at_common) = recorder();
        let (dynamodb, at_dynamodb) = recorder();
        let env = move |name: &str| match name {
            "AWS_REGION" => Some("sa-east-1".to_owned()),
            "AWS_ENDPOINT_URL" => Some(common.clone()),
            "AWS_ENDPOINT_URL_DYNAMODB" => Some(dynamodb.clone()),
            _ => None,
        };
        let sdk = lambda_sdk_config_from(&env)
            .unwrap()
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        "AKIDTEST", "secret", None, None, "test",
                    ),
                ),
            )
            .build();
        // Both calls fail (the recorder answers 400); what matters is where they went.
        assert!(dynamodb_client(&sdk, &env)
            .list_tables()
            .send()
            .await
            .is_err());
        assert!(sqs_client(&sdk, &env).list_queues().send().await.is_err());
        let at_dynamodb = at_dynamodb.lock().unwrap().clone();
        let at_common = at_common.lock().unwrap().clone();
        assert_eq!(at_dynamodb.len(), 1, "{at_dynamodb:?}");
        assert!(
            at_dynamodb[0].contains("dynamodb_20120810.listtables"),
            "{at_dynamodb:?}"
        );
        assert_eq!(at_common.len(), 1, "{at_common:?}");
        assert!(at_common[0].contains("listqueues"), "{at_common:?}");
    }
}
