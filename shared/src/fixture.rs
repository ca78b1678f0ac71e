//! The demo fixture: accounts, sellers, customers and private app tokens, loaded into any store.
//! The local stack loads `local/fixtures/demo.json`; tests load the same file.

use serde::Deserialize;

use crate::auth::hash_app_token;
use crate::clock::Millis;
use crate::domain::model::{Account, AppToken, Seller};
use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub accounts: Vec<Account>,
    pub sellers: Vec<Seller>,
    pub customers: Vec<FixtureCustomer>,
    pub app_tokens: Vec<FixtureAppToken>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureCustomer {
    pub account: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
}

/// Demo tokens are in the fixture in plain text so the README can use them; only their hash is
/// stored.
#[derive(Debug, Deserialize)]
pub struct FixtureAppToken {
    pub token: String,
    pub account: String,
    pub name: String,
    pub scopes: Vec<String>,
}

impl Fixture {
    pub fn parse(json: &str) -> Result<Fixture> {
        serde_json::from_str(json).map_err(Error::unexpected)
    }

    pub async fn load(&self, store: &dyn Store, now: Millis) -> Result<()> {
        for a in &self.accounts {
            store.put_account(a).await?;
        }
        for s in &self.sellers {
            store.put_seller(s).await?;
        }
        for c in &self.customers {
            store
                .upsert_contact(
                    &c.account,
                    &c.email.to_lowercase(),
                    c.first_name.as_deref(),
                    c.last_name.as_deref(),
                    c.external_id.as_deref(),
                    now,
                )
                .await?;
        }
        for t in &self.app_tokens {
            store
                .put_app_token(&AppToken {
                    hash: hash_app_token(&t.token),
                    account: t.account.clone(),
                    name: t.name.clone(),
                    scopes: t.scopes.clone(),
                    created_at: now,
                })
                .await?;
        }
        Ok(())
    }
}
