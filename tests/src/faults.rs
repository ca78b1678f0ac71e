//! Fault injection at the SDK's HTTP layer: [`FaultyHttp`] wraps the SDK's own HTTP client and
//! makes one call of an operation fail the way DynamoDB and SQS fail in production, while
//! everything else goes to the real server (moto).
//!
//! A *call* is one SDK invocation (`amz-sdk-invocation-id`): its retries are attempts of the
//! same call, so "step k" means the k-th DynamoDB or SQS call of an operation whatever the
//! retries do. [`Faults::arm`] starts counting calls; [`Faults::inject`] names the step, the
//! fault and how many attempts of that call it hits (`1`: the SDK's retry recovers; `ALWAYS`:
//! every attempt fails).
//!
//! moto ignores `TransactWriteItems`' `ClientRequestToken`, which DynamoDB uses to answer a
//! repeated transaction with the first one's result (the SDK fills the token and keeps it across
//! retries). After a [`Fault::LostResponse`] the wrapper gives that answer itself: the first
//! successful response of a token is replayed to the attempts that repeat it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// DynamoDB `ProvisionedThroughputExceededException`, SQS `RequestThrottled` (400).
    Throttle,
    /// DynamoDB only: a transaction cancelled by a concurrent one (`TransactionCanceledException`
    /// with the reason `TransactionConflict`); any other call, `TransactionConflictException`.
    Conflict,
    /// A 500 (`InternalServerError`, SQS `InternalError`).
    ServerError,
    /// The attempt times out before the request reaches the server.
    Timeout,
    /// The request is applied by the server, then its answer is lost (a read timeout).
    LostResponse,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Throttle,
        Fault::Conflict,
        Fault::ServerError,
        Fault::Timeout,
        Fault::LostResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttled",
            Fault::Conflict => "transaction conflict",
            Fault::ServerError => "500",
            Fault::Timeout => "timeout",
            Fault::LostResponse => "answer lost",
        }
    }
}

/// Every attempt of the call fails.
pub const ALWAYS: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Injection {
    step: usize,
    fault: Fault,
    attempts: u32,
}

#[derive(Debug, Default)]
struct State {
    armed: bool,
    /// Calls since [`Faults::arm`], in order: invocation id and operation (`DynamoDB.GetItem`).
    calls: Vec<(String, String)>,
    injection: Option<Injection>,
    hit: u32,
    /// Transactions whose answer was lost: client request token → whether it was applied.
    lost: HashMap<String, bool>,
    tokens_seen: HashSet<String>,
}

/// The shared plan of a [`FaultyHttp`]; clones see the same state.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<State>>);

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts counting calls from zero, with nothing injected.
    pub fn arm(&self) {
        let mut s = self.state();
        s.armed = true;
        s.calls.clear();
        s.injection = None;
        s.hit = 0;
    }

    /// Fails `attempts` attempts of call `step` (0-based since [`Faults::arm`]) with `fault`.
    pub fn inject(&self, step: usize, fault: Fault, attempts: u32) {
        let mut s = self.state();
        s.injection = Some(Injection {
            step,
            fault,
            attempts,
        });
        s.hit = 0;
    }

    /// Stops counting and injecting.
    pub fn disarm(&self) {
        let mut s = self.state();
        s.armed = false;
        s.injection = None;
    }

    /// The calls made since [`Faults::arm`]: their operations, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state()
            .calls
            .iter()
            .map(|(_, op)| op.clone())
            .collect()
    }

    /// Attempts that failed by injection since the last [`Faults::inject`].
    pub fn hits(&self) -> u32 {
        self.state().hit
    }
}

enum Action {
    Pass,
    Fail(Fault),
    Replay,
}

impl Faults {
    fn decide(&self, invocation: &str, op: &str, token: Option<&str>) -> Action {
        let mut s = self.state();
        if let Some(t) = token {
            if s.lost.get(t) == Some(&true) {
                return Action::Replay;
            }
            s.tokens_seen.insert(t.to_owned());
        }
        if !s.armed {
            return Action::Pass;
        }
        let step = match s.calls.iter().position(|(id, _)| id == invocation) {
            Some(i) => i,
            None => {
                s.calls.push((invocation.to_owned(), op.to_owned()));
                s.calls.len() - 1
            }
        };
        match s.injection {
            Some(inj) if inj.step == step && s.hit < inj.attempts => {
                s.hit += 1;
                Action::Fail(inj.fault)
            }
            _ => Action::Pass,
        }
    }

    fn applied(&self, token: &str) {
        self.state().lost.insert(token.to_owned(), true);
    }
}

/// The SDK's HTTP client with faults injected as [`Faults`] says.
#[derive(Debug)]
pub struct FaultyHttp {
    inner: SharedHttpClient,
    faults: Faults,
}

impl FaultyHttp {
    pub fn new(inner: SharedHttpClient, faults: Faults) -> Self {
        FaultyHttp { inner, faults }
    }
}

impl HttpClient for FaultyHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

fn injected(what: &str) -> BoxError {
    format!("injected fault: {what}").into()
}

/// A JSON error answer as DynamoDB and SQS (JSON protocol) give it.
fn error_response(status: u16, body: serde_json::Value) -> HttpResponse {
    let mut r = HttpResponse::new(
        status.try_into().unwrap_or_else(|_| unreachable!()),
        SdkBody::from(body.to_string()),
    );
    r.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    r
}

fn failure(fault: Fault, op: &str) -> Result<HttpResponse, ConnectorError> {
    let dynamodb = op.starts_with("DynamoDB");
    let ty = |name: &str| {
        if dynamodb {
            format!("com.amazonaws.dynamodb.v20120810#{name}")
        } else {
            format!("com.amazonaws.sqs#{name}")
        }
    };
    let msg = "injected";
    Ok(match fault {
        Fault::Throttle if dynamodb => error_response(
            400,
            serde_json::json!({"__type": ty("ProvisionedThroughputExceededException"), "message": msg}),
        ),
        Fault::Throttle => error_response(
            400,
            serde_json::json!({"__type": ty("RequestThrottled"), "message": msg}),
        ),
        Fault::Conflict if op.ends_with("TransactWriteItems") => error_response(
            400,
            serde_json::json!({
                "__type": ty("TransactionCanceledException"),
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                "CancellationReasons": [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}],
            }),
        ),
        Fault::Conflict => error_response(
            400,
            serde_json::json!({"__type": ty("TransactionConflictException"), "message": msg}),
        ),
        Fault::ServerError => error_response(
            500,
            serde_json::json!({"__type": ty(if dynamodb { "InternalServerError" } else { "InternalError" }), "message": msg}),
        ),
        Fault::Timeout | Fault::LostResponse => {
            return Err(ConnectorError::timeout(injected(fault.name())))
        }
    })
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let header = |name: &str| request.headers().get(name).unwrap_or("").to_owned();
        // `DynamoDB_20120810.GetItem` → `DynamoDB.GetItem`; `AmazonSQS.SendMessage` → `SQS.SendMessage`.
        let target = header("x-amz-target");
        let op = match target.split_once('.') {
            Some((svc, name)) if svc.starts_with("DynamoDB") => format!("DynamoDB.{name}"),
            Some((_, name)) => format!("SQS.{name}"),
            None => target.clone(),
        };
        let invocation = header("amz-sdk-invocation-id");
        let token = op
            .ends_with("TransactWriteItems")
            .then(|| {
                let body: serde_json::Value = request
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_default();
                body["ClientRequestToken"].as_str().map(str::to_owned)
            })
            .flatten();
        match self.faults.decide(&invocation, &op, token.as_deref()) {
            Action::Pass => self.inner.call(request),
            Action::Replay => {
                HttpConnectorFuture::ready(Ok(error_response(200, serde_json::json!({}))))
            }
            Action::Fail(Fault::LostResponse) => {
                let sent = self.inner.call(request);
                let faults = self.faults.clone();
                HttpConnectorFuture::new(async move {
                    let answer = sent.await?;
                    if let (Some(t), true) = (token, answer.status().is_success()) {
                        faults.applied(&t);
                    }
                    Err(ConnectorError::timeout(injected("answer lost")))
                })
            }
            Action::Fail(fault) => HttpConnectorFuture::ready(failure(fault, &op)),
        }
    }
}

/// The DynamoDB and SQS clients of the SDK configuration, with [`FaultyHttp`] in front of its HTTP
/// client and retries as production has them (standard mode, 3 attempts), only quicker (10 ms
/// initial backoff) and with an unlimited retry quota, so that hundreds of injected failures in
/// one process do not empty the bucket later cases retry from.
pub fn faulty_clients(
    sdk: &aws_config::SdkConfig,
    faults: &Faults,
) -> (aws_sdk_dynamodb::Client, aws_sdk_sqs::Client) {
    use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition, TokenBucket};
    let http = FaultyHttp::new(
        sdk.http_client()
            .unwrap_or_else(|| unreachable!("the SDK config has an HTTP client")),
        faults.clone(),
    );
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(10));
    let partition = || {
        RetryPartition::custom("faults")
            .token_bucket(TokenBucket::unlimited())
            .build()
    };
    let http = SharedHttpClient::new(http);
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk)
        .http_client(http.clone())
        .retry_config(retry.clone())
        .retry_partition(partition())
        .build();
    let sqs = aws_sdk_sqs::config::Builder::from(sdk)
        .http_client(http)
        .retry_config(retry)
        .retry_partition(partition())
        .build();
    (
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        aws_sdk_sqs::Client::from_conf(sqs),
    )
}
