//! Stored records. Field names follow seed `002_…` wherever the record shows on the wire; the
//! rendering into the wire shapes is in [`crate::domain::view`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    Starter,
    Professional,
    Enterprise,
}

impl Tier {
    /// Visitor identification is a Professional/Enterprise feature (seed `001_…`).
    pub fn allows_visitor_identification(self) -> bool {
        matches!(self, Tier::Professional | Tier::Enterprise)
    }
}

/// One store / sales channel: the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    pub moderation: ModerationSettings,
}

/// What an account adds to the moderation rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationSettings {
    /// Words blocked as offensive on top of the built-in list.
    #[serde(default)]
    pub blocked_words: Vec<String>,
    /// Link domains allowed (with their subdomains), e.g. the store's own site.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seller {
    pub account: String,
    pub id: String,
    pub name: String,
}

/// A private app token of a store backend. Only the SHA-256 of the token is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppToken {
    pub hash: String,
    pub account: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Millis,
}

/// A store admin user. The *Televendas* permission lets them act as a customer; an account admin
/// reads the impersonation audit trail. Neither can be impersonated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub account: String,
    /// Lowercase.
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub televendas: bool,
    #[serde(default)]
    pub admin: bool,
}

/// The opaque id a seller sees for an operator who wrote as a customer (`owner.external_id`):
/// stable per account and operator, and not the operator's e-mail.
pub fn operator_ref(account: &str, email: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("operator/{account}/{email}").as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("op_{hex}")
}

/// A VTEX-style session, kept server-side; the cookie carries only a signed id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub account: String,
    /// The `public` namespace as the client set it (key → value).
    #[serde(default)]
    pub public: std::collections::BTreeMap<String, String>,
    /// `authentication.adminUserEmail`: only ever from a verified operator credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_user_email: Option<String>,
    /// The impersonated e-mail the transform last ran on (it runs when this changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonation_input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonation: Option<Impersonation>,
    pub created_at: Millis,
    /// Until when the session holds (the table's TTL attribute is derived from it).
    pub valid_until: Millis,
}

/// An operator acting as a customer, inside one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impersonation {
    pub operator_email: String,
    pub operator_name: String,
    pub customer_id: String,
    pub customer_email: String,
    pub started_at: Millis,
}

/// What an audit entry records (see [`crate::api::impersonation`] for the state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    Start,
    Switch,
    Stop,
    Refused,
    Expired,
    Revoked,
    /// A message written while impersonating.
    Message,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Start => "START",
            AuditAction::Switch => "SWITCH",
            AuditAction::Stop => "STOP",
            AuditAction::Refused => "REFUSED",
            AuditAction::Expired => "EXPIRED",
            AuditAction::Revoked => "REVOKED",
            AuditAction::Message => "MESSAGE",
        }
    }
}

/// One line of the impersonation audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub account: String,
    pub at: Millis,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// A seller's webhook subscription. The signing secret is kept as issued: delivery must sign
/// with it (Standard Webhooks is a shared-secret HMAC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub account: String,
    pub seller_id: String,
    pub url: String,
    /// `conversation`, `message`: the event domains delivered.
    pub domains: Vec<String>,
    pub secret: String,
    pub status: SubscriptionStatus,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubscriptionStatus {
    Active,
    /// The receiver answered `410 Gone`: nothing more is sent.
    Disabled,
}

impl SubscriptionStatus {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "ACTIVE",
            SubscriptionStatus::Disabled => "DISABLED",
        }
    }
}

impl Subscription {
    pub fn wants(&self, domain: &str) -> bool {
        self.status == SubscriptionStatus::Active && self.domains.iter().any(|d| d == domain)
    }
}

/// A known customer of an account, keyed by e-mail (lowercase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub account: String,
    pub id: String,
    pub email: String,
    /// The store's own reference for the customer (`ref_key`); the contact id when none is known.
    pub external_id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    pub created_at: Millis,
}

impl Contact {
    /// The name a seller sees: the contact's names, or — when there are none, or they carry an
    /// e-mail, a phone, a document or anything else moderation would block — a neutral label,
    /// `Cliente` and a short suffix stable for the contact ([`Contact::neutral_name`]).
    pub fn full_name(&self) -> String {
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let name = parts.join(" ");
        let shows_contact =
            name.contains('@') || !crate::moderation::engine().check(&name, None).is_empty();
        if name.is_empty() || shows_contact {
            self.neutral_name()
        } else {
            name
        }
    }

    /// `Cliente` and four hex digits derived from the account and contact id.
    pub fn neutral_name(&self) -> String {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!("contact/{}/{}", self.account, self.id).as_bytes());
        format!("Cliente {:02X}{:02X}", d[0], d[1])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    Customer,
    Seller,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Customer => Side::Seller,
            Side::Seller => Side::Customer,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Customer => "CUSTOMER",
            Side::Seller => "SELLER",
        }
    }
}

/// One side of a conversation as it is shown in `from_user` / `to_user`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub external_id: String,
    pub full_name: String,
}

/// Seed `Owner`: who physically wrote (a seller's employee, an integration, an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub name: String,
    pub external_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversationStatus {
    Opened,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Opened => "OPENED",
            ConversationStatus::Closed => "CLOSED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModerationStatus {
    NotModerated,
    WaitingModeration,
    Rejected,
    Approved,
}

impl ModerationStatus {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationStatus::NotModerated => "NOT_MODERATED",
            ModerationStatus::WaitingModeration => "WAITING_MODERATION",
            ModerationStatus::Rejected => "REJECTED",
            ModerationStatus::Approved => "APPROVED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRule {
    pub reason: String,
    pub tags: Vec<String>,
    /// Where the finding was (wire extension): `content`, `custom_fields[0].value`,
    /// `attachments[1]`, `owner.name`, `display_name`, `tags[1].value`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moderation {
    pub status: ModerationStatus,
    #[serde(default)]
    pub when_at: Option<Millis>,
    #[serde(default)]
    pub block_rules: Vec<BlockRule>,
}

/// How the customer was identified when the conversation started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdentifiedVia {
    VisitorIdentification,
    Impersonation,
}

/// The part of the last approved message a conversation carries (seed `MinimalMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastMessage {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub sender: Side,
    #[serde(default)]
    pub owner: Option<Owner>,
    pub content: String,
    pub when_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub account: String,
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub seller: Party,
    pub customer: Party,
    pub identified_via: IdentifiedVia,
    pub product_id: String,
    pub tags: Vec<Tag>,
    pub status: ConversationStatus,
    /// Approved seller messages the customer has not read.
    pub unread_from_count: i64,
    /// Approved customer messages the seller has not read.
    pub unread_to_count: i64,
    pub is_new_to: bool,
    #[serde(default)]
    pub last_message: Option<LastMessage>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Moves only when a message is approved; absent until then (the seller cannot see the
    /// conversation before its first approved message).
    #[serde(default)]
    pub last_interaction_at: Option<Millis>,
    #[serde(default)]
    pub seller_read_at: Option<Millis>,
    #[serde(default)]
    pub customer_read_at: Option<Millis>,
    /// The message whose approval first showed the conversation to the seller (written once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_approved_message_id: Option<String>,
}

/// Where a message is: its account, conversation and id, by name, so that a store call cannot
/// take the three ids in the wrong order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKey<'a> {
    pub account: &'a str,
    pub conversation: &'a str,
    pub message: &'a str,
}

/// One customer's conversation with one seller about one product (unique per account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicKey<'a> {
    pub account: &'a str,
    pub seller: &'a str,
    pub customer: &'a str,
    pub product: &'a str,
}

/// Where a webhook subscription is: its account, seller and id, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionKey<'a> {
    pub account: &'a str,
    pub seller: &'a str,
    pub id: &'a str,
}

impl Message {
    /// This message's [`MessageKey`].
    pub fn key(&self) -> MessageKey<'_> {
        MessageKey {
            account: &self.account,
            conversation: &self.conversation_id,
            message: &self.id,
        }
    }
}

/// An open WebSocket connection of a seller or a customer (API Gateway's connection id, or the
/// local stack's): who it is, proven at `$connect`, and until when that proof holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub account: String,
    pub viewer: Viewer,
    /// Set when the customer is an impersonation: the session it came in, checked again before
    /// every frame (an operator who stops impersonating stops receiving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub connected_at: Millis,
    /// The credential's expiry, at most two hours after connecting (API Gateway's own limit).
    pub valid_until: Millis,
}

impl Connection {
    /// The side of the conversation the connection watches.
    pub fn side(&self) -> Side {
        match self.viewer {
            Viewer::Seller(_) => Side::Seller,
            Viewer::Customer(_) => Side::Customer,
        }
    }
}

/// Whose list of conversations is read: a seller's or a customer's, by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "side", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Viewer {
    Seller(String),
    Customer(String),
}

impl Viewer {
    /// Who of `conv` this viewer is, if either: its seller or its customer.
    pub fn side_in(&self, conv: &Conversation) -> Option<Side> {
        match self {
            Viewer::Seller(s) if &conv.seller.id == s => Some(Side::Seller),
            Viewer::Customer(c) if &conv.customer.id == c => Some(Side::Customer),
            _ => None,
        }
    }

    /// The viewer of `conv` on `side`.
    pub fn of(conv: &Conversation, side: Side) -> Viewer {
        match side {
            Side::Seller => Viewer::Seller(conv.seller.id.clone()),
            Side::Customer => Viewer::Customer(conv.customer.id.clone()),
        }
    }
}

impl Conversation {
    /// The topic this conversation is the one conversation of.
    pub fn topic(&self) -> TopicKey<'_> {
        TopicKey {
            account: &self.account,
            seller: &self.seller.id,
            customer: &self.customer.id,
            product: &self.product_id,
        }
    }

    /// When the conversation sits in its viewer's list, or `None` when that viewer cannot list
    /// it: a seller lists it from its first approved message on (ordered by last interaction),
    /// its customer from its creation.
    pub fn listed_at(&self, viewer: &Viewer) -> Option<Millis> {
        match viewer {
            Viewer::Seller(s) if &self.seller.id == s => self.last_interaction_at,
            Viewer::Customer(c) if &self.customer.id == c => {
                Some(self.last_interaction_at.unwrap_or(self.created_at))
            }
            _ => None,
        }
    }

    /// What an approved message does to its conversation: the other side's unread count, the
    /// seller's "new" flag and reopening for a customer message, the first approved message,
    /// the last message and the interaction time. The DynamoDB adapter writes the same change as
    /// one update expression (the store contract tests hold the two together).
    pub fn apply_approval(&mut self, msg: &Message, at: Millis) {
        match msg.sender {
            Side::Customer => {
                self.unread_to_count += 1;
                self.is_new_to = true;
                self.status = ConversationStatus::Opened;
            }
            Side::Seller => self.unread_from_count += 1,
        }
        if self.first_approved_message_id.is_none() {
            self.first_approved_message_id = Some(msg.id.clone());
        }
        self.last_message = Some(msg.minimal());
        self.last_interaction_at = Some(at);
        self.updated_at = at;
    }

    /// `side` has read the conversation at `now`: its unread count is cleared (and for the
    /// seller the "new" flag).
    pub fn mark_read(&mut self, side: Side, now: Millis) {
        match side {
            Side::Seller => {
                self.seller_read_at = Some(now);
                self.unread_to_count = 0;
                self.is_new_to = false;
            }
            Side::Customer => {
                self.customer_read_at = Some(now);
                self.unread_from_count = 0;
            }
        }
    }

    /// A new open conversation about a product: no counters, not yet visible to the seller.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        account: &str,
        id: String,
        seller: Party,
        customer: Party,
        identified_via: IdentifiedVia,
        product_id: String,
        tags: Vec<Tag>,
        now: Millis,
    ) -> Conversation {
        Conversation {
            account: account.to_owned(),
            id,
            display_name: None,
            seller,
            customer,
            identified_via,
            product_id,
            tags,
            status: ConversationStatus::Opened,
            unread_from_count: 0,
            unread_to_count: 0,
            is_new_to: false,
            last_message: None,
            created_at: now,
            updated_at: now,
            last_interaction_at: None,
            seller_read_at: None,
            customer_read_at: None,
            first_approved_message_id: None,
        }
    }

    pub fn party(&self, side: Side) -> &Party {
        match side {
            Side::Customer => &self.customer,
            Side::Seller => &self.seller,
        }
    }

    pub fn read_at(&self, side: Side) -> Option<Millis> {
        match side {
            Side::Customer => self.customer_read_at,
            Side::Seller => self.seller_read_at,
        }
    }

    /// The seller sees a conversation once something in it was approved.
    pub fn visible_to(&self, side: Side) -> bool {
        side == Side::Customer || self.last_interaction_at.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub account: String,
    pub conversation_id: String,
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub sender: Side,
    #[serde(default)]
    pub owner: Option<Owner>,
    pub content: String,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub moderation: Moderation,
    pub when_at: Millis,
    /// Set with the moderation decision, cleared once its webhook events are queued: a redelivered
    /// job re-queues them only while this is set (the outbox of the decision).
    #[serde(default)]
    pub events_pending: bool,
}

impl Message {
    /// A new message of `conv`, waiting for moderation.
    pub fn waiting(
        conv: &Conversation,
        id: String,
        sender: Side,
        content: String,
        now: Millis,
    ) -> Message {
        Message {
            account: conv.account.clone(),
            conversation_id: conv.id.clone(),
            id,
            external_id: None,
            sender,
            owner: None,
            content,
            attachments: Vec::new(),
            custom_fields: Vec::new(),
            metadata: BTreeMap::new(),
            moderation: Moderation {
                status: ModerationStatus::WaitingModeration,
                when_at: None,
                block_rules: Vec::new(),
            },
            when_at: now,
            events_pending: false,
        }
    }

    /// The sender always sees its message; the recipient only once it is approved.
    pub fn visible_to(&self, side: Side) -> bool {
        self.sender == side || self.moderation.status == ModerationStatus::Approved
    }

    pub fn minimal(&self) -> LastMessage {
        LastMessage {
            id: self.id.clone(),
            external_id: self.external_id.clone(),
            sender: self.sender,
            owner: self.owner.clone(),
            content: self.content.clone(),
            when_at: self.when_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stores write statuses with `as_str` and read them back with serde: one spelling.
    #[test]
    fn status_strings_are_their_serde_names() {
        let json = |v: &dyn erased::Ser| v.json();
        for st in [
            ModerationStatus::NotModerated,
            ModerationStatus::WaitingModeration,
            ModerationStatus::Rejected,
            ModerationStatus::Approved,
        ] {
            assert_eq!(json(&st), format!("\"{}\"", st.as_str()));
        }
        for st in [ConversationStatus::Opened, ConversationStatus::Closed] {
            assert_eq!(json(&st), format!("\"{}\"", st.as_str()));
        }
        for st in [SubscriptionStatus::Active, SubscriptionStatus::Disabled] {
            assert_eq!(json(&st), format!("\"{}\"", st.as_str()));
        }
        use AuditAction::*;
        for a in [Start, Switch, Stop, Refused, Expired, Revoked, Message] {
            assert_eq!(json(&a), format!("\"{}\"", a.as_str()));
        }
        for side in [Side::Customer, Side::Seller] {
            assert_eq!(json(&side), format!("\"{}\"", side.as_str()));
        }
    }

    mod erased {
        pub trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
