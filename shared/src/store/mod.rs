//! Store ports, split by capability, and their two adapters: DynamoDB (single table) and the
//! embedded in-process store of the local stack. Both pass the same contract suite
//! (`tests/tests/suite/store_contract.rs`).

pub mod dynamo;
pub mod keys;
pub mod memory;

pub use crate::domain::model::Viewer;

use async_trait::async_trait;

use crate::clock::Millis;
use crate::domain::model::{
    Account, AppToken, AuditEntry, Connection, Contact, Conversation, ConversationStatus, Message,
    MessageKey, Moderation, Operator, Seller, Session, Side, Subscription, SubscriptionKey,
    TopicKey,
};
use crate::error::Result;

/// One page of a list, always in the list's own order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// More items follow in the direction of reading (before the first one when `backward`).
    pub more: bool,
    /// Set when the store stopped reading at its bound of items evaluated for one request
    /// ([`MAX_EVALUATED`]) before the page was full: the sort key to continue after (the page
    /// may then hold fewer than `limit` items, even none, and `more` is true).
    pub resume_after: Option<String>,
}

/// The most items a store evaluates for one page past the ones skipped by offset (hidden
/// messages, filtered conversations), so no caller can make one request read without bound.
pub const MAX_EVALUATED: usize = 1000;

/// Where a page starts: past a cursor (a sort key, exclusive; cheap), or after skipping `skip`
/// matching items. `backward` reads towards the start of the list from the cursor (the
/// `previous` link); the page still comes back in list order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
    pub skip: usize,
    pub backward: bool,
}

/// Gathers one page from rows offered in list order (both adapters use it): skips
/// `page.skip` rows, keeps one past `page.limit` to know whether there is more, and gives a
/// backward page back in list order.
pub(crate) struct PageCollector<'p, T> {
    page: &'p PageRequest,
    skipped: usize,
    rows: Vec<T>,
}

impl<'p, T> PageCollector<'p, T> {
    pub(crate) fn new(page: &'p PageRequest) -> Self {
        PageCollector {
            page,
            skipped: 0,
            rows: Vec::with_capacity(page.limit + 1),
        }
    }

    /// Offers the next row; returns false once the page is full.
    pub(crate) fn offer(&mut self, row: T) -> bool {
        if self.skipped < self.page.skip {
            self.skipped += 1;
        } else {
            self.rows.push(row);
        }
        !self.is_full()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows.len() > self.page.limit
    }

    /// The page; `resume_after` is where a bounded read stopped early (see [`Page`]).
    pub(crate) fn finish(mut self, resume_after: Option<String>) -> Page<T> {
        let more = self.is_full() || resume_after.is_some();
        self.rows.truncate(self.page.limit);
        if self.page.backward {
            self.rows.reverse();
        }
        Page {
            items: self.rows,
            more,
            resume_after,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationFilter {
    pub viewer: Viewer,
    pub status: Option<ConversationStatus>,
    pub from_user_ref_key: Option<String>,
    pub start: Option<Millis>,
    pub end: Option<Millis>,
    pub ascending: bool,
}

/// A message written but not yet decided, as its marker names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingMessage {
    pub account: String,
    pub conversation_id: String,
    pub message_id: String,
    pub when_at: Millis,
}

/// A webhook event written with the change it reports, in the same step, and deleted once it
/// is queued: a send that fails leaves it for the sweeper, which queues it again under the same
/// event id (receivers dedupe by `webhook-id`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxEvent {
    pub written_at: Millis,
    pub event: crate::queue::WebhookEvent,
}

/// What creating a conversation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Created,
    /// The customer already has a conversation with this seller about this product.
    TopicExists(String),
    /// The first message's `external_id` was used before: the earlier message.
    DuplicateMessage {
        conversation_id: String,
        message_id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    Added,
    DuplicateMessage {
        conversation_id: String,
        message_id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// The decision was written (and, when approved, the conversation moved), with
    /// `events_pending` set.
    Applied,
    /// The message had been decided before: nothing changed.
    AlreadyDecided,
    NotFound,
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn put_account(&self, account: &Account) -> Result<()>;
    async fn get_account(&self, id: &str) -> Result<Option<Account>>;
    async fn put_seller(&self, seller: &Seller) -> Result<()>;
    async fn get_seller(&self, account: &str, id: &str) -> Result<Option<Seller>>;
    async fn put_app_token(&self, token: &AppToken) -> Result<()>;
    async fn get_app_token(&self, hash: &str) -> Result<Option<AppToken>>;
    /// Every account, by id (provisioning).
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    /// The account's sellers, by id.
    async fn list_sellers(&self, account: &str) -> Result<Vec<Seller>>;
    /// The account's app tokens (hashes only), oldest first.
    async fn list_app_tokens(&self, account: &str) -> Result<Vec<AppToken>>;
    /// Revokes an app token of `account`; `false`: the account has no such token.
    async fn delete_app_token(&self, account: &str, hash: &str) -> Result<bool>;
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Creates the contact when the e-mail is unknown; otherwise sets each name only where it is
    /// still unknown. Returns the contact as stored.
    async fn upsert_contact(
        &self,
        account: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        external_id: Option<&str>,
        now: Millis,
    ) -> Result<Contact>;
    async fn get_contact(&self, account: &str, email: &str) -> Result<Option<Contact>>;
    /// Writes a contact as given (fixtures and provisioning).
    async fn put_contact(&self, contact: &Contact) -> Result<()>;
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn find_topic(&self, topic: TopicKey<'_>) -> Result<Option<String>>;
    /// Writes the conversation, its topic, its first message, its pending-moderation marker and
    /// (for a message written through an impersonation) its audit entry, atomically.
    async fn create_conversation(
        &self,
        conv: &Conversation,
        first: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<Created>;
    async fn get_conversation(&self, account: &str, id: &str) -> Result<Option<Conversation>>;
    async fn list_conversations(
        &self,
        account: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>>;
    /// Adds a message to an existing conversation, with its pending-moderation marker and audit
    /// entry, atomically; `external_id` is unique per sender.
    async fn add_message(
        &self,
        msg: &Message,
        sender_id: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<Added>;
    async fn get_message(&self, key: MessageKey<'_>) -> Result<Option<Message>>;
    /// Newest last. Only what `viewer` may see.
    async fn list_messages(
        &self,
        account: &str,
        conv: &str,
        viewer: Side,
        page: &PageRequest,
    ) -> Result<Page<Message>>;
    async fn mark_read(
        &self,
        account: &str,
        conv: &str,
        side: Side,
        now: Millis,
    ) -> Result<Option<Conversation>>;
    /// Sets the status of `conv` (as the caller read it) and, with `event`, writes the change's
    /// webhook event to the outbox in the same step (written at `now`). The answer is `conv`
    /// with the change applied (a write racing this one may have moved other fields); `None`:
    /// the conversation is gone.
    async fn set_status(
        &self,
        conv: &Conversation,
        status: ConversationStatus,
        now: Millis,
        event: Option<&crate::queue::WebhookEvent>,
    ) -> Result<Option<Conversation>>;
    /// Writes a moderation decision on `msg` (as read, still waiting) once, atomically with its
    /// effect: approval moves the conversation (counters, `last_message`, `last_interaction_at`,
    /// `is_new_to`; a customer message reopens it). Marks the message `events_pending`.
    async fn decide_message(&self, msg: &Message, moderation: &Moderation) -> Result<Decided>;
    /// The decision's webhook events are queued.
    async fn clear_events_pending(&self, key: MessageKey<'_>) -> Result<()>;
    /// Messages still waiting for a decision written in `[from, before)`, oldest first, at most
    /// `limit` (the sweeper queues them again; a decision deletes the marker).
    async fn list_pending(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<PendingMessage>>;
    /// Outbox events written in `[from, before)`, oldest first, at most `limit`.
    async fn list_outbox(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>>;
    /// The event is queued (a missing entry is fine).
    async fn delete_outbox(&self, entry: &OutboxEvent) -> Result<()>;
}

/// Webhook subscriptions, per account and seller.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Writes a subscription as given (fixtures, tests); not counted against the cap.
    async fn put_subscription(&self, sub: &Subscription) -> Result<()>;
    /// Adds a new subscription unless its seller already holds `max`: checked and written as
    /// one conditional step, so concurrent requests cannot pass the cap. `false`: at the cap.
    async fn add_subscription(&self, sub: &Subscription, max: usize) -> Result<bool>;
    /// Oldest first.
    async fn list_subscriptions(&self, account: &str, seller: &str) -> Result<Vec<Subscription>>;
    async fn get_subscription(&self, key: SubscriptionKey<'_>) -> Result<Option<Subscription>>;
    /// `false`: there was none.
    async fn delete_subscription(&self, key: SubscriptionKey<'_>) -> Result<bool>;
    /// Marks it disabled with a reason (when it still exists).
    async fn disable_subscription(&self, key: SubscriptionKey<'_>, reason: &str) -> Result<()>;
}

/// Operators, sessions and the impersonation audit trail.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn put_operator(&self, op: &Operator) -> Result<()>;
    async fn get_operator(&self, account: &str, email: &str) -> Result<Option<Operator>>;
    /// The account's operators, by e-mail.
    async fn list_operators(&self, account: &str) -> Result<Vec<Operator>>;
    /// Writes the session; it disappears after `valid_until`.
    async fn put_session(&self, session: &Session) -> Result<()>;
    /// `None` when unknown or expired.
    async fn get_session(&self, id: &str, now: Millis) -> Result<Option<Session>>;
    /// Writes the session, the audit entries of what changed in it and, when its id was rotated,
    /// the removal of the old id, as one step (all or nothing).
    async fn save_session(
        &self,
        session: &Session,
        audit: &[AuditEntry],
        replaces: Option<&str>,
    ) -> Result<()>;
    /// Newest first.
    async fn list_audit(&self, account: &str, page: &PageRequest) -> Result<Page<AuditEntry>>;
}

/// Open WebSocket connections (see [`crate::realtime`]).
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Writes the connection; it disappears after `valid_until`.
    async fn put_connection(&self, conn: &Connection) -> Result<()>;
    /// `None` when unknown or past `valid_until`.
    async fn get_connection(&self, id: &str, now: Millis) -> Result<Option<Connection>>;
    /// Removes it (a missing connection is fine).
    async fn delete_connection(&self, id: &str) -> Result<()>;
    /// The viewer's connections in `account` still valid at `now`, by id: one Query.
    async fn connections_of(
        &self,
        account: &str,
        viewer: &Viewer,
        now: Millis,
    ) -> Result<Vec<Connection>>;
}

/// Fixed-window counters for rate limits, shared by every instance of a function.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Counts one use of `key` in the window of `window_ms` that holds `now`; `false` when the
    /// window already had `limit` (then nothing is counted).
    async fn take(&self, key: &str, window_ms: Millis, limit: u32, now: Millis) -> Result<bool>;
}

pub trait Store:
    TenantStore
    + ContactStore
    + ConversationStore
    + WebhookStore
    + SessionStore
    + RateStore
    + ConnectionStore
{
}
impl<
        T: TenantStore
            + ContactStore
            + ConversationStore
            + WebhookStore
            + SessionStore
            + RateStore
            + ConnectionStore,
    > Store for T
{
}

/// The external id uniqueness scope: per account, side and sender.
pub fn sender_id_of(conv: &Conversation, side: Side) -> &str {
    &conv.party(side).id
}

/// The conversation's place in its viewer's list (its sort key there, which is also the list
/// cursor), or `None` when that viewer cannot list it.
pub fn list_sort_key(conv: &Conversation, viewer: &Viewer) -> Option<String> {
    conv.listed_at(viewer)
        .map(|t| keys::interaction_sort_key(t, &conv.id))
}
