//! The embedded store: rates.

use super::*;

#[async_trait]
impl RateStore for MemoryStore {
    async fn take(&self, key: &str, window_ms: Millis, limit: u32, now: Millis) -> Result<bool> {
        let mut s = self.state.lock().await;
        let start = now - now.rem_euclid(window_ms.max(1));
        // Past windows are forgotten (DynamoDB's TTL does the same for the table).
        if s.rates.len() > 4096 {
            s.rates.retain(|(_, w), _| *w >= start);
        }
        let n = s.rates.entry((key.to_owned(), start)).or_default();
        if *n >= limit {
            return Ok(false);
        }
        *n += 1;
        Ok(true)
    }
}
