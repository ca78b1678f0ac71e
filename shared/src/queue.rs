//! The queue port: moderation jobs now, webhook events later. SQS in Lambda mode; in-process
//! channels in the local stack, drained by the same worker handlers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// New messages waiting for the moderation worker.
    Moderation,
    /// Webhook events waiting to be fanned out to subscriptions.
    WebhookEvents,
    /// One delivery per subscription and event, waiting for the dispatcher (and its retries).
    WebhookDeliveries,
    /// Deliveries that used every attempt, kept to be seen and redriven.
    WebhookDeadLetters,
}

impl QueueName {
    pub const ALL: [QueueName; 4] = [
        QueueName::Moderation,
        QueueName::WebhookEvents,
        QueueName::WebhookDeliveries,
        QueueName::WebhookDeadLetters,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Moderation => "moderation",
            QueueName::WebhookEvents => "webhook-events",
            QueueName::WebhookDeliveries => "webhook-deliveries",
            QueueName::WebhookDeadLetters => "webhook-deliveries-dlq",
        }
    }
}

/// A message waiting for moderation. Small on purpose: the worker reads the message itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationJob {
    pub account: String,
    pub conversation_id: String,
    pub message_id: String,
}

/// Seed `WebhookEvent`, plus the event id, the seller it is for and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Stable for the same decision: a re-queued event keeps its id, so receivers can dedupe.
    pub id: String,
    pub account: String,
    pub seller_id: String,
    pub created_at: String,
    pub data: WebhookEventData,
    pub detail: WebhookEventDetail,
}

impl WebhookEvent {
    /// The event `domain`/`status` (`conversation` or `message`, `NEW` or `UPDATED`) about
    /// `conv`, and about one of its messages for the `message` domain, sent to its seller.
    pub fn about(
        id: String,
        conv: &crate::domain::model::Conversation,
        at: crate::clock::Millis,
        (domain, status): (&str, &str),
        message_id: Option<&str>,
    ) -> WebhookEvent {
        WebhookEvent {
            id,
            account: conv.account.clone(),
            seller_id: conv.seller.id.clone(),
            created_at: crate::clock::format_ms(at),
            data: WebhookEventData {
                domain: domain.into(),
                status: status.into(),
            },
            detail: WebhookEventDetail {
                conversation_id: conv.id.clone(),
                message_id: message_id.map(str::to_owned),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEventData {
    /// `conversation` or `message`.
    pub domain: String,
    /// `NEW` or `UPDATED`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEventDetail {
    pub conversation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, queue: QueueName, body: String) -> Result<()>;
    /// Sends so that the message becomes visible after `delay` (SQS: at most 15 minutes).
    async fn send_delayed(&self, queue: QueueName, body: String, delay: Duration) -> Result<()>;
}

/// SQS's longest message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

pub async fn send_json<T: Serialize + Sync>(q: &dyn Queue, queue: QueueName, v: &T) -> Result<()> {
    q.send(queue, serde_json::to_string(v).map_err(Error::unexpected)?)
        .await
}

/// SQS: one queue URL per logical queue, from configuration.
pub struct SqsQueue {
    client: OnceLock<aws_sdk_sqs::Client>,
    /// Builds the client on first use ([`SqsQueue::lazy`]; [`SqsQueue::new`] gives it at once).
    build: Box<dyn Fn() -> aws_sdk_sqs::Client + Send + Sync>,
    urls: HashMap<QueueName, String>,
    calls: Arc<AtomicU64>,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, urls: HashMap<QueueName, String>) -> Self {
        let given = client.clone();
        Self {
            client: OnceLock::from(client),
            build: Box::new(move || given.clone()),
            urls,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The client is built by `build` on the first send: a function that never sends (or not on
    /// this invocation) does not pay for it at cold start.
    pub fn lazy(
        build: impl Fn() -> aws_sdk_sqs::Client + Send + Sync + 'static,
        urls: HashMap<QueueName, String>,
    ) -> Self {
        Self {
            client: OnceLock::new(),
            build: Box::new(build),
            urls,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        self.client.get_or_init(&self.build)
    }

    /// Creates (or finds) a queue and returns its URL: used by the local stack's `--create` and
    /// by tests.
    pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> Result<String> {
        let out = client.create_queue().queue_name(name).send().await?;
        out.queue_url
            .ok_or_else(|| Error::unexpected_msg("CreateQueue returned no URL"))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueName, body: String) -> Result<()> {
        let url = self
            .urls
            .get(&queue)
            .ok_or_else(|| Error::unexpected_msg(format!("no URL for queue {}", queue.as_str())))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.client()
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await?;
        Ok(())
    }

    async fn send_delayed(&self, queue: QueueName, body: String, delay: Duration) -> Result<()> {
        let url = self
            .urls
            .get(&queue)
            .ok_or_else(|| Error::unexpected_msg(format!("no URL for queue {}", queue.as_str())))?;
        // Whole seconds, rounded up: a retry never comes early.
        let secs = delay.min(MAX_DELAY).as_millis().div_ceil(1000) as i32;
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.client()
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(secs)
            .send()
            .await?;
        Ok(())
    }
}

/// In-process queues for the local stack: an unbounded channel per queue. The receiving halves
/// are taken once by whoever drives the workers.
pub struct MemoryQueue {
    senders: HashMap<QueueName, mpsc::UnboundedSender<String>>,
    receivers: Mutex<HashMap<QueueName, mpsc::UnboundedReceiver<String>>>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryQueue {
    pub fn new() -> Self {
        let mut senders = HashMap::new();
        let mut receivers = HashMap::new();
        for q in QueueName::ALL {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.insert(q, tx);
            receivers.insert(q, rx);
        }
        Self {
            senders,
            receivers: Mutex::new(receivers),
        }
    }

    pub async fn take_receiver(&self, q: QueueName) -> Option<mpsc::UnboundedReceiver<String>> {
        self.receivers.lock().await.remove(&q)
    }

    /// Everything queued so far and not yet taken (tests).
    pub async fn drain(&self, q: QueueName) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(rx) = self.receivers.lock().await.get_mut(&q) {
            while let Ok(m) = rx.try_recv() {
                out.push(m);
            }
        }
        out
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, queue: QueueName, body: String) -> Result<()> {
        let tx = self
            .senders
            .get(&queue)
            .ok_or_else(|| Error::unexpected_msg("unknown queue"))?;
        tx.send(body)
            .map_err(|_| Error::unexpected_msg("local queue closed"))
    }

    async fn send_delayed(&self, queue: QueueName, body: String, delay: Duration) -> Result<()> {
        let tx = self
            .senders
            .get(&queue)
            .ok_or_else(|| Error::unexpected_msg("unknown queue"))?
            .clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay.min(MAX_DELAY)).await;
            let _ = tx.send(body);
        });
        Ok(())
    }
}
