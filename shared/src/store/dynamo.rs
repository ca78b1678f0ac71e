//! The DynamoDB single-table adapter. Key formats live in [`super::keys`]; uniqueness (topics,
//! external ids) and moderation decisions are conditional writes inside transactions, so a race
//! or a retry can never write twice.

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
    Added, ContactStore, ConversationFilter, ConversationStore, Created, Decided, Page,
    PageRequest, PendingMessage, RateStore, SessionStore, TenantStore, Viewer, WebhookStore,
    MAX_EVALUATED,
};
use crate::clock::Millis;
use crate::domain::model::{
    Account, AppToken, AuditEntry, Contact, Conversation, ConversationStatus, Message, Moderation,
    ModerationStatus, Operator, Seller, Session, Side, Subscription,
};
use crate::error::{Error, Result};

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

/// A conditional write that did not hold (alone or inside a transaction). A transaction may also
/// be cancelled by a conflict; callers re-read to tell the two apart.
fn is_conditional_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(se) => matches!(
            se.err().code(),
            Some("ConditionalCheckFailedException" | "TransactionCanceledException")
        ),
        _ => false,
    }
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
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
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
    #[allow(clippy::too_many_arguments)]
    async fn query_page<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        key_cond: &str,
        filter: Option<&str>,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
        sort_attr: &str,
        ascending: bool,
        page: &PageRequest,
        strip_prefix: &str,
    ) -> Result<Page<T>> {
        let ascending = ascending != page.backward;
        let want = page.limit + 1;
        let budget = page.skip + MAX_EVALUATED;
        let mut rows: Vec<(String, T)> = Vec::with_capacity(want);
        let mut skipped = 0;
        let mut evaluated = 0usize;
        let mut start: Option<Item> = None;
        let mut batch = want + page.skip + 1;
        if filter.is_some() {
            batch = batch.max(25);
        }
        let mut resume_after = None;
        loop {
            self.count();
            let limit = batch.min(budget - evaluated).clamp(1, 1000) as i32;
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(key_cond)
                .set_filter_expression(filter.map(str::to_owned))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(ascending)
                .limit(limit)
                .set_exclusive_start_key(start.take());
            if !names.is_empty() {
                q = q.set_expression_attribute_names(Some(names.clone()));
            }
            let out = q.send().await?;
            evaluated += out.scanned_count.max(0) as usize;
            for item in out.items.unwrap_or_default() {
                let sk = str_attr(&item, sort_attr).unwrap_or_default();
                let sk = sk.strip_prefix(strip_prefix).unwrap_or(&sk).to_owned();
                if page.after.as_deref() == Some(sk.as_str()) {
                    continue;
                }
                if skipped < page.skip {
                    skipped += 1;
                    continue;
                }
                rows.push((sk, from_item(item)?));
                if rows.len() >= want {
                    break;
                }
            }
            if rows.len() >= want {
                break;
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => {
                    if evaluated >= budget {
                        // Stop here; the caller continues after the last key evaluated.
                        let sk = k
                            .get(sort_attr)
                            .and_then(|v| v.as_s().ok())
                            .map(|v| v.strip_prefix(strip_prefix).unwrap_or(v).to_owned());
                        resume_after = sk;
                        break;
                    }
                    start = Some(k);
                }
                _ => break,
            }
            batch = batch.saturating_mul(2);
        }
        let more = rows.len() > page.limit || resume_after.is_some();
        rows.truncate(page.limit);
        let mut items: Vec<T> = rows.into_iter().map(|(_, t)| t).collect();
        if page.backward {
            items.reverse();
        }
        Ok(Page {
            items,
            more,
            resume_after,
        })
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

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn put_account(&self, account: &Account) -> Result<()> {
        let index = (keys::ACCOUNTS_INDEX.to_owned(), keys::esc(&account.id));
        self.put_indexed(keys::account(&account.id), index, account)
            .await
    }
    async fn get_account(&self, id: &str) -> Result<Option<Account>> {
        self.get(keys::account(id)).await
    }
    async fn put_seller(&self, seller: &Seller) -> Result<()> {
        self.put(keys::seller(&seller.account, &seller.id), seller)
            .await
    }
    async fn get_seller(&self, account: &str, id: &str) -> Result<Option<Seller>> {
        self.get(keys::seller(account, id)).await
    }
    async fn put_app_token(&self, token: &AppToken) -> Result<()> {
        let index = (
            keys::app_tokens_index(&token.account),
            keys::interaction_sort_key(token.created_at, &token.hash),
        );
        self.put_indexed(keys::app_token(&token.hash), index, token)
            .await
    }
    async fn get_app_token(&self, hash: &str) -> Result<Option<AppToken>> {
        self.get(keys::app_token(hash)).await
    }
    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.query_index(keys::ACCOUNTS_INDEX.to_owned()).await
    }
    async fn list_sellers(&self, account: &str) -> Result<Vec<Seller>> {
        let pk = keys::account(account).0;
        self.query_prefix(pk, keys::SELLER_PREFIX.to_owned()).await
    }
    async fn list_app_tokens(&self, account: &str) -> Result<Vec<AppToken>> {
        self.query_index(keys::app_tokens_index(account)).await
    }
    async fn delete_app_token(&self, account: &str, hash: &str) -> Result<bool> {
        self.count();
        let (pk, sk) = keys::app_token(hash);
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("#account = :account")
            .expression_attribute_names("#account", "account")
            .expression_attribute_values(":account", s(account))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl ContactStore for DynamoStore {
    async fn upsert_contact(
        &self,
        account: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        external_id: Option<&str>,
        now: Millis,
    ) -> Result<Contact> {
        self.count();
        let id = crate::ids::new_id(now);
        let mut sets = vec![
            "#id = if_not_exists(#id, :id)",
            "#account = if_not_exists(#account, :account)",
            "#email = if_not_exists(#email, :email)",
            "#ext = if_not_exists(#ext, :ext)",
            "#created = if_not_exists(#created, :now)",
        ];
        let mut nm = names(&[
            ("#id", "id"),
            ("#account", "account"),
            ("#email", "email"),
            ("#ext", "external_id"),
            ("#created", "created_at"),
        ]);
        let mut vals = HashMap::from([
            (":id".to_owned(), s(&id)),
            (":account".to_owned(), s(account)),
            (":email".to_owned(), s(email)),
            (":ext".to_owned(), s(external_id.unwrap_or(&id))),
            (":now".to_owned(), n(now)),
        ]);
        // Names are set only where still unknown (seed `001_…`).
        if let Some(f) = first_name {
            sets.push("#fn = if_not_exists(#fn, :fn)");
            nm.insert("#fn".into(), "first_name".into());
            vals.insert(":fn".into(), s(f));
        }
        if let Some(l) = last_name {
            sets.push("#ln = if_not_exists(#ln, :ln)");
            nm.insert("#ln".into(), "last_name".into());
            vals.insert(":ln".into(), s(l));
        }
        let (pk, sk) = keys::contact(account, email);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(nm))
            .set_expression_attribute_values(Some(vals))
            .return_values(ReturnValue::AllNew)
            .send()
            .await?;
        from_item(out.attributes.unwrap_or_default())
    }

    async fn put_contact(&self, contact: &Contact) -> Result<()> {
        self.put(keys::contact(&contact.account, &contact.email), contact)
            .await
    }

    async fn get_contact(&self, account: &str, email: &str) -> Result<Option<Contact>> {
        self.get(keys::contact(account, email)).await
    }
}

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn find_topic(
        &self,
        account: &str,
        seller: &str,
        customer: &str,
        product_id: &str,
    ) -> Result<Option<String>> {
        let item = self
            .get_raw(keys::topic(account, seller, customer, product_id))
            .await?;
        Ok(item.and_then(|i| str_attr(&i, "conversation_id")))
    }

    async fn create_conversation(
        &self,
        conv: &Conversation,
        first: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<Created> {
        let (pk, sk) = keys::conversation(&conv.account, &conv.id);
        let mut conv_item = to_item(conv, [(PK, pk), (SK, sk)])?;
        conv_item.insert(
            GSI1PK.into(),
            s(keys::seller_conversations(&conv.account, &conv.seller.id)),
        );
        conv_item.insert(
            GSI2PK.into(),
            s(keys::customer_conversations(
                &conv.account,
                &conv.customer.id,
            )),
        );
        conv_item.insert(
            GSI2SK.into(),
            s(keys::interaction_sort_key(
                conv.last_interaction_at.unwrap_or(conv.created_at),
                &conv.id,
            )),
        );
        if let Some(t) = conv.last_interaction_at {
            conv_item.insert(GSI1SK.into(), s(keys::interaction_sort_key(t, &conv.id)));
        }
        let (tpk, tsk) = keys::topic(
            &conv.account,
            &conv.seller.id,
            &conv.customer.id,
            &conv.product_id,
        );
        let mut topic = key(tpk, tsk);
        topic.insert("conversation_id".into(), s(&conv.id));
        let sender_id = conv.party(first.sender).id.clone();
        let mut writes = vec![
            self.put_new(conv_item)?,
            self.put_new(topic)?,
            self.put_new(Self::message_item(first)?)?,
        ];
        if let Some(ext) = Self::external_id_item(first, &sender_id) {
            writes.push(self.put_new(ext)?);
        }
        self.with_message(&mut writes, first, audit)?;
        if self.transact(writes).await? {
            return Ok(Created::Created);
        }
        // Find out which uniqueness rule fired.
        if let Some((c, m)) = self.existing_external_id(first, &sender_id).await? {
            return Ok(Created::DuplicateMessage {
                conversation_id: c,
                message_id: m,
            });
        }
        match self
            .find_topic(
                &conv.account,
                &conv.seller.id,
                &conv.customer.id,
                &conv.product_id,
            )
            .await?
        {
            Some(existing) => Ok(Created::TopicExists(existing)),
            None => Err(Error::Conflict(
                "the conversation changed; try again".into(),
            )),
        }
    }

    async fn get_conversation(&self, account: &str, id: &str) -> Result<Option<Conversation>> {
        self.get(keys::conversation(account, id)).await
    }

    async fn list_conversations(
        &self,
        account: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>> {
        let (index, pk_attr, sk_attr, pk) = match &filter.viewer {
            Viewer::Seller(sid) => (
                keys::GSI1,
                GSI1PK,
                GSI1SK,
                keys::seller_conversations(account, sid),
            ),
            Viewer::Customer(cid) => (
                keys::GSI2,
                GSI2PK,
                GSI2SK,
                keys::customer_conversations(account, cid),
            ),
        };
        let mut lo = filter
            .start
            .map(|t| format!("{:015}#", t.max(0)))
            .unwrap_or_else(|| "0".into());
        let mut hi = filter
            .end
            .map(|t| format!("{:015}#~", t.max(0)))
            .unwrap_or_else(|| "9~".into());
        if let Some(after) = &page.after {
            if filter.ascending != page.backward {
                lo = lo.max(after.clone());
            } else {
                hi = hi.min(after.clone());
            }
        }
        let mut values = HashMap::from([
            (":pk".to_owned(), s(pk)),
            (":lo".to_owned(), s(lo)),
            (":hi".to_owned(), s(hi)),
        ]);
        let mut nm = HashMap::new();
        let mut conds = Vec::new();
        if let Some(st) = filter.status {
            conds.push("#status = :status");
            nm.insert("#status".to_owned(), "status".to_owned());
            values.insert(":status".into(), s(st.as_str()));
        }
        if let Some(r) = &filter.from_user_ref_key {
            conds.push("#customer.#ext = :ref");
            nm.insert("#customer".to_owned(), "customer".to_owned());
            nm.insert("#ext".to_owned(), "external_id".to_owned());
            values.insert(":ref".into(), s(r));
        }
        let filter_expr = (!conds.is_empty()).then(|| conds.join(" AND "));
        let key_cond = format!("{pk_attr} = :pk AND {sk_attr} BETWEEN :lo AND :hi");
        self.query_page(
            Some(index),
            &key_cond,
            filter_expr.as_deref(),
            nm,
            values,
            sk_attr,
            filter.ascending,
            page,
            "",
        )
        .await
    }

    async fn add_message(
        &self,
        msg: &Message,
        sender_id: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<Added> {
        let (cpk, csk) = keys::conversation(&msg.account, &msg.conversation_id);
        let mut writes = vec![
            TransactWriteItem::builder()
                .condition_check(
                    aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(cpk, csk)))
                        .condition_expression("attribute_exists(PK)")
                        .build()
                        .map_err(Error::unexpected)?,
                )
                .build(),
            self.put_new(Self::message_item(msg)?)?,
        ];
        if let Some(ext) = Self::external_id_item(msg, sender_id) {
            writes.push(self.put_new(ext)?);
        }
        self.with_message(&mut writes, msg, audit)?;
        if self.transact(writes).await? {
            return Ok(Added::Added);
        }
        match self.existing_external_id(msg, sender_id).await? {
            Some((c, m)) => Ok(Added::DuplicateMessage {
                conversation_id: c,
                message_id: m,
            }),
            None => Err(Error::NotFound("conversation".into())),
        }
    }

    async fn get_message(&self, account: &str, conv: &str, id: &str) -> Result<Option<Message>> {
        self.get(keys::message(account, conv, id)).await
    }

    async fn list_messages(
        &self,
        account: &str,
        conv: &str,
        viewer: Side,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let cursor = page
            .after
            .as_ref()
            .map(|a| format!("{}{}", keys::MESSAGE_PREFIX, a));
        let (lo, hi) = match (cursor, page.backward) {
            (Some(c), false) => (c, format!("{}~", keys::MESSAGE_PREFIX)),
            (Some(c), true) => (keys::MESSAGE_PREFIX.to_owned(), c),
            (None, _) => (
                keys::MESSAGE_PREFIX.to_owned(),
                format!("{}~", keys::MESSAGE_PREFIX),
            ),
        };
        let values = HashMap::from([
            (":pk".to_owned(), s(keys::conversation(account, conv).0)),
            (":lo".to_owned(), s(lo)),
            (":hi".to_owned(), s(hi)),
            (":viewer".to_owned(), s(viewer.as_str())),
            (":approved".to_owned(), s("APPROVED")),
        ]);
        let nm = names(&[
            ("#sender", "sender"),
            ("#mod", "moderation"),
            ("#st", "status"),
        ]);
        self.query_page(
            None,
            "PK = :pk AND SK BETWEEN :lo AND :hi",
            Some("#sender = :viewer OR #mod.#st = :approved"),
            nm,
            values,
            SK,
            true,
            page,
            keys::MESSAGE_PREFIX,
        )
        .await
    }

    async fn mark_read(
        &self,
        account: &str,
        conv: &str,
        side: Side,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let (expr, nm) = match side {
            Side::Seller => (
                "SET #read = :now, #unread = :zero, #new = :false",
                names(&[
                    ("#read", "seller_read_at"),
                    ("#unread", "unread_to_count"),
                    ("#new", "is_new_to"),
                ]),
            ),
            Side::Customer => (
                "SET #read = :now, #unread = :zero",
                names(&[
                    ("#read", "customer_read_at"),
                    ("#unread", "unread_from_count"),
                ]),
            ),
        };
        let mut vals = HashMap::from([(":now".to_owned(), n(now)), (":zero".to_owned(), n(0))]);
        if side == Side::Seller {
            vals.insert(":false".into(), AttributeValue::Bool(false));
        }
        self.update_conversation(account, conv, expr, nm, vals)
            .await
    }

    async fn set_status(
        &self,
        account: &str,
        conv: &str,
        status: ConversationStatus,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        self.update_conversation(
            account,
            conv,
            "SET #status = :status, #updated = :now",
            names(&[("#status", "status"), ("#updated", "updated_at")]),
            HashMap::from([
                (":status".to_owned(), s(status.as_str())),
                (":now".to_owned(), n(now)),
            ]),
        )
        .await
    }

    async fn decide_message(&self, msg: &Message, moderation: &Moderation) -> Result<Decided> {
        let (account, conv, id) = (
            msg.account.as_str(),
            msg.conversation_id.as_str(),
            msg.id.as_str(),
        );
        let (mpk, msk) = keys::message(account, conv, id);
        let msg_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(mpk, msk)))
            .update_expression("SET #mod = :m, #pending = :true")
            .condition_expression("#mod.#st = :waiting")
            .set_expression_attribute_names(Some(names(&[
                ("#mod", "moderation"),
                ("#st", "status"),
                ("#pending", "events_pending"),
            ])))
            .set_expression_attribute_values(Some(HashMap::from([
                (":m".to_owned(), attr(moderation)?),
                (":waiting".to_owned(), s("WAITING_MODERATION")),
                (":true".to_owned(), AttributeValue::Bool(true)),
            ])))
            .build()
            .map_err(Error::unexpected)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(msg_update).build(),
            // The marker goes with the decision (a message written before markers had none).
            self.delete_write(keys::pending(account, conv, id, msg.when_at))?,
        ];
        let approved = moderation.status == ModerationStatus::Approved;
        let at = moderation.when_at.unwrap_or(msg.when_at);
        if approved {
            let sort = keys::interaction_sort_key(at, conv);
            let (cpk, csk) = keys::conversation(account, conv);
            let (expr, unread) = match msg.sender {
                Side::Customer => (
                    "SET #lm = :lm, #lia = :at, #upd = :at, #first = if_not_exists(#first, :mid), #new = :true, #status = :opened, GSI1SK = :sk, GSI2SK = :sk ADD #unread :one",
                    "unread_to_count",
                ),
                Side::Seller => (
                    "SET #lm = :lm, #lia = :at, #upd = :at, #first = if_not_exists(#first, :mid), GSI1SK = :sk, GSI2SK = :sk ADD #unread :one",
                    "unread_from_count",
                ),
            };
            let mut nm = names(&[
                ("#lm", "last_message"),
                ("#lia", "last_interaction_at"),
                ("#upd", "updated_at"),
                ("#unread", unread),
                ("#first", "first_approved_message_id"),
            ]);
            let mut vals = HashMap::from([
                (":lm".to_owned(), attr(&msg.minimal())?),
                (":at".to_owned(), n(at)),
                (":sk".to_owned(), s(sort)),
                (":one".to_owned(), n(1)),
                (":mid".to_owned(), s(id)),
            ]);
            if msg.sender == Side::Customer {
                nm.insert("#new".into(), "is_new_to".into());
                nm.insert("#status".into(), "status".into());
                vals.insert(":true".into(), AttributeValue::Bool(true));
                vals.insert(":opened".into(), s("OPENED"));
            }
            writes.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(cpk, csk)))
                            .update_expression(expr)
                            .condition_expression("attribute_exists(PK)")
                            .set_expression_attribute_names(Some(nm))
                            .set_expression_attribute_values(Some(vals))
                            .build()
                            .map_err(Error::unexpected)?,
                    )
                    .build(),
            );
        }
        if !self.transact(writes).await? {
            // Decided meanwhile, or cancelled by a concurrent write: only the first is final.
            let now = self
                .get::<Message>(keys::message(account, conv, id))
                .await?;
            return match now {
                Some(m) if m.moderation.status != ModerationStatus::WaitingModeration => {
                    Ok(Decided::AlreadyDecided)
                }
                Some(_) => Err(Error::unexpected_msg(
                    "moderation decision cancelled by a concurrent write",
                )),
                None => Ok(Decided::NotFound),
            };
        }
        Ok(Decided::Applied)
    }

    async fn list_pending(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<PendingMessage>> {
        let mut out: Vec<PendingMessage> = Vec::new();
        for shard in 0..keys::PENDING_SHARDS {
            self.count();
            let res = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :before")
                .expression_attribute_values(":pk", s(keys::pending_shard(shard)))
                .expression_attribute_values(":from", s(format!("{:015}#", from.max(0))))
                // '#' sorts before every digit: the bound excludes `before` itself.
                .expression_attribute_values(":before", s(format!("{:015}#", before.max(0))))
                .limit(limit.clamp(1, 1000) as i32)
                .send()
                .await?;
            for item in res.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
        }
        out.sort_by(|a, b| (a.when_at, &a.message_id).cmp(&(b.when_at, &b.message_id)));
        out.truncate(limit);
        Ok(out)
    }

    async fn clear_events_pending(&self, account: &str, conv: &str, id: &str) -> Result<()> {
        self.update_if_exists(
            keys::message(account, conv, id),
            "SET #pending = :false",
            &[("#pending", "events_pending")],
            HashMap::from([(":false".to_owned(), AttributeValue::Bool(false))]),
        )
        .await
    }
}

#[async_trait]
impl RateStore for DynamoStore {
    async fn take(&self, what: &str, window_ms: Millis, limit: u32, now: Millis) -> Result<bool> {
        self.count();
        let window_ms = window_ms.max(1);
        let start = now - now.rem_euclid(window_ms);
        let (pk, sk) = keys::rate(what, start);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("ADD #n :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#n", "uses")
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit as i64))
            // Gone an hour after the window (TTL takes seconds).
            .expression_attribute_values(":ttl", n((start + window_ms) / 1000 + 3600))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn put_subscription(&self, sub: &Subscription) -> Result<()> {
        self.put(
            keys::subscription(&sub.account, &sub.seller_id, &sub.id),
            sub,
        )
        .await
    }

    async fn list_subscriptions(&self, account: &str, seller: &str) -> Result<Vec<Subscription>> {
        let mut out: Vec<Subscription> = self
            .query_prefix(keys::account(account).0, keys::subscription_prefix(seller))
            .await?;
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn get_subscription(
        &self,
        account: &str,
        seller: &str,
        id: &str,
    ) -> Result<Option<Subscription>> {
        self.get(keys::subscription(account, seller, id)).await
    }

    async fn add_subscription(&self, sub: &Subscription, max: usize) -> Result<bool> {
        let (cpk, csk) = keys::subscription_count(&sub.account, &sub.seller_id);
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(cpk, csk)))
            .update_expression("ADD #n :one")
            .condition_expression("attribute_not_exists(#n) OR #n < :max")
            .expression_attribute_names("#n", "subscriptions")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max as i64))
            .build()
            .map_err(Error::unexpected)?;
        let (pk, sk) = keys::subscription(&sub.account, &sub.seller_id, &sub.id);
        let item = to_item(sub, [(PK, pk), (SK, sk)])?;
        self.transact(vec![
            TransactWriteItem::builder().update(counter).build(),
            self.put_new(item)?,
        ])
        .await
    }

    async fn delete_subscription(&self, account: &str, seller: &str, id: &str) -> Result<bool> {
        let (pk, sk) = keys::subscription(account, seller, id);
        let (cpk, csk) = keys::subscription_count(account, seller);
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(Error::unexpected)?;
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(cpk, csk)))
            .update_expression("ADD #n :minus")
            .expression_attribute_names("#n", "subscriptions")
            .expression_attribute_values(":minus", n(-1))
            .build()
            .map_err(Error::unexpected)?;
        // `false` when there was none: the condition cancels the whole transaction.
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(counter).build(),
        ])
        .await
    }

    async fn disable_subscription(
        &self,
        account: &str,
        seller: &str,
        id: &str,
        reason: &str,
    ) -> Result<()> {
        self.update_if_exists(
            keys::subscription(account, seller, id),
            "SET #status = :disabled, #reason = :reason",
            &[("#status", "status"), ("#reason", "disabled_reason")],
            HashMap::from([
                (":disabled".to_owned(), s("DISABLED".to_owned())),
                (":reason".to_owned(), s(reason.to_owned())),
            ]),
        )
        .await
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn put_operator(&self, op: &Operator) -> Result<()> {
        self.put(keys::operator(&op.account, &op.email), op).await
    }

    async fn get_operator(&self, account: &str, email: &str) -> Result<Option<Operator>> {
        self.get(keys::operator(account, email)).await
    }

    async fn list_operators(&self, account: &str) -> Result<Vec<Operator>> {
        let pk = keys::account(account).0;
        self.query_prefix(pk, keys::OPERATOR_PREFIX.to_owned())
            .await
    }

    async fn put_session(&self, session: &Session) -> Result<()> {
        let (pk, sk) = keys::session(&session.id);
        let mut item = to_item(session, [(PK, pk), (SK, sk)])?;
        // DynamoDB's TTL takes seconds; reads also check the time (TTL deletes late).
        item.insert(
            keys::TTL.to_owned(),
            AttributeValue::N((session.valid_until / 1000).to_string()),
        );
        self.put_item(item).await
    }

    async fn get_session(&self, id: &str, now: Millis) -> Result<Option<Session>> {
        let s: Option<Session> = self.get(keys::session(id)).await?;
        Ok(s.filter(|s| s.valid_until > now))
    }

    async fn save_session(
        &self,
        session: &Session,
        audit: &[AuditEntry],
        replaces: Option<&str>,
    ) -> Result<()> {
        if audit.is_empty() && replaces.is_none() {
            return self.put_session(session).await;
        }
        let (pk, sk) = keys::session(&session.id);
        let mut item = to_item(session, [(PK, pk), (SK, sk)])?;
        item.insert(
            keys::TTL.to_owned(),
            AttributeValue::N((session.valid_until / 1000).to_string()),
        );
        let mut writes = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .map_err(Error::unexpected)?,
            )
            .build()];
        for e in audit {
            let (pk, sk) = keys::audit(&e.account, &e.id);
            writes.push(self.put_new(to_item(e, [(PK, pk), (SK, sk)])?)?);
        }
        if let Some(old) = replaces {
            writes.push(self.delete_write(keys::session(old))?);
        }
        if self.transact(writes).await? {
            Ok(())
        } else {
            Err(Error::unexpected_msg(
                "session write cancelled: an audit entry id was taken",
            ))
        }
    }

    async fn list_audit(&self, account: &str, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let (pk, _) = keys::audit(account, "");
        let mut values = HashMap::from([
            (":pk".to_owned(), s(pk)),
            (":lo".to_owned(), s(keys::AUDIT_PREFIX.to_owned())),
            (":hi".to_owned(), s(format!("{}~", keys::AUDIT_PREFIX))),
        ]);
        // Newest first: a cursor bounds the range from above (or below, reading backward).
        if let Some(after) = &page.after {
            let bound = format!("{}{}", keys::AUDIT_PREFIX, after);
            if page.backward {
                values.insert(":lo".into(), s(bound));
            } else {
                values.insert(":hi".into(), s(bound));
            }
        }
        self.query_page(
            None,
            "PK = :pk AND SK BETWEEN :lo AND :hi",
            None,
            HashMap::new(),
            values,
            SK,
            false,
            page,
            keys::AUDIT_PREFIX,
        )
        .await
    }
}
