//! The embedded store: sessions.

use super::*;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_operator(&self, op: &Operator) -> Result<()> {
        let mut s = self.state.lock().await;
        s.operators
            .insert((op.account.clone(), op.email.clone()), op.clone());
        Ok(())
    }
    async fn get_operator(&self, account: &str, email: &str) -> Result<Option<Operator>> {
        let s = self.state.lock().await;
        Ok(s.operators
            .get(&(account.to_owned(), email.to_owned()))
            .cloned())
    }
    async fn list_operators(&self, account: &str) -> Result<Vec<Operator>> {
        let s = self.state.lock().await;
        let mut out: Vec<Operator> = s
            .operators
            .values()
            .filter(|o| o.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(out)
    }
    async fn put_session(&self, session: &Session) -> Result<()> {
        let mut s = self.state.lock().await;
        s.sessions.insert(session.id.clone(), session.clone());
        // What DynamoDB's TTL does for the table: expired sessions do not pile up.
        if s.sessions.len() >= s.sessions_sweep_at.max(SESSION_SWEEP_MIN) {
            let now = s.sessions_now.max(session.created_at);
            s.sessions.retain(|_, x| x.valid_until > now);
            s.sessions_sweep_at = (2 * s.sessions.len()).max(SESSION_SWEEP_MIN);
        }
        Ok(())
    }
    async fn get_session(&self, id: &str, now: Millis) -> Result<Option<Session>> {
        let mut s = self.state.lock().await;
        s.sessions_now = s.sessions_now.max(now);
        Ok(s.sessions.get(id).filter(|x| x.valid_until > now).cloned())
    }
    async fn save_session(
        &self,
        session: &Session,
        audit: &[AuditEntry],
        replaces: Option<&str>,
    ) -> Result<()> {
        // One lock: nobody sees the session without its entries, nor both ids.
        let mut s = self.state.lock().await;
        if let Some(old) = replaces {
            s.sessions.remove(old);
        }
        for e in audit {
            s.add_audit(e);
        }
        drop(s);
        self.put_session(session).await
    }
    async fn list_audit(&self, account: &str, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let s = self.state.lock().await;
        let rows: Vec<(String, AuditEntry)> = s
            .audit
            .get(account)
            .map(|m| {
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(take_page(rows, page, false))
    }
}
