//! DynamoDB: WebSocket connections. One item per connection, keyed by its id (read at
//! `$default` and `$disconnect`) and in the GSI1 partition of its viewer (a push is one Query);
//! DynamoDB's TTL removes it after its credential ran out, and reads check the time too (TTL
//! deletes late).

use super::*;

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, conn: &Connection) -> Result<()> {
        let (pk, sk) = keys::connection(&conn.id);
        let mut item = to_item(conn, [(PK, pk), (SK, sk)])?;
        item.insert(
            GSI1PK.to_owned(),
            s(keys::viewer_connections(&conn.account, &conn.viewer)),
        );
        item.insert(GSI1SK.to_owned(), s(&conn.id));
        item.insert(
            keys::TTL.to_owned(),
            n(conn.valid_until.div_euclid(1000) + 1),
        );
        self.put_item(item).await
    }

    async fn get_connection(&self, id: &str, now: Millis) -> Result<Option<Connection>> {
        let c: Option<Connection> = self.get(keys::connection(id)).await?;
        Ok(c.filter(|c| c.valid_until > now))
    }

    async fn delete_connection(&self, id: &str) -> Result<()> {
        self.delete_item(keys::connection(id)).await
    }

    async fn connections_of(
        &self,
        account: &str,
        viewer: &Viewer,
        now: Millis,
    ) -> Result<Vec<Connection>> {
        let all: Vec<Connection> = self
            .query_index(keys::viewer_connections(account, viewer))
            .await?;
        Ok(all
            .into_iter()
            .filter(|c| c.valid_until > now && c.account == account && &c.viewer == viewer)
            .collect())
    }
}
