//! The DynamoDB single-table adapter. Key formats live in [`super::keys`]; uniqueness (topics,
//! external ids) and moderation decisions are conditional writes inside transactions, so a race
//! or a retry can never write twice.
//!
//! One file per store port: `tenants`, `contacts`, `conversations`, `rates`,
//! `webhooks`, `sessions`; this file holds the client, the item helpers and the paged query.

mod connections;
mod contacts;
mod conversations;
mod rates;
mod sessions;
mod tenants;
mod webhooks;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::{self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK};
use super::{
    Added, ConnectionStore, ContactStore, ConversationFilter, ConversationStore, Created, Decided,
    OutboxEvent, Page, PageCollector, PageRequest, PendingMessage, RateStore, SessionStore,
    TenantStore, Viewer, WebhookStore, MAX_EVALUATED,
};
use crate::clock::Millis;
use crate::domain::model::{
    Account, AppToken, AuditEntry, Connection, Contact, Conversation, ConversationStatus, Message,
    MessageKey, Moderation, ModerationStatus, Operator, Seller, Session, Side, Subscription,
    SubscriptionKey, SubscriptionStatus, TopicKey,
};
use crate::error::{Error, Result};
use crate::queue::WebhookEvent;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    calls: Arc<AtomicU64>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn to_item<T: Serialize>(record: &T, keys: [(&str, String); 2]) -> Result<Item> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(Error::unexpected)?;
    for (k, v) in keys {
        item.insert(k.to_owned(), s(v));
    }
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(Error::unexpected)
}

fn attr<T: Serialize>(v: &T) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(v).map_err(Error::unexpected)
}

/// A conditional write that did not hold (`ConditionalCheckFailedException`). Transactions
/// are told apart in [`DynamoStore::transact`].
fn is_conditional_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(se) => se.err().code() == Some("ConditionalCheckFailedException"),
        _ => false,
    }
}

/// A cancelled transaction whose every reason is a failed condition, or `None` (an item that
/// was fine). Cancelled by a concurrent transaction (`TransactionConflict`), by throttling or for
/// any other reason, it is not a failed condition: it stays an error (a transient one, 503).
fn is_cancelled_by_a_condition(
    e: &SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(c) => c
                .cancellation_reasons()
                .iter()
                .all(|r| matches!(r.code(), None | Some("None" | "ConditionalCheckFailed"))),
            _ => false,
        },
        _ => false,
    }
}

/// A transaction that failed for another reason than a condition: cancelled by a concurrent
/// transaction or by throttling (the SDK does not retry a cancellation), it is a 503.
fn transaction_error(
    e: SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> Error {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    if let SdkError::ServiceError(se) = &e {
        if let TransactWriteItemsError::TransactionCanceledException(c) = se.err() {
            let transient = c.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some(
                        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                    )
                )
            });
            if transient {
                return Error::Unavailable(crate::error::UNAVAILABLE_RETRY_AFTER_S, Box::new(e));
            }
        }
    }
    e.into()
}

fn str_attr(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// DynamoDB requests made so far (for the per-route call figures).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Creates the table with its indexes and TTL (the same shape `template.yaml` declares).
    pub async fn create_table(&self) -> Result<()> {
        let attr_def = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(Error::unexpected)
        };
        let key_el = |name: &str, kt: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kt)
                .build()
                .map_err(Error::unexpected)
        };
        let gsi = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key_el(pk, KeyType::Hash)?)
                .key_schema(key_el(sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(Error::unexpected)
        };
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key_el(PK, KeyType::Hash)?)
            .key_schema(key_el(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi(keys::GSI1, GSI1PK, GSI1SK)?)
            .global_secondary_indexes(gsi(keys::GSI2, GSI2PK, GSI2SK)?);
        for a in [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK] {
            req = req.attribute_definitions(attr_def(a)?);
        }
        req.send().await?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(keys::TTL)
                    .build()
                    .map_err(Error::unexpected)?,
            )
            .send()
            .await?;
        Ok(())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's status (`ACTIVE`, `CREATING`, …), or `None` when there is no such table: one
    /// DescribeTable call.
    pub async fn table_status(&self) -> Result<Option<aws_sdk_dynamodb::types::TableStatus>> {
        self.count();
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.table.and_then(|t| t.table_status).ok_or_else(
                || Error::unexpected_msg("DescribeTable answered without a table status"),
            )?)),
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A strongly consistent read of one item, as stored.
    async fn get_raw(&self, (pk, sk): (String, String)) -> Result<Option<Item>> {
        self.count();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item)
    }

    async fn get<T: DeserializeOwned>(&self, k: (String, String)) -> Result<Option<T>> {
        self.get_raw(k).await?.map(from_item).transpose()
    }

    /// Runs a transaction. `Ok(false)`: a condition did not hold, or a concurrent write cancelled
    /// it; callers re-read to tell which.
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<bool> {
        self.count();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_cancelled_by_a_condition(&e) => Ok(false),
            Err(e) => Err(transaction_error(e)),
        }
    }

    /// Every item of one partition (of the table, or of `index` by its own key) matching the
    /// key condition, in key order, through all pages.
    async fn query_all<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            self.count();
            let res = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for item in res.items.unwrap_or_default() {
                out.push(from_item::<T>(item)?);
            }
            match res.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// The items of partition `pk` whose sort key starts with `prefix`.
    async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: String,
    ) -> Result<Vec<T>> {
        let values = HashMap::from([(":pk".to_owned(), s(pk)), (":prefix".to_owned(), s(prefix))]);
        self.query_all(None, "PK = :pk AND begins_with(SK, :prefix)", values)
            .await
    }

    /// A put with the item also in a GSI1 partition.
    async fn put_indexed<T: Serialize>(
        &self,
        (pk, sk): (String, String),
        (gsi_pk, gsi_sk): (String, String),
        record: &T,
    ) -> Result<()> {
        let mut item = to_item(record, [(PK, pk), (SK, sk)])?;
        item.insert(GSI1PK.to_owned(), s(gsi_pk));
        item.insert(GSI1SK.to_owned(), s(gsi_sk));
        self.put_item(item).await
    }

    /// One unconditional PutItem.
    async fn put_item(&self, item: Item) -> Result<()> {
        self.count();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }

    /// The items of GSI1 partition `gsi_pk`, in GSI1SK order.
    async fn query_index<T: DeserializeOwned>(&self, gsi_pk: String) -> Result<Vec<T>> {
        let values = HashMap::from([(":pk".to_owned(), s(gsi_pk))]);
        self.query_all(Some(keys::GSI1), "GSI1PK = :pk", values)
            .await
    }

    async fn put<T: Serialize>(&self, (pk, sk): (String, String), record: &T) -> Result<()> {
        self.put_item(to_item(record, [(PK, pk), (SK, sk)])?).await
    }

    /// One unconditional DeleteItem (a missing item is fine).
    async fn delete_item(&self, (pk, sk): (String, String)) -> Result<()> {
        self.count();
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await?;
        Ok(())
    }

    /// The markers written in `[from, before)` over every shard of a marker kind (`shard` names
    /// the partition), oldest first by `order`, at most `limit`.
    async fn query_shards<T: DeserializeOwned, K: Ord>(
        &self,
        shard: fn(u32) -> String,
        (from, before): (Millis, Millis),
        limit: usize,
        order: impl Fn(&T) -> K,
    ) -> Result<Vec<T>> {
        let mut out: Vec<T> = Vec::new();
        let (lo, hi) = keys::pending_range(from, before);
        for n in 0..keys::PENDING_SHARDS {
            self.count();
            let res = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :before")
                .expression_attribute_values(":pk", s(shard(n)))
                .expression_attribute_values(":from", s(lo.clone()))
                .expression_attribute_values(":before", s(hi.clone()))
                .limit(limit.clamp(1, 1000) as i32)
                .send()
                .await?;
            for item in res.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
        }
        out.sort_by_key(order);
        out.truncate(limit);
        Ok(out)
    }

    /// A transaction's update of an existing conversation.
    fn conversation_write(
        &self,
        account: &str,
        conv: &str,
        expr: &str,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem> {
        let (pk, sk) = keys::conversation(account, conv);
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expr)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction's delete of one item (no condition: a missing item is fine).
    fn delete_write(&self, (pk, sk): (String, String)) -> Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .delete(
                aws_sdk_dynamodb::types::Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map_err(Error::unexpected)?,
            )
            .build())
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(Error::unexpected)?,
            )
            .build())
    }

    /// What goes into every new message's transaction: its pending-moderation marker (deleted
    /// by the decision) and, for a message written through an impersonation, its audit entry.
    fn with_message(
        &self,
        writes: &mut Vec<TransactWriteItem>,
        msg: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        if msg.moderation.status == ModerationStatus::WaitingModeration {
            let pending = PendingMessage {
                account: msg.account.clone(),
                conversation_id: msg.conversation_id.clone(),
                message_id: msg.id.clone(),
                when_at: msg.when_at,
            };
            let (pk, sk) = keys::pending(&msg.account, &msg.conversation_id, &msg.id, msg.when_at);
            writes.push(self.put_new(to_item(&pending, [(PK, pk), (SK, sk)])?)?);
        }
        if let Some(e) = audit {
            let (pk, sk) = keys::audit(&e.account, &e.id);
            writes.push(self.put_new(to_item(e, [(PK, pk), (SK, sk)])?)?);
        }
        Ok(())
    }

    /// A message as its table item (keys, GSI keys and attributes), e.g. for bulk loading.
    pub fn message_item(msg: &Message) -> Result<Item> {
        to_item(msg, {
            let (pk, sk) = keys::message(&msg.account, &msg.conversation_id, &msg.id);
            [(PK, pk), (SK, sk)]
        })
    }

    fn external_id_item(msg: &Message, sender_id: &str) -> Option<Item> {
        let ext = msg.external_id.as_ref()?;
        let (pk, sk) = keys::external_id(&msg.account, msg.sender, sender_id, ext);
        let mut item = key(pk, sk);
        item.insert("conversation_id".into(), s(&msg.conversation_id));
        item.insert("message_id".into(), s(&msg.id));
        Some(item)
    }

    async fn existing_external_id(
        &self,
        msg: &Message,
        sender_id: &str,
    ) -> Result<Option<(String, String)>> {
        let Some(ext) = &msg.external_id else {
            return Ok(None);
        };
        let item = self
            .get_raw(keys::external_id(&msg.account, msg.sender, sender_id, ext))
            .await?;
        Ok(item.and_then(|i| {
            Some((
                str_attr(&i, "conversation_id")?,
                str_attr(&i, "message_id")?,
            ))
        }))
    }

    /// Runs a query page by page until `limit + 1` matching items past `skip` (and past the
    /// exclusive `after` key) are in hand, so the caller knows whether a next page exists.
    ///
    /// Bounded: with a filter, each Query asks for twice the items of the one before (from the
    /// page's own size, at least 25), and at most `skip` + [`MAX_EVALUATED`] items are evaluated
    /// in all; past that the page ends early with `resume_after`, the sort key where evaluation
    /// stopped. A conversation flooded with messages hidden from the viewer costs a few Query
    /// calls per page, not one per `limit` hidden items.
    async fn query_page<T: DeserializeOwned>(
        &self,
        q: PagedQuery<'_>,
        page: &PageRequest,
    ) -> Result<Page<T>> {
        let PagedQuery {
            index,
            pk_attr,
            sk_attr,
            pk,
            range: (mut lo, mut hi),
            filter,
            names,
            mut values,
            ascending,
            cursor_prefix,
        } = q;
        let ascending = ascending != page.backward;
        // A cursor narrows the range on the side the page reads towards.
        if let Some(after) = &page.after {
            let bound = format!("{cursor_prefix}{after}");
            if ascending {
                lo = lo.max(bound);
            } else {
                hi = hi.min(bound);
            }
        }
        values.insert(":pk".to_owned(), s(pk));
        values.insert(":lo".to_owned(), s(lo));
        values.insert(":hi".to_owned(), s(hi));
        let key_cond = format!("{pk_attr} = :pk AND {sk_attr} BETWEEN :lo AND :hi");
        let budget = page.skip + MAX_EVALUATED;
        let mut rows = PageCollector::new(page);
        let mut evaluated = 0usize;
        let mut start: Option<Item> = None;
        let mut batch = page.limit + 1 + page.skip + 1;
        if filter.is_some() {
            batch = batch.max(25);
        }
        let mut resume_after = None;
        loop {
            self.count();
            let limit = batch.min(budget - evaluated).clamp(1, 1000) as i32;
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(&key_cond)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(ascending)
                .limit(limit)
                .set_exclusive_start_key(start.take());
            if !names.is_empty() {
                req = req.set_expression_attribute_names(Some(names.clone()));
            }
            let out = req.send().await?;
            evaluated += out.scanned_count.max(0) as usize;
            for item in out.items.unwrap_or_default() {
                let sk = str_attr(&item, sk_attr).unwrap_or_default();
                let sk = sk.strip_prefix(cursor_prefix).unwrap_or(&sk);
                if page.after.as_deref() == Some(sk) {
                    continue;
                }
                if !rows.offer(from_item(item)?) {
                    break;
                }
            }
            if rows.is_full() {
                break;
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => {
                    if evaluated >= budget {
                        // Stop here; the caller continues after the last key evaluated.
                        resume_after = k
                            .get(sk_attr)
                            .and_then(|v| v.as_s().ok())
                            .map(|v| v.strip_prefix(cursor_prefix).unwrap_or(v).to_owned());
                        break;
                    }
                    start = Some(k);
                }
                _ => break,
            }
            batch = batch.saturating_mul(2);
        }
        Ok(rows.finish(resume_after))
    }

    /// An update of an item that may be gone meanwhile: then nothing happens.
    async fn update_if_exists(
        &self,
        (pk, sk): (String, String),
        expr: &str,
        attr_names: &[(&str, &str)],
        values: HashMap<String, AttributeValue>,
    ) -> Result<()> {
        self.count();
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expr)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names(attr_names)))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn update_conversation(
        &self,
        account: &str,
        conv: &str,
        expr: &str,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<Option<Conversation>> {
        self.count();
        let (pk, sk) = keys::conversation(account, conv);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expr)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// One paged Query (see [`DynamoStore::query_page`]): a partition of the table or an index, a
/// sort-key range, an optional filter, and the prefix stripped from sort keys to make cursors.
struct PagedQuery<'a> {
    index: Option<&'a str>,
    pk_attr: &'a str,
    sk_attr: &'a str,
    pk: String,
    /// Inclusive sort-key bounds (see the ranges in [`keys`]).
    range: (String, String),
    filter: Option<String>,
    names: HashMap<String, String>,
    /// Values of the filter (`:pk`, `:lo` and `:hi` are added).
    values: HashMap<String, AttributeValue>,
    /// The list's order; a backward page reads the other way.
    ascending: bool,
    cursor_prefix: &'a str,
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
