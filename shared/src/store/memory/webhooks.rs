//! The embedded store: webhooks.

use super::*;

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
    async fn get_subscription(&self, key: SubscriptionKey<'_>) -> Result<Option<Subscription>> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = key;
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
    async fn delete_subscription(&self, key: SubscriptionKey<'_>) -> Result<bool> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = key;
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
    async fn disable_subscription(&self, key: SubscriptionKey<'_>, reason: &str) -> Result<()> {
        let SubscriptionKey {
            account,
            seller,
            id,
        } = key;
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
