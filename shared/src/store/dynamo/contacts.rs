//! DynamoDB: Contacts (customers known by e-mail).

use super::*;

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
