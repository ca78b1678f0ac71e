//! The local stand-ins for SQS event source mappings: tasks that take batches off the queues
//! (in-process channels, or real SQS queues when the stack runs against AWS endpoints) and hand
//! them to the same worker handlers the Lambda packages run, with retries and a dead-letter list.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use balcao::error::Error;
use balcao::queue::{MemoryQueue, Queue, QueueName, WebhookEvent};
use balcao::workers::moderation::Moderator;
use balcao::workers::sweeper::Sweeper;
use balcao::workers::webhooks::Dispatcher;
use tokio::sync::Mutex;

use crate::Stack;

/// Attempts before a job is dead-lettered (the template's `maxReceiveCount`).
pub const MAX_ATTEMPTS: u32 = 5;
const BATCH: usize = 10;

fn record(id: String, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id);
    m.body = Some(body);
    m
}

fn batch_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

/// Keeps what the webhook-events queue receives (bounded), until the fan-out takes it over.
async fn keep_event(events: &Mutex<Vec<WebhookEvent>>, body: &str) {
    match serde_json::from_str::<WebhookEvent>(body) {
        Ok(e) => {
            tracing::info!(event_id = %e.id, domain = %e.data.domain, status = %e.data.status, conversation_id = %e.detail.conversation_id, "webhook event queued");
            let mut v = events.lock().await;
            if v.len() >= 10_000 {
                v.remove(0);
            }
            v.push(e);
        }
        Err(e) => tracing::warn!(error = %e, "unreadable webhook event"),
    }
}

/// How often the local stack runs the moderation sweeper (the template runs it every 5 minutes).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The local stand-in for the sweeper's schedule: a task that sweeps every [`SWEEP_EVERY`].
fn start_sweeper(stack: &Stack) {
    let app = &stack.app;
    let sweeper = Sweeper::new(app.store.clone(), app.queue.clone(), app.clock.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = sweeper.run_once().await {
                tracing::error!(error = %balcao::http::ErrorChain(&e), "sweep failed");
            }
        }
    });
}

pub async fn start_memory(stack: &Stack, queue: &Arc<MemoryQueue>) {
    start_sweeper(stack);
    let app = &stack.app;
    let moderator = Arc::new(
        Moderator::new(app.store.clone(), app.queue.clone(), app.clock.clone())
            .with_live(app.live.clone()),
    );
    if let Some(mut rx) = queue.take_receiver(QueueName::Moderation).await {
        let queue = queue.clone();
        let dead = stack.dead_letters.clone();
        tokio::spawn(async move {
            // body -> attempts so far
            let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
            while let Some(first) = rx.recv().await {
                let mut bodies = vec![first];
                while bodies.len() < BATCH {
                    match rx.try_recv() {
                        Ok(b) => bodies.push(b),
                        Err(_) => break,
                    }
                }
                let records = bodies
                    .iter()
                    .enumerate()
                    .map(|(i, b)| record(i.to_string(), b.clone()))
                    .collect();
                let res = moderator.handle_batch(batch_event(records)).await;
                let failed: Vec<usize> = res
                    .batch_item_failures
                    .iter()
                    .filter_map(|f| f.item_identifier.parse().ok())
                    .collect();
                {
                    let mut a = attempts.lock().await;
                    for (i, b) in bodies.iter().enumerate() {
                        if !failed.contains(&i) {
                            a.remove(b);
                        }
                    }
                }
                for i in failed {
                    let body = bodies[i].clone();
                    let n = {
                        let mut a = attempts.lock().await;
                        let n = a.entry(body.clone()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    if n >= MAX_ATTEMPTS {
                        tracing::error!(body = %body, "moderation job dead-lettered after {n} attempts");
                        attempts.lock().await.remove(&body);
                        dead.lock().await.push(body);
                        continue;
                    }
                    let q = queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(n))).await;
                        let _ = q.send(QueueName::Moderation, body).await;
                    });
                }
            }
        });
    }
    for q in [QueueName::WebhookEvents, QueueName::WebhookDeliveries] {
        let Some(mut rx) = queue.take_receiver(q).await else {
            continue;
        };
        let events = stack.events.clone();
        let dead = stack.dead_letters.clone();
        let dispatcher = stack.dispatcher.clone();
        tokio::spawn(async move {
            // As Lambda scales out per batch: each job runs on its own task, so a receiver that
            // hangs holds only its own deliveries (each for at most the attempt timeout), and a
            // shared limit cannot fill up with them.
            while let Some(body) = rx.recv().await {
                if q == QueueName::WebhookEvents {
                    keep_event(&events, &body).await;
                }
                let (dispatcher, dead) = (dispatcher.clone(), dead.clone());
                tokio::spawn(async move {
                    dispatch_memory(&dispatcher, q, body, &dead).await;
                });
            }
        });
    }
}

/// One webhook job from an in-process queue, retried like SQS would on an error, then parked
/// with the dead letters.
async fn dispatch_memory(
    dispatcher: &Dispatcher,
    q: QueueName,
    body: String,
    dead: &Mutex<Vec<String>>,
) {
    for attempt in 1..=MAX_ATTEMPTS {
        match dispatcher.handle_body(&body).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(queue = q.as_str(), attempt, error = %balcao::http::ErrorChain(&e), "webhook job failed");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
        }
    }
    dead.lock().await.push(body);
}

/// A queue's URL by name.
pub async fn queue_url(client: &aws_sdk_sqs::Client, name: &str) -> Result<String, Error> {
    Ok(client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await?
        .queue_url
        .unwrap_or_default())
}

/// Everything on a queue right now, deleted as it is read (tests read dead letters this way).
pub async fn take_all(client: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    loop {
        let got = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(BATCH as i32)
            .wait_time_seconds(0)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return Ok(out);
        }
        for m in got {
            out.push(m.body.clone().unwrap_or_default());
            delete(client, url, m).await;
        }
    }
}

/// Creates a queue and its DLQ (redrive after [`MAX_ATTEMPTS`]); returns the queue URL.
pub async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility_secs: u32,
) -> Result<String, Error> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_ATTEMPTS})
            .to_string();
    let out = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_secs.to_string(),
        )
        .send()
        .await?;
    Ok(out.queue_url.unwrap_or_default())
}

/// One long poll of an SQS queue (an empty batch after a failed call, which is logged).
async fn receive(client: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let received = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(BATCH as i32)
        .wait_time_seconds(1)
        .send()
        .await;
    match received {
        Ok(out) => out.messages.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %balcao::http::ErrorChain(&e), "receive failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Vec::new()
        }
    }
}

/// Acknowledges a processed message.
async fn delete(client: &aws_sdk_sqs::Client, url: &str, m: aws_sdk_sqs::types::Message) {
    if let Some(h) = m.receipt_handle {
        let _ = client
            .delete_message()
            .queue_url(url)
            .receipt_handle(h)
            .send()
            .await;
    }
}

/// Long-polls the SQS queues and runs the workers on what arrives, deleting what succeeded.
pub fn start_sqs(stack: &Stack, client: aws_sdk_sqs::Client, urls: HashMap<QueueName, String>) {
    start_sweeper(stack);
    let app = &stack.app;
    let moderator = Arc::new(
        Moderator::new(app.store.clone(), app.queue.clone(), app.clock.clone())
            .with_live(app.live.clone()),
    );
    if let Some(url) = urls.get(&QueueName::Moderation).cloned() {
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                let msgs = receive(&client, &url).await;
                if msgs.is_empty() {
                    continue;
                }
                let records = msgs
                    .iter()
                    .map(|m| {
                        record(
                            m.message_id.clone().unwrap_or_default(),
                            m.body.clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                let res = moderator.handle_batch(batch_event(records)).await;
                let failed: Vec<String> = res
                    .batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect();
                for m in msgs {
                    // Failed records stay; SQS redelivers them, then moves them to the DLQ.
                    if !failed.contains(&m.message_id.clone().unwrap_or_default()) {
                        delete(&client, &url, m).await;
                    }
                }
            }
        });
    }
    for q in [QueueName::WebhookEvents, QueueName::WebhookDeliveries] {
        let Some(url) = urls.get(&q).cloned() else {
            continue;
        };
        let events = stack.events.clone();
        let dispatcher = stack.dispatcher.clone();
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                for m in receive(&client, &url).await {
                    let body = m.body.clone().unwrap_or_default();
                    if q == QueueName::WebhookEvents {
                        keep_event(&events, &body).await;
                    }
                    let (dispatcher, client, url) =
                        (dispatcher.clone(), client.clone(), url.clone());
                    // Each delivery on its own: a slow receiver holds up nobody else.
                    tokio::spawn(async move {
                        match dispatcher.handle_body(&body).await {
                            Ok(_) => delete(&client, &url, m).await,
                            // Left on the queue: SQS redelivers it, then moves it to the DLQ.
                            Err(e) => {
                                tracing::warn!(queue = q.as_str(), error = %balcao::http::ErrorChain(&e), "webhook job failed")
                            }
                        }
                    });
                }
            }
        });
    }
}
