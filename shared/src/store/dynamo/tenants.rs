//! DynamoDB: Accounts, sellers and private app tokens.

use super::*;

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
