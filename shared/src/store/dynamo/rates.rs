//! DynamoDB: Fixed-window rate limits: one conditional counter update per use.

use super::*;

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
