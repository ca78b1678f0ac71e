//! The moderation sweeper: queues again every message that has waited for a decision longer
//! than [`SWEEP_AFTER_MS`]. A message is written with a pending marker in its own transaction
//! and the decision deletes it, so a message whose job was never queued (the queue failed
//! after the write) or was lost is decided in the end. Runs on a schedule (the template's
//! `ModerationSweeperFunction`, every 5 minutes; a task in the local stack). Queueing a job
//! twice is harmless: the worker decides a message once.

use std::sync::Arc;

use crate::clock::{Clock, Millis};
use crate::error::Result;
use crate::queue::{send_json, ModerationJob, Queue, QueueName};
use crate::store::Store;

/// How long a message may wait before the sweeper queues it again.
pub const SWEEP_AFTER_MS: Millis = 2 * 60 * 1000;
/// Markers older than this are left alone (their jobs failed over and over and sit in the
/// moderation DLQ, whose alarm tells on-call): the sweeper does not feed a poison job forever.
pub const GIVE_UP_AFTER_MS: Millis = 24 * 60 * 60 * 1000;
/// Messages queued again in one run at most.
pub const SWEEP_LIMIT: usize = 500;

pub struct Sweeper {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
}

impl Sweeper {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Sweeper {
        Sweeper {
            store,
            queue,
            clock,
        }
    }

    /// One pass: queues every message waiting since before `now - SWEEP_AFTER_MS`, then every
    /// outbox event left as long (deleting its entry once queued; the event keeps its id, so
    /// a receiver that got it already dedupes). A failed send stops the pass (the next run
    /// continues).
    pub async fn run_once(&self) -> Result<Swept> {
        let now = self.clock.now_ms();
        let (from, before) = (now - GIVE_UP_AFTER_MS, now - SWEEP_AFTER_MS);
        let waiting = self.store.list_pending(from, before, SWEEP_LIMIT).await?;
        for p in &waiting {
            let job = ModerationJob {
                account: p.account.clone(),
                conversation_id: p.conversation_id.clone(),
                message_id: p.message_id.clone(),
            };
            send_json(self.queue.as_ref(), QueueName::Moderation, &job).await?;
            tracing::warn!(account = %p.account, message_id = %p.message_id, waited_ms = now - p.when_at, "moderation job queued again by the sweeper");
        }
        if !waiting.is_empty() {
            crate::metrics::count(
                "ModerationRequeued",
                ("By", "sweeper"),
                waiting.len() as u64,
            );
        }
        let left = self.store.list_outbox(from, before, SWEEP_LIMIT).await?;
        for e in &left {
            send_json(self.queue.as_ref(), QueueName::WebhookEvents, &e.event).await?;
            self.store.delete_outbox(e).await?;
            tracing::warn!(account = %e.event.account, event_id = %e.event.id, waited_ms = now - e.written_at, "webhook event queued by the sweeper");
        }
        if !left.is_empty() {
            crate::metrics::count(
                "WebhookEventsRequeued",
                ("By", "sweeper"),
                left.len() as u64,
            );
        }
        Ok(Swept {
            jobs: waiting.len(),
            events: left.len(),
        })
    }
}

/// What one pass queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Moderation jobs queued again.
    pub jobs: usize,
    /// Outbox events queued.
    pub events: usize,
}
