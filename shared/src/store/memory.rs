//! The embedded store: everything in one process, behind one lock. Same semantics as the DynamoDB
//! adapter, checked by the shared contract suite.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::keys::interaction_sort_key;
use super::{
    Added, ContactStore, ConversationFilter, ConversationStore, Created, Decided, Page,
    PageRequest, PendingMessage, RateStore, SessionStore, TenantStore, Viewer, WebhookStore,
};
use crate::clock::Millis;
use crate::domain::model::{
    Account, AppToken, AuditEntry, Contact, Conversation, ConversationStatus, Message, Moderation,
    ModerationStatus, Operator, Seller, Session, Side, Subscription, SubscriptionStatus,
};
use crate::error::Result;

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
    /// account -> entries by id (ids sort by time).
    audit: HashMap<String, BTreeMap<String, AuditEntry>>,
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
    let mut out: Vec<T> = Vec::with_capacity(page.limit + 1);
    let after = page.after.as_deref();
    let mut skipped = 0;
    for (sk, item) in rows {
        if let Some(a) = after {
            if (ascending && sk.as_str() <= a) || (!ascending && sk.as_str() >= a) {
                continue;
            }
        }
        if skipped < page.skip {
            skipped += 1;
            continue;
        }
        out.push(item);
        if out.len() > page.limit {
            break;
        }
    }
    let more = out.len() > page.limit;
    out.truncate(page.limit);
    if page.backward {
        out.reverse();
    }
    Page {
        items: out,
        more,
        resume_after: None,
    }
}

/// The conversation's place in its viewer's list, or `None` when that viewer cannot list it.
pub fn list_sort_key(conv: &Conversation, viewer: &Viewer) -> Option<String> {
    match viewer {
        Viewer::Seller(s) if &conv.seller.id == s => conv
            .last_interaction_at
            .map(|t| interaction_sort_key(t, &conv.id)),
        Viewer::Customer(c) if &conv.customer.id == c => Some(interaction_sort_key(
            conv.last_interaction_at.unwrap_or(conv.created_at),
            &conv.id,
        )),
        _ => None,
    }
}

/// What an approved message does to its conversation. The DynamoDB adapter writes the same
/// change as one update expression.
pub(crate) fn apply_approval(conv: &mut Conversation, msg: &Message, at: Millis) {
    match msg.sender {
        Side::Customer => {
            conv.unread_to_count += 1;
            conv.is_new_to = true;
            conv.status = ConversationStatus::Opened;
        }
        Side::Seller => conv.unread_from_count += 1,
    }
    if conv.first_approved_message_id.is_none() {
        conv.first_approved_message_id = Some(msg.id.clone());
    }
    conv.last_message = Some(msg.minimal());
    conv.last_interaction_at = Some(at);
    conv.updated_at = at;
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn put_account(&self, account: &Account) -> Result<()> {
        let mut s = self.state.lock().await;
        s.accounts.insert(account.id.clone(), account.clone());
        Ok(())
    }
    async fn get_account(&self, id: &str) -> Result<Option<Account>> {
        Ok(self.state.lock().await.accounts.get(id).cloned())
    }
    async fn put_seller(&self, seller: &Seller) -> Result<()> {
        let mut s = self.state.lock().await;
        s.sellers
            .insert((seller.account.clone(), seller.id.clone()), seller.clone());
        Ok(())
    }
    async fn get_seller(&self, account: &str, id: &str) -> Result<Option<Seller>> {
        let s = self.state.lock().await;
        Ok(s.sellers.get(&(account.to_owned(), id.to_owned())).cloned())
    }
    async fn put_app_token(&self, token: &AppToken) -> Result<()> {
        let mut s = self.state.lock().await;
        s.app_tokens.insert(token.hash.clone(), token.clone());
        Ok(())
    }
    async fn get_app_token(&self, hash: &str) -> Result<Option<AppToken>> {
        Ok(self.state.lock().await.app_tokens.get(hash).cloned())
    }
    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let s = self.state.lock().await;
        let mut out: Vec<Account> = s.accounts.values().cloned().collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
    async fn list_sellers(&self, account: &str) -> Result<Vec<Seller>> {
        let s = self.state.lock().await;
        let mut out: Vec<Seller> = s
            .sellers
            .values()
            .filter(|x| x.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
    async fn list_app_tokens(&self, account: &str) -> Result<Vec<AppToken>> {
        let s = self.state.lock().await;
        let mut out: Vec<AppToken> = s
            .app_tokens
            .values()
            .filter(|t| t.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.hash).cmp(&(b.created_at, &b.hash)));
        Ok(out)
    }
    async fn delete_app_token(&self, account: &str, hash: &str) -> Result<bool> {
        let mut s = self.state.lock().await;
        if s.app_tokens.get(hash).is_some_and(|t| t.account == account) {
            s.app_tokens.remove(hash);
            return Ok(true);
        }
        Ok(false)
    }
}

#[async_trait]
impl ContactStore for MemoryStore {
    async fn upsert_contact(
        &self,
        account: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        external_id: Option<&str>,
        now: Millis,
    ) -> Result<Contact> {
        let mut s = self.state.lock().await;
        let key = (account.to_owned(), email.to_owned());
        let c = s.contacts.entry(key).or_insert_with(|| {
            let id = crate::ids::new_id(now);
            Contact {
                account: account.to_owned(),
                external_id: external_id.map(str::to_owned).unwrap_or_else(|| id.clone()),
                id,
                email: email.to_owned(),
                first_name: None,
                last_name: None,
                created_at: now,
            }
        });
        if c.first_name.is_none() {
            c.first_name = first_name.map(str::to_owned);
        }
        if c.last_name.is_none() {
            c.last_name = last_name.map(str::to_owned);
        }
        Ok(c.clone())
    }

    async fn put_contact(&self, contact: &Contact) -> Result<()> {
        let mut s = self.state.lock().await;
        s.contacts.insert(
            (contact.account.clone(), contact.email.clone()),
            contact.clone(),
        );
        Ok(())
    }

    async fn get_contact(&self, account: &str, email: &str) -> Result<Option<Contact>> {
        let s = self.state.lock().await;
        Ok(s.contacts
            .get(&(account.to_owned(), email.to_owned()))
            .cloned())
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn find_topic(
        &self,
        account: &str,
        seller: &str,
        customer: &str,
        product_id: &str,
    ) -> Result<Option<String>> {
        let s = self.state.lock().await;
        let key = (
            account.into(),
            seller.into(),
            customer.into(),
            product_id.into(),
        );
        Ok(s.topics.get(&key).cloned())
    }

    async fn create_conversation(
        &self,
        conv: &Conversation,
        first: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<Created> {
        let mut s = self.state.lock().await;
        let topic = (
            conv.account.clone(),
            conv.seller.id.clone(),
            conv.customer.id.clone(),
            conv.product_id.clone(),
        );
        if let Some(existing) = s.topics.get(&topic) {
            return Ok(Created::TopicExists(existing.clone()));
        }
        let ext_key = first.external_id.as_ref().map(|e| {
            (
                conv.account.clone(),
                first.sender,
                conv.party(first.sender).id.clone(),
                e.clone(),
            )
        });
        if let Some((c, m)) = ext_key.as_ref().and_then(|k| s.external_ids.get(k)) {
            return Ok(Created::DuplicateMessage {
                conversation_id: c.clone(),
                message_id: m.clone(),
            });
        }
        s.topics.insert(topic, conv.id.clone());
        if let Some(k) = ext_key {
            s.external_ids
                .insert(k, (conv.id.clone(), first.id.clone()));
        }
        s.conversations
            .insert((conv.account.clone(), conv.id.clone()), conv.clone());
        s.messages.insert(
            (
                first.account.clone(),
                first.conversation_id.clone(),
                first.id.clone(),
            ),
            first.clone(),
        );
        s.written(first, audit);
        Ok(Created::Created)
    }

    async fn get_conversation(&self, account: &str, id: &str) -> Result<Option<Conversation>> {
        let s = self.state.lock().await;
        Ok(s.conversations
            .get(&(account.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn list_conversations(
        &self,
        account: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>> {
        let s = self.state.lock().await;
        let mut rows: Vec<(String, Conversation)> = s
            .conversations
            .values()
            .filter(|c| c.account == account)
            .filter_map(|c| list_sort_key(c, &filter.viewer).map(|k| (k, c)))
            .filter(|(k, c)| {
                let t = super::keys::sort_key_time(k).unwrap_or(0);
                filter.start.is_none_or(|st| t >= st)
                    && filter.end.is_none_or(|en| t <= en)
                    && filter.status.is_none_or(|st| c.status == st)
                    && filter
                        .from_user_ref_key
                        .as_ref()
                        .is_none_or(|r| &c.customer.external_id == r)
            })
            .map(|(k, c)| (k, c.clone()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        if !filter.ascending {
            rows.reverse();
        }
        Ok(take_page(rows, page, filter.ascending))
    }

    async fn add_message(
        &self,
        msg: &Message,
        sender_id: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<Added> {
        let mut s = self.state.lock().await;
        let conv_key = (msg.account.clone(), msg.conversation_id.clone());
        if !s.conversations.contains_key(&conv_key) {
            return Err(crate::error::Error::NotFound("conversation".into()));
        }
        if let Some(e) = &msg.external_id {
            let k = (
                msg.account.clone(),
                msg.sender,
                sender_id.to_owned(),
                e.clone(),
            );
            if let Some((c, m)) = s.external_ids.get(&k) {
                return Ok(Added::DuplicateMessage {
                    conversation_id: c.clone(),
                    message_id: m.clone(),
                });
            }
            s.external_ids
                .insert(k, (msg.conversation_id.clone(), msg.id.clone()));
        }
        s.messages.insert(
            (
                msg.account.clone(),
                msg.conversation_id.clone(),
                msg.id.clone(),
            ),
            msg.clone(),
        );
        s.written(msg, audit);
        Ok(Added::Added)
    }

    async fn get_message(&self, account: &str, conv: &str, id: &str) -> Result<Option<Message>> {
        let s = self.state.lock().await;
        Ok(s.messages
            .get(&(account.to_owned(), conv.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn list_messages(
        &self,
        account: &str,
        conv: &str,
        viewer: Side,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let s = self.state.lock().await;
        let lo = (account.to_owned(), conv.to_owned(), String::new());
        let rows = s
            .messages
            .range(lo..)
            .take_while(|((a, c, _), _)| a == account && c == conv)
            .filter(|(_, m)| m.visible_to(viewer))
            .map(|((_, _, id), m)| (id.clone(), m.clone()))
            .collect();
        Ok(take_page(rows, page, true))
    }

    async fn mark_read(
        &self,
        account: &str,
        conv: &str,
        side: Side,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let mut s = self.state.lock().await;
        let Some(c) = s
            .conversations
            .get_mut(&(account.to_owned(), conv.to_owned()))
        else {
            return Ok(None);
        };
        match side {
            Side::Seller => {
                c.seller_read_at = Some(now);
                c.unread_to_count = 0;
                c.is_new_to = false;
            }
            Side::Customer => {
                c.customer_read_at = Some(now);
                c.unread_from_count = 0;
            }
        }
        Ok(Some(c.clone()))
    }

    async fn set_status(
        &self,
        account: &str,
        conv: &str,
        status: ConversationStatus,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let mut s = self.state.lock().await;
        let Some(c) = s
            .conversations
            .get_mut(&(account.to_owned(), conv.to_owned()))
        else {
            return Ok(None);
        };
        c.status = status;
        c.updated_at = now;
        Ok(Some(c.clone()))
    }

    async fn decide_message(&self, msg: &Message, moderation: &Moderation) -> Result<Decided> {
        let mut s = self.state.lock().await;
        let mkey = (
            msg.account.clone(),
            msg.conversation_id.clone(),
            msg.id.clone(),
        );
        let ckey = (msg.account.clone(), msg.conversation_id.clone());
        let (Some(stored), true) = (
            s.messages.get(&mkey).cloned(),
            s.conversations.contains_key(&ckey),
        ) else {
            return Ok(Decided::NotFound);
        };
        if stored.moderation.status != ModerationStatus::WaitingModeration {
            return Ok(Decided::AlreadyDecided);
        }
        let mut stored = stored;
        stored.moderation = moderation.clone();
        stored.events_pending = true;
        s.pending.remove(&(
            stored.when_at,
            stored.account.clone(),
            stored.conversation_id.clone(),
            stored.id.clone(),
        ));
        s.messages.insert(mkey, stored.clone());
        if moderation.status == ModerationStatus::Approved {
            let at = moderation.when_at.unwrap_or(stored.when_at);
            if let Some(c) = s.conversations.get_mut(&ckey) {
                apply_approval(c, &stored, at);
            }
        }
        Ok(Decided::Applied)
    }

    async fn list_pending(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<PendingMessage>> {
        let s = self.state.lock().await;
        Ok(s.pending
            .iter()
            .skip_while(|(when, ..)| *when < from)
            .take_while(|(when, ..)| *when < before)
            .take(limit)
            .map(|(when, a, c, id)| PendingMessage {
                account: a.clone(),
                conversation_id: c.clone(),
                message_id: id.clone(),
                when_at: *when,
            })
            .collect())
    }

    async fn clear_events_pending(&self, account: &str, conv: &str, id: &str) -> Result<()> {
        let mut s = self.state.lock().await;
        if let Some(m) = s
            .messages
            .get_mut(&(account.to_owned(), conv.to_owned(), id.to_owned()))
        {
            m.events_pending = false;
        }
        Ok(())
    }
}

#[async_trait]
impl RateStore for MemoryStore {
    async fn take(&self, key: &str, window_ms: Millis, limit: u32, now: Millis) -> Result<bool> {
        let mut s = self.state.lock().await;
        let start = now - now.rem_euclid(window_ms.max(1));
        // Past windows are forgotten (DynamoDB's TTL does the same for the table).
        if s.rates.len() > 4096 {
            s.rates.retain(|(_, w), _| *w >= start);
        }
        let n = s.rates.entry((key.to_owned(), start)).or_default();
        if *n >= limit {
            return Ok(false);
        }
        *n += 1;
        Ok(true)
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn put_subscription(&self, sub: &Subscription) -> Result<()> {
        let mut s = self.state.lock().await;
        let list = s
            .subscriptions
            .entry((sub.account.clone(), sub.seller_id.clone()))
            .or_default();
        match list.iter_mut().find(|x| x.id == sub.id) {
            Some(x) => *x = sub.clone(),
            None => list.push(sub.clone()),
        }
        Ok(())
    }
    async fn list_subscriptions(&self, account: &str, seller: &str) -> Result<Vec<Subscription>> {
        let s = self.state.lock().await;
        Ok(s.subscriptions
            .get(&(account.to_owned(), seller.to_owned()))
            .cloned()
            .unwrap_or_default())
    }
    async fn get_subscription(
        &self,
        account: &str,
        seller: &str,
        id: &str,
    ) -> Result<Option<Subscription>> {
        let s = self.state.lock().await;
        Ok(s.subscriptions
            .get(&(account.to_owned(), seller.to_owned()))
            .and_then(|l| l.iter().find(|x| x.id == id).cloned()))
    }
    async fn add_subscription(&self, sub: &Subscription, max: usize) -> Result<bool> {
        let mut s = self.state.lock().await;
        let list = s
            .subscriptions
            .entry((sub.account.clone(), sub.seller_id.clone()))
            .or_default();
        if list.len() >= max {
            return Ok(false);
        }
        list.push(sub.clone());
        Ok(true)
    }
    async fn delete_subscription(&self, account: &str, seller: &str, id: &str) -> Result<bool> {
        let mut s = self.state.lock().await;
        let Some(list) = s
            .subscriptions
            .get_mut(&(account.to_owned(), seller.to_owned()))
        else {
            return Ok(false);
        };
        let before = list.len();
        list.retain(|x| x.id != id);
        Ok(list.len() < before)
    }
    async fn disable_subscription(
        &self,
        account: &str,
        seller: &str,
        id: &str,
        reason: &str,
    ) -> Result<()> {
        let mut s = self.state.lock().await;
        if let Some(x) = s
            .subscriptions
            .get_mut(&(account.to_owned(), seller.to_owned()))
            .and_then(|l| l.iter_mut().find(|x| x.id == id))
        {
            x.status = SubscriptionStatus::Disabled;
            x.disabled_reason = Some(reason.to_owned());
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_operator(&self, op: &Operator) -> Result<()> {
        let mut s = self.state.lock().await;
        s.operators
            .insert((op.account.clone(), op.email.clone()), op.clone());
        Ok(())
    }
    async fn get_operator(&self, account: &str, email: &str) -> Result<Option<Operator>> {
        let s = self.state.lock().await;
        Ok(s.operators
            .get(&(account.to_owned(), email.to_owned()))
            .cloned())
    }
    async fn list_operators(&self, account: &str) -> Result<Vec<Operator>> {
        let s = self.state.lock().await;
        let mut out: Vec<Operator> = s
            .operators
            .values()
            .filter(|o| o.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(out)
    }
    async fn put_session(&self, session: &Session) -> Result<()> {
        let mut s = self.state.lock().await;
        s.sessions.insert(session.id.clone(), session.clone());
        // What DynamoDB's TTL does for the table: expired sessions do not pile up.
        if s.sessions.len() >= s.sessions_sweep_at.max(SESSION_SWEEP_MIN) {
            let now = s.sessions_now.max(session.created_at);
            s.sessions.retain(|_, x| x.valid_until > now);
            s.sessions_sweep_at = (2 * s.sessions.len()).max(SESSION_SWEEP_MIN);
        }
        Ok(())
    }
    async fn get_session(&self, id: &str, now: Millis) -> Result<Option<Session>> {
        let mut s = self.state.lock().await;
        s.sessions_now = s.sessions_now.max(now);
        Ok(s.sessions.get(id).filter(|x| x.valid_until > now).cloned())
    }
    async fn save_session(
        &self,
        session: &Session,
        audit: &[AuditEntry],
        replaces: Option<&str>,
    ) -> Result<()> {
        // One lock: nobody sees the session without its entries, nor both ids.
        let mut s = self.state.lock().await;
        if let Some(old) = replaces {
            s.sessions.remove(old);
        }
        for e in audit {
            s.add_audit(e);
        }
        drop(s);
        self.put_session(session).await
    }
    async fn list_audit(&self, account: &str, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let s = self.state.lock().await;
        let rows: Vec<(String, AuditEntry)> = s
            .audit
            .get(account)
            .map(|m| {
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(take_page(rows, page, false))
    }
}
