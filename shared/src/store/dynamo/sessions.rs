//! DynamoDB: Operators, sessions and the impersonation audit trail.

use super::*;

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
        // Newest first.
        let q = PagedQuery {
            index: None,
            pk_attr: PK,
            sk_attr: SK,
            pk: keys::audit(account, "").0,
            range: keys::prefix_range(keys::AUDIT_PREFIX),
            filter: None,
            names: HashMap::new(),
            values: HashMap::new(),
            ascending: false,
            cursor_prefix: keys::AUDIT_PREFIX,
        };
        self.query_page(q, page).await
    }
}
