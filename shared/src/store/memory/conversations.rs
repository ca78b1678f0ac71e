//! The embedded store: conversations.

use super::*;
use crate::store::keys;

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn find_topic(&self, topic: TopicKey<'_>) -> Result<Option<String>> {
        let TopicKey {
            account,
            seller,
            customer,
            product: product_id,
        } = topic;
        let s = self.state.lock().await;
        let key = (
            account.into(),
            seller.into(),
            customer.into(),
            product_id.into(),
        );
        Ok(s.topics.get(&key).cloned())
    }

    async fn create_conversation(
        &self,
        conv: &Conversation,
        first: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<Created> {
        let mut s = self.state.lock().await;
        let topic = (
            conv.account.clone(),
            conv.seller.id.clone(),
            conv.customer.id.clone(),
            conv.product_id.clone(),
        );
        if let Some(existing) = s.topics.get(&topic) {
            return Ok(Created::TopicExists(existing.clone()));
        }
        let ext_key = first.external_id.as_ref().map(|e| {
            (
                conv.account.clone(),
                first.sender,
                conv.party(first.sender).id.clone(),
                e.clone(),
            )
        });
        if let Some((c, m)) = ext_key.as_ref().and_then(|k| s.external_ids.get(k)) {
            return Ok(Created::DuplicateMessage {
                conversation_id: c.clone(),
                message_id: m.clone(),
            });
        }
        s.topics.insert(topic, conv.id.clone());
        if let Some(k) = ext_key {
            s.external_ids
                .insert(k, (conv.id.clone(), first.id.clone()));
        }
        s.conversations
            .insert((conv.account.clone(), conv.id.clone()), conv.clone());
        s.messages.insert(
            (
                first.account.clone(),
                first.conversation_id.clone(),
                first.id.clone(),
            ),
            first.clone(),
        );
        s.written(first, audit);
        Ok(Created::Created)
    }

    async fn get_conversation(&self, account: &str, id: &str) -> Result<Option<Conversation>> {
        let s = self.state.lock().await;
        Ok(s.conversations
            .get(&(account.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn list_conversations(
        &self,
        account: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>> {
        let s = self.state.lock().await;
        let mut rows: Vec<(String, Conversation)> = s
            .conversations
            .values()
            .filter(|c| c.account == account)
            .filter_map(|c| c.listed_at(&filter.viewer).map(|t| (t, c)))
            .filter(|&(t, c)| {
                filter.start.is_none_or(|st| t >= st)
                    && filter.end.is_none_or(|en| t <= en)
                    && filter.status.is_none_or(|st| c.status == st)
                    && filter
                        .from_user_ref_key
                        .as_ref()
                        .is_none_or(|r| &c.customer.external_id == r)
            })
            .map(|(t, c)| (keys::interaction_sort_key(t, &c.id), c.clone()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        if !filter.ascending {
            rows.reverse();
        }
        Ok(take_page(rows, page, filter.ascending))
    }

    async fn add_message(
        &self,
        msg: &Message,
        sender_id: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<Added> {
        let mut s = self.state.lock().await;
        let conv_key = (msg.account.clone(), msg.conversation_id.clone());
        if !s.conversations.contains_key(&conv_key) {
            return Err(crate::error::Error::NotFound("conversation".into()));
        }
        if let Some(e) = &msg.external_id {
            let k = (
                msg.account.clone(),
                msg.sender,
                sender_id.to_owned(),
                e.clone(),
            );
            if let Some((c, m)) = s.external_ids.get(&k) {
                return Ok(Added::DuplicateMessage {
                    conversation_id: c.clone(),
                    message_id: m.clone(),
                });
            }
            s.external_ids
                .insert(k, (msg.conversation_id.clone(), msg.id.clone()));
        }
        s.messages.insert(
            (
                msg.account.clone(),
                msg.conversation_id.clone(),
                msg.id.clone(),
            ),
            msg.clone(),
        );
        s.written(msg, audit);
        Ok(Added::Added)
    }

    async fn get_message(&self, key: MessageKey<'_>) -> Result<Option<Message>> {
        let MessageKey {
            account,
            conversation: conv,
            message: id,
        } = key;
        let s = self.state.lock().await;
        Ok(s.messages
            .get(&(account.to_owned(), conv.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn list_messages(
        &self,
        account: &str,
        conv: &str,
        viewer: Side,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let s = self.state.lock().await;
        let lo = (account.to_owned(), conv.to_owned(), String::new());
        let rows = s
            .messages
            .range(lo..)
            .take_while(|((a, c, _), _)| a == account && c == conv)
            .filter(|(_, m)| m.visible_to(viewer))
            .map(|((_, _, id), m)| (id.clone(), m.clone()))
            .collect();
        Ok(take_page(rows, page, true))
    }

    async fn mark_read(
        &self,
        account: &str,
        conv: &str,
        side: Side,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let mut s = self.state.lock().await;
        let Some(c) = s
            .conversations
            .get_mut(&(account.to_owned(), conv.to_owned()))
        else {
            return Ok(None);
        };
        c.mark_read(side, now);
        Ok(Some(c.clone()))
    }

    async fn set_status(
        &self,
        conv: &Conversation,
        status: ConversationStatus,
        now: Millis,
        event: Option<&WebhookEvent>,
    ) -> Result<Option<Conversation>> {
        let mut s = self.state.lock().await;
        let Some(c) = s
            .conversations
            .get_mut(&(conv.account.clone(), conv.id.clone()))
        else {
            return Ok(None);
        };
        c.status = status;
        c.updated_at = now;
        let out = c.clone();
        if let Some(e) = event {
            s.outbox.insert((now, e.id.clone()), e.clone());
        }
        Ok(Some(out))
    }

    async fn decide_message(&self, msg: &Message, moderation: &Moderation) -> Result<Decided> {
        let mut s = self.state.lock().await;
        let mkey = (
            msg.account.clone(),
            msg.conversation_id.clone(),
            msg.id.clone(),
        );
        let ckey = (msg.account.clone(), msg.conversation_id.clone());
        let (Some(stored), true) = (
            s.messages.get(&mkey).cloned(),
            s.conversations.contains_key(&ckey),
        ) else {
            return Ok(Decided::NotFound);
        };
        if stored.moderation.status != ModerationStatus::WaitingModeration {
            return Ok(Decided::AlreadyDecided);
        }
        let mut stored = stored;
        stored.moderation = moderation.clone();
        stored.events_pending = true;
        s.pending.remove(&(
            stored.when_at,
            stored.account.clone(),
            stored.conversation_id.clone(),
            stored.id.clone(),
        ));
        s.messages.insert(mkey, stored.clone());
        if moderation.status == ModerationStatus::Approved {
            let at = moderation.when_at.unwrap_or(stored.when_at);
            if let Some(c) = s.conversations.get_mut(&ckey) {
                c.apply_approval(&stored, at);
            }
        }
        Ok(Decided::Applied)
    }

    async fn list_pending(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<PendingMessage>> {
        let s = self.state.lock().await;
        Ok(s.pending
            .iter()
            .skip_while(|(when, ..)| *when < from)
            .take_while(|(when, ..)| *when < before)
            .take(limit)
            .map(|(when, a, c, id)| PendingMessage {
                account: a.clone(),
                conversation_id: c.clone(),
                message_id: id.clone(),
                when_at: *when,
            })
            .collect())
    }

    async fn list_outbox(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>> {
        let s = self.state.lock().await;
        Ok(s.outbox
            .range((from, String::new())..(before, String::new()))
            .take(limit)
            .map(|((at, _), e)| OutboxEvent {
                written_at: *at,
                event: e.clone(),
            })
            .collect())
    }

    async fn delete_outbox(&self, entry: &OutboxEvent) -> Result<()> {
        let mut s = self.state.lock().await;
        s.outbox.remove(&(entry.written_at, entry.event.id.clone()));
        Ok(())
    }

    async fn clear_events_pending(&self, key: MessageKey<'_>) -> Result<()> {
        let MessageKey {
            account,
            conversation: conv,
            message: id,
        } = key;
        let mut s = self.state.lock().await;
        if let Some(m) = s
            .messages
            .get_mut(&(account.to_owned(), conv.to_owned(), id.to_owned()))
        {
            m.events_pending = false;
        }
        Ok(())
    }
}
