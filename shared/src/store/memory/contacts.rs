//! The embedded store: contacts.

use super::*;

#[async_trait]
impl ContactStore for MemoryStore {
    async fn upsert_contact(
        &self,
        account: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        external_id: Option<&str>,
        now: Millis,
    ) -> Result<Contact> {
        let mut s = self.state.lock().await;
        let key = (account.to_owned(), email.to_owned());
        let c = s.contacts.entry(key).or_insert_with(|| {
            let id = crate::ids::new_id(now);
            Contact {
                account: account.to_owned(),
                external_id: external_id.map(str::to_owned).unwrap_or_else(|| id.clone()),
                id,
                email: email.to_owned(),
                first_name: None,
                last_name: None,
                created_at: now,
            }
        });
        if c.first_name.is_none() {
            c.first_name = first_name.map(str::to_owned);
        }
        if c.last_name.is_none() {
            c.last_name = last_name.map(str::to_owned);
        }
        Ok(c.clone())
    }

    async fn put_contact(&self, contact: &Contact) -> Result<()> {
        let mut s = self.state.lock().await;
        s.contacts.insert(
            (contact.account.clone(), contact.email.clone()),
            contact.clone(),
        );
        Ok(())
    }

    async fn get_contact(&self, account: &str, email: &str) -> Result<Option<Contact>> {
        let s = self.state.lock().await;
        Ok(s.contacts
            .get(&(account.to_owned(), email.to_owned()))
            .cloned())
    }
}
