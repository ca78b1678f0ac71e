//! The embedded store: tenants.

use super::*;

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
