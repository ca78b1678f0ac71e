//! The embedded store: WebSocket connections.

use super::*;

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn put_connection(&self, conn: &Connection) -> Result<()> {
        let mut s = self.state.lock().await;
        // What DynamoDB's TTL does: connections whose credential ran out do not pile up.
        let now = conn.connected_at;
        s.connections.retain(|_, c| c.valid_until > now);
        s.connections.insert(conn.id.clone(), conn.clone());
        Ok(())
    }

    async fn get_connection(&self, id: &str, now: Millis) -> Result<Option<Connection>> {
        let s = self.state.lock().await;
        Ok(s.connections
            .get(id)
            .filter(|c| c.valid_until > now)
            .cloned())
    }

    async fn delete_connection(&self, id: &str) -> Result<()> {
        self.state.lock().await.connections.remove(id);
        Ok(())
    }

    async fn connections_of(
        &self,
        account: &str,
        viewer: &Viewer,
        now: Millis,
    ) -> Result<Vec<Connection>> {
        let s = self.state.lock().await;
        Ok(s.connections
            .values()
            .filter(|c| c.account == account && &c.viewer == viewer && c.valid_until > now)
            .cloned()
            .collect())
    }
}
