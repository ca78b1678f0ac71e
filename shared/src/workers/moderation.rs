//! The moderation worker: reads a queued message, runs the rules engine with the account's own
//! lists, writes the decision once, and queues the webhook events of that decision.
//!
//! Idempotent under redelivery: a message already decided is left alone; its events are queued
//! again only if the first delivery died between the decision and queueing them
//! (`events_pending`), and then with the same event ids.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::domain::model::MessageKey;
use crate::domain::model::{Conversation, Message, Moderation, ModerationStatus, Side};
use crate::error::{Error, Result};
use crate::moderation::{AccountRules, Engine, FieldFindings, Scratch};
use crate::queue::{send_json, ModerationJob, Queue, QueueName, WebhookEvent};
use crate::realtime::Live;
use crate::store::{Decided, Store};

/// How long an account's own lists are reused before being read again.
const ACCOUNT_RULES_TTL: Duration = Duration::from_secs(60);

pub struct Moderator {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    engine: Engine,
    accounts: Mutex<HashMap<String, (Instant, Arc<AccountRules>)>>,
    live: Live,
}

/// What happened to one job (logged, and asserted by tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Rejected,
    /// Decided before; nothing changed.
    AlreadyDecided,
    /// Decided before, but its events had not been queued: they were now.
    EventsRequeued,
    /// The message does not exist (any more): nothing to do.
    Gone,
}

impl Moderator {
    /// Compiles the rules: done once per cold start.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Moderator {
        Moderator {
            store,
            queue,
            clock,
            engine: Engine::new(),
            accounts: Mutex::new(HashMap::new()),
            live: Live::off(),
        }
    }

    /// Pushes each decision to the open connections allowed to see it.
    pub fn with_live(self, live: Live) -> Moderator {
        Moderator { live, ..self }
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        super::for_each_record(&event, |body| async move {
            self.handle_body(body).await.map(|_| ())
        })
        .await
    }

    pub async fn handle_body(&self, body: &str) -> Result<Outcome> {
        let job: ModerationJob = serde_json::from_str(body).map_err(|e| {
            Error::validation("body", "INVALID_JOB", format!("not a moderation job: {e}"))
        })?;
        let outcome = self.handle(&job).await?;
        tracing::info!(account = %job.account, message_id = %job.message_id, ?outcome, "moderated");
        Ok(outcome)
    }

    pub async fn handle(&self, job: &ModerationJob) -> Result<Outcome> {
        let Some(msg) = self
            .store
            .get_message(MessageKey {
                account: &job.account,
                conversation: &job.conversation_id,
                message: &job.message_id,
            })
            .await?
        else {
            return Ok(Outcome::Gone);
        };
        // Decided before: nothing to do unless its events were never queued.
        if msg.moderation.status != ModerationStatus::WaitingModeration && !msg.events_pending {
            return Ok(Outcome::AlreadyDecided);
        }
        let Some(conv) = self
            .store
            .get_conversation(&job.account, &job.conversation_id)
            .await?
        else {
            return Ok(Outcome::Gone);
        };
        if msg.moderation.status != ModerationStatus::WaitingModeration {
            self.emit(&conv, &msg).await?;
            return Ok(Outcome::EventsRequeued);
        }
        let rules = self.account_rules(&job.account).await?;
        let mut scratch = Scratch::default();
        let mut findings = FieldFindings::default();
        for (field, text) in moderated_fields(&conv, &msg) {
            findings.add(
                &field,
                self.engine.check_with(text, Some(&rules), &mut scratch),
            );
        }
        let approved = findings.is_empty();
        let moderation = Moderation {
            status: if approved {
                ModerationStatus::Approved
            } else {
                ModerationStatus::Rejected
            },
            when_at: Some(self.clock.now_ms()),
            block_rules: findings.block_rules(),
        };
        match self.store.decide_message(&msg, &moderation).await? {
            Decided::Applied => {
                let outcome = if approved { "APPROVED" } else { "REJECTED" };
                crate::metrics::count("MessagesModerated", ("Outcome", outcome), 1);
                for kind in findings.all().kinds() {
                    crate::metrics::count("MessagesBlocked", ("Tag", kind.as_str()), 1);
                }
            }
            Decided::AlreadyDecided => return Ok(Outcome::AlreadyDecided),
            Decided::NotFound => return Ok(Outcome::Gone),
        }
        let decided = Message { moderation, ..msg };
        // Whether this approval is the one that showed the conversation to the seller is written
        // by the store (once, even when two approvals race): read it back.
        let conv = if approved {
            self.store
                .get_conversation(&job.account, &job.conversation_id)
                .await?
                .unwrap_or(conv)
        } else {
            conv
        };
        crate::realtime::publish(
            &self.store,
            &self.live,
            self.clock.now_ms(),
            &conv,
            crate::realtime::Change::Decided(&decided),
        )
        .await;
        self.emit(&conv, &decided).await?;
        Ok(if approved {
            Outcome::Approved
        } else {
            Outcome::Rejected
        })
    }

    async fn account_rules(&self, account: &str) -> Result<Arc<AccountRules>> {
        let mut cache = self.accounts.lock().await;
        if let Some((at, rules)) = cache.get(account) {
            if at.elapsed() < ACCOUNT_RULES_TTL {
                return Ok(rules.clone());
            }
        }
        let settings = self
            .store
            .get_account(account)
            .await?
            .map(|a| a.moderation)
            .unwrap_or_default();
        let rules = Arc::new(AccountRules::new(
            &settings.blocked_words,
            &settings.allowed_domains,
        ));
        cache.insert(account.to_owned(), (Instant::now(), rules.clone()));
        Ok(rules)
    }

    /// Queues the decision's webhook events, then clears `events_pending`.
    async fn emit(&self, conv: &Conversation, msg: &Message) -> Result<()> {
        for e in events_for(conv, msg) {
            send_json(self.queue.as_ref(), QueueName::WebhookEvents, &e).await?;
        }
        self.store.clear_events_pending(msg.key()).await
    }
}

/// Every text of `msg` that a user wrote and the other side reads, with the field it is in.
/// A customer's message also carries the conversation's own text (display name, tags) until the
/// conversation has been shown to the seller: that text is set when the conversation opens and
/// is seen by the seller only with its first approved message, so it is decided with it (and
/// with every later message while none was approved).
pub fn moderated_fields<'a>(conv: &'a Conversation, msg: &'a Message) -> Vec<(String, &'a str)> {
    let mut out = vec![("content".to_owned(), msg.content.as_str())];
    for (i, f) in msg.custom_fields.iter().enumerate() {
        out.push((format!("custom_fields[{i}].name"), f.name.as_str()));
        out.push((format!("custom_fields[{i}].value"), f.value.as_str()));
    }
    for (i, a) in msg.attachments.iter().enumerate() {
        out.push((format!("attachments[{i}]"), a.as_str()));
    }
    // A seller's owner is free text of the seller's; an operator's (impersonation) is the
    // operator's name from the store and an opaque id.
    if msg.sender == Side::Seller {
        if let Some(o) = &msg.owner {
            out.push(("owner.name".to_owned(), o.name.as_str()));
            out.push(("owner.external_id".to_owned(), o.external_id.as_str()));
        }
    }
    if msg.sender == Side::Customer && conv.first_approved_message_id.is_none() {
        if let Some(d) = &conv.display_name {
            out.push(("display_name".to_owned(), d.as_str()));
        }
        for (i, t) in conv.tags.iter().enumerate() {
            out.push((format!("tags[{i}].value"), t.value.as_str()));
        }
    }
    out
}

/// The events a decision produces, for the seller (webhooks go to sellers):
/// - a customer message approved: `message NEW`, and `conversation NEW` the first time the seller
///   can see the conversation, `conversation UPDATED` after that;
/// - a seller message approved: `message UPDATED` and `conversation UPDATED`;
/// - a seller message rejected: `message UPDATED` (its moderation changed);
/// - a customer message rejected: nothing (the seller never sees it).
pub fn events_for(conv: &Conversation, msg: &Message) -> Vec<WebhookEvent> {
    let approved = msg.moderation.status == ModerationStatus::Approved;
    let first_visible = conv.first_approved_message_id.as_deref() == Some(msg.id.as_str());
    let kinds: Vec<(&str, &str)> = match (msg.sender, approved) {
        (Side::Customer, true) => vec![
            ("message", "NEW"),
            (
                "conversation",
                if first_visible { "NEW" } else { "UPDATED" },
            ),
        ],
        (Side::Seller, true) => vec![("message", "UPDATED"), ("conversation", "UPDATED")],
        (Side::Seller, false) => vec![("message", "UPDATED")],
        (Side::Customer, false) => vec![],
    };
    let at = msg.moderation.when_at.unwrap_or(msg.when_at);
    kinds
        .into_iter()
        .map(|(domain, status)| {
            WebhookEvent::about(
                event_id(&msg.id, domain, status),
                conv,
                at,
                (domain, status),
                (domain == "message").then_some(msg.id.as_str()),
            )
        })
        .collect()
}

/// Deterministic: the same decision always yields the same event ids.
fn event_id(message_id: &str, domain: &str, status: &str) -> String {
    let d = Sha256::digest(format!("{message_id}/{domain}/{status}").as_bytes());
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}
