//! The webhook dispatcher (`functions/webhook-dispatcher`): takes events off the webhook-events
//! queue and fans each out into one delivery per interested subscription on the deliveries
//! queue; takes deliveries off that queue and POSTs them, signed per Standard Webhooks.
//!
//! Every delivery is its own SQS message, so a slow or failing receiver holds up only its own
//! deliveries; within a batch the deliveries run concurrently. Only a 2xx succeeds. A failure is
//! re-queued with a delay from the schedule; past the schedule the delivery goes to the
//! dead-letter queue with its last error (`attempt` reset, so a redrive starts over). `410 Gone`
//! disables the subscription. An address the policy refuses goes to the dead-letter queue at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::for_each_record;
use crate::domain::model::SubscriptionKey;
use crate::error::{Error, Result};
use crate::metrics;
use crate::queue::{send_json, Queue, QueueName, WebhookEvent};
use crate::store::Store;
use crate::webhooks::{sign, Delivery, Job, UrlPolicy};

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub policy: UrlPolicy,
    /// Per attempt: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Delay before each retry; its length bounds the retries.
    pub schedule: Vec<Duration>,
}

impl Default for DispatchConfig {
    /// Seven attempts over about 45 minutes.
    fn default() -> Self {
        DispatchConfig {
            policy: UrlPolicy::STRICT,
            timeout: Duration::from_secs(5),
            schedule: [5, 30, 120, 600, 900, 900]
                .map(Duration::from_secs)
                .to_vec(),
        }
    }
}

/// What one record came to (for logs and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An event became this many deliveries.
    FannedOut(usize),
    Delivered {
        status: u16,
    },
    /// The receiver answered 410: the subscription is disabled.
    Disabled,
    Retried {
        attempt: u32,
        delay: Duration,
        error: String,
    },
    DeadLettered {
        error: String,
    },
    /// The subscription is gone or disabled: nothing to send.
    Dropped,
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    http: reqwest::Client,
    config: DispatchConfig,
}

/// The address a delivery would reach is not allowed.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to addresses deliveries may not reach",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

/// Resolves receiver host names and keeps only the addresses the policy allows, so the check
/// holds for the address actually connected to (no rebinding between check and connect).
struct GuardedResolver(UrlPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| policy.ip_allowed(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<Refused>() {
            return true;
        }
        cur = err.source();
    }
    false
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        config: DispatchConfig,
    ) -> Result<Dispatcher> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A proxy from the environment would connect for us, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(config.policy)))
            .user_agent(concat!("Balcao-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::unexpected)?;
        Ok(Dispatcher {
            store,
            queue,
            http,
            config,
        })
    }

    /// One SQS batch; the records run concurrently, and only the failed ones are reported.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        for_each_record(&event, |body| async move {
            self.handle_body(body).await.map(|_| ())
        })
        .await
    }

    /// One record's body: an event to fan out or a delivery to make.
    pub async fn handle_body(&self, body: &str) -> Result<Outcome> {
        let job: Job = serde_json::from_str(body)
            .map_err(|e| Error::validation("body", "INVALID", format!("not a webhook job: {e}")))?;
        match job {
            Job::Event(e) => self.fan_out(e).await,
            Job::Delivery(d) => self.deliver(d).await,
        }
    }

    async fn fan_out(&self, event: WebhookEvent) -> Result<Outcome> {
        let subs = self
            .store
            .list_subscriptions(&event.account, &event.seller_id)
            .await?;
        let mut n = 0;
        for sub in subs.iter().filter(|s| s.wants(&event.data.domain)) {
            let d = Delivery {
                subscription_id: sub.id.clone(),
                attempt: 0,
                event: event.clone(),
                last_error: None,
            };
            send_json(self.queue.as_ref(), QueueName::WebhookDeliveries, &d).await?;
            n += 1;
        }
        tracing::info!(event_id = %event.id, deliveries = n, "webhook event fanned out");
        Ok(Outcome::FannedOut(n))
    }

    async fn deliver(&self, d: Delivery) -> Result<Outcome> {
        let e = &d.event;
        let Some(sub) = self
            .store
            .get_subscription(SubscriptionKey {
                account: &e.account,
                seller: &e.seller_id,
                id: &d.subscription_id,
            })
            .await?
            .filter(|s| s.wants(&e.data.domain))
        else {
            return Ok(Outcome::Dropped);
        };
        // The URL as the HTTP client reads it (scheme, literal addresses in any spelling); host
        // names are checked as they resolve.
        let url = match self.config.policy.check_url(&sub.url) {
            Ok(url) => url,
            Err(why) => return self.dead_letter(d, format!("address refused: {why}")).await,
        };
        let body = serde_json::to_string(e).map_err(Error::unexpected)?;
        // The signing time is the real time of this attempt, whatever clock the app runs on.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let signature = sign(&sub.secret, &e.id, timestamp, &body)?;
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &e.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let error = match sent {
            Ok(res) if res.status().is_success() => {
                let status = res.status().as_u16();
                tracing::info!(event_id = %e.id, subscription_id = %sub.id, status, attempt = d.attempt + 1, "webhook delivered");
                metrics::count("WebhookAttempts", ("Outcome", "DELIVERED"), 1);
                return Ok(Outcome::Delivered { status });
            }
            Ok(res) if res.status() == reqwest::StatusCode::GONE => {
                self.store
                    .disable_subscription(
                        SubscriptionKey {
                            account: &e.account,
                            seller: &e.seller_id,
                            id: &sub.id,
                        },
                        "the receiver answered 410 Gone",
                    )
                    .await?;
                tracing::warn!(subscription_id = %sub.id, "webhook subscription disabled: 410 Gone");
                metrics::count("WebhookAttempts", ("Outcome", "GONE"), 1);
                return Ok(Outcome::Disabled);
            }
            Ok(res) => format!("HTTP {}", res.status().as_u16()),
            Err(err) if refused(&err) => {
                return self.dead_letter(d, format!("address refused: {err}")).await;
            }
            Err(err) if err.is_timeout() => {
                format!("no answer within {} ms", self.config.timeout.as_millis())
            }
            Err(err) => format!("{}", crate::http::ErrorChain(&err)),
        };
        self.retry(d, error).await
    }

    async fn retry(&self, d: Delivery, error: String) -> Result<Outcome> {
        metrics::count("WebhookAttempts", ("Outcome", "FAILED"), 1);
        let Some(&delay) = self.config.schedule.get(d.attempt as usize) else {
            return self.dead_letter(d, error).await;
        };
        let next = Delivery {
            attempt: d.attempt + 1,
            last_error: Some(error.clone()),
            ..d
        };
        tracing::warn!(event_id = %next.event.id, subscription_id = %next.subscription_id, attempt = next.attempt, error = %error, "webhook delivery failed; retrying");
        let body = serde_json::to_string(&next).map_err(Error::unexpected)?;
        self.queue
            .send_delayed(QueueName::WebhookDeliveries, body, delay)
            .await?;
        Ok(Outcome::Retried {
            attempt: next.attempt,
            delay,
            error,
        })
    }

    async fn dead_letter(&self, d: Delivery, error: String) -> Result<Outcome> {
        let why = if error.starts_with("address refused") {
            "REFUSED"
        } else {
            "EXHAUSTED"
        };
        metrics::count("WebhookDeadLettered", ("Reason", why), 1);
        tracing::error!(event_id = %d.event.id, subscription_id = %d.subscription_id, attempts = d.attempt + 1, error = %error, "webhook delivery dead-lettered");
        let dead = Delivery {
            attempt: 0,
            last_error: Some(format!("{error} (after {} attempts)", d.attempt + 1)),
            ..d
        };
        send_json(self.queue.as_ref(), QueueName::WebhookDeadLetters, &dead).await?;
        Ok(Outcome::DeadLettered { error })
    }
}
