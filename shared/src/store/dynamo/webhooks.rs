//! DynamoDB: Webhook subscriptions, with a per-seller counter that caps them.

use super::*;

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

    async fn get_subscription(&self, addr: SubscriptionKey<'_>) -> Result<Option<Subscription>> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = addr;
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

    async fn delete_subscription(&self, addr: SubscriptionKey<'_>) -> Result<bool> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = addr;
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

    async fn disable_subscription(&self, addr: SubscriptionKey<'_>, reason: &str) -> Result<()> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = addr;
        self.update_if_exists(
            keys::subscription(account, seller, id),
            "SET #status = :disabled, #reason = :reason",
            &[("#status", "status"), ("#reason", "disabled_reason")],
            HashMap::from([
                (
                    ":disabled".to_owned(),
                    s(SubscriptionStatus::Disabled.as_str()),
                ),
                (":reason".to_owned(), s(reason.to_owned())),
            ]),
        )
        .await
    }
}
