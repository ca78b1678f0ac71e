//! Every key format of the single table, in one place. The access patterns they serve are the
//! table in the README ("Data model").
//!
//! Free-text parts (seller ids, product ids, external ids) are escaped so that `#` inside them
//! cannot forge another key.

use crate::clock::Millis;
use crate::domain::model::Side;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const TTL: &str = "expires_at";

pub fn esc(s: &str) -> String {
    s.replace('%', "%25").replace('#', "%23")
}

pub fn account(a: &str) -> (String, String) {
    (format!("ACCOUNT#{}", esc(a)), "ACCOUNT".into())
}

pub fn seller(a: &str, s: &str) -> (String, String) {
    (
        format!("ACCOUNT#{}", esc(a)),
        format!("{SELLER_PREFIX}{}", esc(s)),
    )
}

pub const SELLER_PREFIX: &str = "SELLER#";
pub const OPERATOR_PREFIX: &str = "OPERATOR#";

/// Every account item also sits in one GSI1 partition, so accounts can be listed without a scan.
pub const ACCOUNTS_INDEX: &str = "ACCOUNTS";

/// An account's app tokens, listed through GSI1 (the token item itself is keyed by its hash).
pub fn app_tokens_index(a: &str) -> String {
    format!("APPTOKENS#{}", esc(a))
}

pub fn operator(a: &str, email: &str) -> (String, String) {
    (
        format!("ACCOUNT#{}", esc(a)),
        format!("{OPERATOR_PREFIX}{}", esc(email)),
    )
}

/// Sessions are read by id alone (the token carries nothing else); TTL removes them.
pub fn session(id: &str) -> (String, String) {
    (format!("SESSION#{}", esc(id)), "SESSION".into())
}

/// The audit trail of an account, newest last by id (ids sort by time).
pub fn audit(a: &str, id: &str) -> (String, String) {
    (format!("AUDIT#{}", esc(a)), format!("AUDIT#{}", esc(id)))
}

pub const AUDIT_PREFIX: &str = "AUDIT#";

/// A seller's webhook subscriptions live under the account, listed by prefix.
pub fn subscription(a: &str, seller: &str, id: &str) -> (String, String) {
    (
        format!("ACCOUNT#{}", esc(a)),
        format!("{}{}", subscription_prefix(seller), esc(id)),
    )
}

/// How many subscriptions a seller holds: the counter the cap is a condition on.
pub fn subscription_count(a: &str, seller: &str) -> (String, String) {
    (
        format!("ACCOUNT#{}", esc(a)),
        format!("WEBHOOKCOUNT#{}", esc(seller)),
    )
}

pub fn subscription_prefix(seller: &str) -> String {
    format!("WEBHOOK#{}#", esc(seller))
}

pub fn app_token(hash: &str) -> (String, String) {
    (format!("APPTOKEN#{hash}"), "APPTOKEN".into())
}

pub fn contact(a: &str, email: &str) -> (String, String) {
    (
        format!("ACCOUNT#{}", esc(a)),
        format!("CONTACT#{}", esc(email)),
    )
}

pub fn conversation(a: &str, id: &str) -> (String, String) {
    (format!("CONV#{}#{}", esc(a), esc(id)), "CONV".into())
}

pub fn message(a: &str, conv: &str, id: &str) -> (String, String) {
    (conversation(a, conv).0, format!("MSG#{}", esc(id)))
}

pub const MESSAGE_PREFIX: &str = "MSG#";

/// Partitions the pending-moderation markers are spread over (a marker is written with every
/// message: one partition would be hot).
pub const PENDING_SHARDS: u32 = 8;

/// The pending-moderation marker of a message: written with it, deleted by its decision; the
/// sweeper reads the old ones (`PK = PENDING#shard, SK < when#`).
pub fn pending(a: &str, conv: &str, id: &str, when: i64) -> (String, String) {
    (
        pending_shard(shard_of(id)),
        format!("{:015}#{}#{}#{}", when.max(0), esc(a), esc(conv), esc(id)),
    )
}

/// The marker's shard: a hash of the id (ids are spread evenly over time).
fn shard_of(id: &str) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % PENDING_SHARDS
}

/// An outbox entry: a webhook event written with the change it reports, deleted once it is
/// queued; the sweeper reads the old ones (`PK = OUTBOX#shard, SK < when#`), like pending
/// markers and over as many shards.
pub fn outbox(event_id: &str, when: i64) -> (String, String) {
    (
        outbox_shard(shard_of(event_id)),
        format!("{:015}#{}", when.max(0), esc(event_id)),
    )
}

pub fn outbox_shard(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

/// A rate-limit window: `RATE#key`, the window's start (TTL removes it after).
pub fn rate(key: &str, window_start: i64) -> (String, String) {
    (format!("RATE#{}", esc(key)), format!("{window_start:015}"))
}

pub fn pending_shard(shard: u32) -> String {
    format!("PENDING#{shard}")
}

pub fn topic(a: &str, seller: &str, customer: &str, product: &str) -> (String, String) {
    (
        format!(
            "TOPIC#{}#{}#{}#{}",
            esc(a),
            esc(seller),
            esc(customer),
            esc(product)
        ),
        "TOPIC".into(),
    )
}

pub fn external_id(a: &str, side: Side, sender: &str, ext: &str) -> (String, String) {
    (
        format!(
            "EXTID#{}#{}#{}#{}",
            esc(a),
            side.as_str(),
            esc(sender),
            esc(ext)
        ),
        "EXTID".into(),
    )
}

/// A WebSocket connection, read by its id at `$default` and `$disconnect`; TTL removes it.
pub fn connection(id: &str) -> (String, String) {
    (format!("CONNECTION#{}", esc(id)), "CONNECTION".into())
}

/// GSI1: the open connections of one seller or one customer, so a push is one Query.
pub fn viewer_connections(a: &str, viewer: &crate::domain::model::Viewer) -> String {
    use crate::domain::model::Viewer;
    match viewer {
        Viewer::Seller(s) => format!("LIVE#{}#SELLER#{}", esc(a), esc(s)),
        Viewer::Customer(c) => format!("LIVE#{}#CUSTOMER#{}", esc(a), esc(c)),
    }
}

/// GSI1: a seller's conversations by last interaction.
pub fn seller_conversations(a: &str, seller: &str) -> String {
    format!("SELLERCONV#{}#{}", esc(a), esc(seller))
}

/// GSI2: a customer's conversations by last interaction (creation until then).
pub fn customer_conversations(a: &str, customer: &str) -> String {
    format!("CUSTCONV#{}#{}", esc(a), esc(customer))
}

/// Sort key of a conversation in GSI1/GSI2: fixed-width time, then the id.
pub fn interaction_sort_key(at: Millis, id: &str) -> String {
    format!("{:015}#{}", at.max(0), id)
}

/// The time part of [`interaction_sort_key`].
pub fn sort_key_time(sk: &str) -> Option<Millis> {
    sk.split_once('#')?.0.parse().ok()
}

/// The sort-key range of every item under `prefix`, bounds included: `~` sorts after every
/// character an escaped key part holds.
pub fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}~"))
}

/// The GSI1/GSI2 sort-key range of conversations listed between `start` and `end` (inclusive,
/// either open).
pub fn interaction_range(start: Option<Millis>, end: Option<Millis>) -> (String, String) {
    (
        start.map_or_else(|| "0".into(), |t| format!("{:015}#", t.max(0))),
        end.map_or_else(|| "9~".into(), |t| format!("{:015}#~", t.max(0))),
    )
}

/// The pending markers (or outbox entries) of one shard written in `[from, before)`: `#` sorts before every
/// digit, so the upper bound excludes `before` itself.
pub fn pending_range(from: Millis, before: Millis) -> (String, String) {
    (
        format!("{:015}#", from.max(0)),
        format!("{:015}#", before.max(0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_cannot_forge_another_key() {
        let a = topic("acc", "s#1", "c", "p");
        let b = topic("acc", "s", "1#c", "p");
        assert_ne!(a, b);
    }

    #[test]
    fn interaction_keys_sort_by_time() {
        assert!(interaction_sort_key(999, "Z") < interaction_sort_key(1000, "A"));
        assert_eq!(sort_key_time(&interaction_sort_key(1234, "X")), Some(1234));
    }
}
