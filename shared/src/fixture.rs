//! The demo fixture: accounts, sellers, customers, private app tokens and a conversation, loaded
//! into any store. The local stack loads `local/fixtures/demo.json`; tests and `events/` rely on
//! its fixed ids.

use serde::Deserialize;

use crate::auth::hash_app_token;
use crate::clock::Millis;
use crate::domain::model::MessageKey;
use crate::domain::model::{
    Account, AppToken, Contact, Conversation, IdentifiedVia, Message, Moderation, ModerationStatus,
    Operator, Owner, Party, Seller, Side, Tag,
};
use crate::error::{Error, Result};
use crate::store::{Created, Store};

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub accounts: Vec<Account>,
    pub sellers: Vec<Seller>,
    pub customers: Vec<FixtureCustomer>,
    pub app_tokens: Vec<FixtureAppToken>,
    #[serde(default)]
    pub conversations: Vec<FixtureConversation>,
    /// Store admin users: with and without the Televendas permission, and account admins.
    #[serde(default)]
    pub operators: Vec<Operator>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureCustomer {
    pub account: String,
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: String,
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

/// A conversation with approved messages, so a seller has something to read at once.
#[derive(Debug, Deserialize)]
pub struct FixtureConversation {
    pub account: String,
    pub id: String,
    pub seller_id: String,
    pub customer_email: String,
    pub tags: Vec<Tag>,
    pub messages: Vec<FixtureMessage>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureMessage {
    pub id: String,
    pub sender: Side,
    pub content: String,
    #[serde(default)]
    pub owner: Option<Owner>,
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
        for o in &self.operators {
            store.put_operator(o).await?;
        }
        for c in &self.customers {
            store
                .put_contact(&Contact {
                    account: c.account.clone(),
                    id: c.id.clone(),
                    email: c.email.to_lowercase(),
                    external_id: c.external_id.clone(),
                    first_name: c.first_name.clone(),
                    last_name: c.last_name.clone(),
                    created_at: now,
                })
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
        for c in &self.conversations {
            self.load_conversation(store, c, now).await?;
        }
        Ok(())
    }

    async fn load_conversation(
        &self,
        store: &dyn Store,
        fc: &FixtureConversation,
        now: Millis,
    ) -> Result<()> {
        let bad = |m: &str| Error::unexpected_msg(format!("fixture conversation {}: {m}", fc.id));
        let seller = store
            .get_seller(&fc.account, &fc.seller_id)
            .await?
            .ok_or_else(|| bad("unknown seller"))?;
        let customer = store
            .get_contact(&fc.account, &fc.customer_email)
            .await?
            .ok_or_else(|| bad("unknown customer"))?;
        let product_id = fc
            .tags
            .iter()
            .find(|t| t.name == "productId")
            .map(|t| t.value.clone())
            .ok_or_else(|| bad("no productId tag"))?;
        let conv = Conversation::open(
            &fc.account,
            fc.id.clone(),
            Party {
                id: seller.id.clone(),
                external_id: seller.id.clone(),
                full_name: seller.name.clone(),
            },
            Party {
                id: customer.id.clone(),
                external_id: customer.external_id.clone(),
                full_name: customer.full_name(),
            },
            IdentifiedVia::VisitorIdentification,
            product_id,
            fc.tags.clone(),
            now,
        );
        for (i, fm) in fc.messages.iter().enumerate() {
            let at = now + i as Millis;
            let msg = Message {
                owner: fm.owner.clone(),
                ..Message::waiting(&conv, fm.id.clone(), fm.sender, fm.content.clone(), at)
            };
            if i == 0 {
                // Loading twice (a table that already has the fixture) is fine.
                if let Created::TopicExists(_) | Created::DuplicateMessage { .. } =
                    store.create_conversation(&conv, &msg, None).await?
                {
                    return Ok(());
                }
            } else {
                store
                    .add_message(&msg, &conv.party(fm.sender).id, None)
                    .await?;
            }
            let approved = Moderation {
                status: ModerationStatus::Approved,
                when_at: Some(at),
                block_rules: Vec::new(),
            };
            store.decide_message(&msg, &approved).await?;
            store
                .clear_events_pending(MessageKey {
                    account: &fc.account,
                    conversation: &fc.id,
                    message: &fm.id,
                })
                .await?;
        }
        Ok(())
    }
}
