//! The embedded store: everything in one process, behind one lock. Same semantics as the DynamoDB
//! adapter, checked by the shared contract suite.
//!
//! One file per store port, as in the DynamoDB adapter.

mod connections;
mod contacts;
mod conversations;
mod rates;
mod sessions;
mod tenants;
mod webhooks;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{
    Added, ConnectionStore, ContactStore, ConversationFilter, ConversationStore, Created, Decided,
    OutboxEvent, Page, PageCollector, PageRequest, PendingMessage, RateStore, SessionStore,
    TenantStore, WebhookStore,
};
use crate::clock::Millis;
use crate::domain::model::{
    Account, AppToken, AuditEntry, Connection, Contact, Conversation, ConversationStatus, Message,
    MessageKey, Moderation, ModerationStatus, Operator, Seller, Session, Side, Subscription,
    SubscriptionKey, SubscriptionStatus, TopicKey, Viewer,
};
use crate::error::Result;
use crate::queue::WebhookEvent;

type ExtKey = (String, Side, String, String);

#[derive(Default)]
struct State {
    accounts: HashMap<String, Account>,
    sellers: HashMap<(String, String), Seller>,
    app_tokens: HashMap<String, AppToken>,
    contacts: HashMap<(String, String), Contact>,
    conversations: HashMap<(String, String), Conversation>,
    topics: HashMap<(String, String, String, String), String>,
    messages: BTreeMap<(String, String, String), Message>,
    external_ids: HashMap<ExtKey, (String, String)>,
    /// (account, seller) -> subscriptions, oldest first.
    subscriptions: HashMap<(String, String), Vec<Subscription>>,
    operators: HashMap<(String, String), Operator>,
    sessions: HashMap<String, Session>,
    /// The latest time a session read was asked about (the store has no clock of its own).
    sessions_now: Millis,
    /// How many sessions there may be before the expired ones are swept out.
    sessions_sweep_at: usize,
    /// Rate-limit windows: (key, window start) -> uses.
    rates: HashMap<(String, Millis), u32>,
    /// Messages not yet decided: (when_at, account, conversation, id).
    pending: std::collections::BTreeSet<(Millis, String, String, String)>,
    /// Outbox events by (written_at, event id).
    outbox: BTreeMap<(Millis, String), WebhookEvent>,
    /// account -> entries by id (ids sort by time).
    audit: HashMap<String, BTreeMap<String, AuditEntry>>,
    /// Open WebSocket connections by id.
    connections: BTreeMap<String, Connection>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sessions held, expired ones not yet swept included (tests of the eviction).
    pub async fn session_count(&self) -> usize {
        self.state.lock().await.sessions.len()
    }
}

/// Sessions held before the first sweep of expired ones; later sweeps come when the count has
/// doubled since the last, so each write pays O(1) amortised.
const SESSION_SWEEP_MIN: usize = 1024;

impl State {
    /// What goes with every new message: its pending marker and its audit entry.
    fn written(&mut self, msg: &Message, audit: Option<&AuditEntry>) {
        if msg.moderation.status == ModerationStatus::WaitingModeration {
            self.pending.insert((
                msg.when_at,
                msg.account.clone(),
                msg.conversation_id.clone(),
                msg.id.clone(),
            ));
        }
        if let Some(e) = audit {
            self.add_audit(e);
        }
    }

    fn add_audit(&mut self, e: &AuditEntry) {
        self.audit
            .entry(e.account.clone())
            .or_default()
            .insert(e.id.clone(), e.clone());
    }
}

/// Takes a page from items already in list order, each with its sort key.
fn take_page<T>(mut rows: Vec<(String, T)>, page: &PageRequest, ascending: bool) -> Page<T> {
    let ascending = ascending != page.backward;
    if page.backward {
        rows.reverse();
    }
    let after = page.after.as_deref();
    let mut out = PageCollector::new(page);
    for (sk, item) in rows {
        if let Some(a) = after {
            if (ascending && sk.as_str() <= a) || (!ascending && sk.as_str() >= a) {
                continue;
            }
        }
        if !out.offer(item) {
            break;
        }
    }
    out.finish(None)
}
