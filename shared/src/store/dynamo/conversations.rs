//! DynamoDB: Conversations and messages: topics and external ids are unique through conditional writes in the same transaction as the item; a moderation decision is conditional on the message still waiting.

use super::*;

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn find_topic(&self, topic: TopicKey<'_>) -> Result<Option<String>> {
        let TopicKey {
            account,
            seller,
            customer,
            product: product_id,
        } = topic;
        let item = self
            .get_raw(keys::topic(account, seller, customer, product_id))
            .await?;
        Ok(item.and_then(|i| str_attr(&i, "conversation_id")))
    }

    async fn create_conversation(
        &self,
        conv: &Conversation,
        first: &Message,
        audit: Option<&AuditEntry>,
    ) -> Result<Created> {
        let (pk, sk) = keys::conversation(&conv.account, &conv.id);
        let mut conv_item = to_item(conv, [(PK, pk), (SK, sk)])?;
        conv_item.insert(
            GSI1PK.into(),
            s(keys::seller_conversations(&conv.account, &conv.seller.id)),
        );
        conv_item.insert(
            GSI2PK.into(),
            s(keys::customer_conversations(
                &conv.account,
                &conv.customer.id,
            )),
        );
        conv_item.insert(
            GSI2SK.into(),
            s(keys::interaction_sort_key(
                conv.last_interaction_at.unwrap_or(conv.created_at),
                &conv.id,
            )),
        );
        if let Some(t) = conv.last_interaction_at {
            conv_item.insert(GSI1SK.into(), s(keys::interaction_sort_key(t, &conv.id)));
        }
        let (tpk, tsk) = keys::topic(
            &conv.account,
            &conv.seller.id,
            &conv.customer.id,
            &conv.product_id,
        );
        let mut topic = key(tpk, tsk);
        topic.insert("conversation_id".into(), s(&conv.id));
        let sender_id = conv.party(first.sender).id.clone();
        let mut writes = vec![
            self.put_new(conv_item)?,
            self.put_new(topic)?,
            self.put_new(Self::message_item(first)?)?,
        ];
        if let Some(ext) = Self::external_id_item(first, &sender_id) {
            writes.push(self.put_new(ext)?);
        }
        self.with_message(&mut writes, first, audit)?;
        if self.transact(writes).await? {
            return Ok(Created::Created);
        }
        // Find out which uniqueness rule fired.
        if let Some((c, m)) = self.existing_external_id(first, &sender_id).await? {
            return Ok(Created::DuplicateMessage {
                conversation_id: c,
                message_id: m,
            });
        }
        match self.find_topic(conv.topic()).await? {
            Some(existing) => Ok(Created::TopicExists(existing)),
            None => Err(Error::Conflict(
                "the conversation changed; try again".into(),
            )),
        }
    }

    async fn get_conversation(&self, account: &str, id: &str) -> Result<Option<Conversation>> {
        self.get(keys::conversation(account, id)).await
    }

    async fn list_conversations(
        &self,
        account: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>> {
        let (index, pk_attr, sk_attr, pk) = match &filter.viewer {
            Viewer::Seller(sid) => (
                keys::GSI1,
                GSI1PK,
                GSI1SK,
                keys::seller_conversations(account, sid),
            ),
            Viewer::Customer(cid) => (
                keys::GSI2,
                GSI2PK,
                GSI2SK,
                keys::customer_conversations(account, cid),
            ),
        };
        let mut values = HashMap::new();
        let mut nm = HashMap::new();
        let mut conds = Vec::new();
        if let Some(st) = filter.status {
            conds.push("#status = :status");
            nm.insert("#status".to_owned(), "status".to_owned());
            values.insert(":status".into(), s(st.as_str()));
        }
        if let Some(r) = &filter.from_user_ref_key {
            conds.push("#customer.#ext = :ref");
            nm.insert("#customer".to_owned(), "customer".to_owned());
            nm.insert("#ext".to_owned(), "external_id".to_owned());
            values.insert(":ref".into(), s(r));
        }
        let q = PagedQuery {
            index: Some(index),
            pk_attr,
            sk_attr,
            pk,
            range: keys::interaction_range(filter.start, filter.end),
            filter: (!conds.is_empty()).then(|| conds.join(" AND ")),
            names: nm,
            values,
            ascending: filter.ascending,
            cursor_prefix: "",
        };
        self.query_page(q, page).await
    }

    async fn add_message(
        &self,
        msg: &Message,
        sender_id: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<Added> {
        let (cpk, csk) = keys::conversation(&msg.account, &msg.conversation_id);
        let mut writes = vec![
            TransactWriteItem::builder()
                .condition_check(
                    aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(cpk, csk)))
                        .condition_expression("attribute_exists(PK)")
                        .build()
                        .map_err(Error::unexpected)?,
                )
                .build(),
            self.put_new(Self::message_item(msg)?)?,
        ];
        if let Some(ext) = Self::external_id_item(msg, sender_id) {
            writes.push(self.put_new(ext)?);
        }
        self.with_message(&mut writes, msg, audit)?;
        if self.transact(writes).await? {
            return Ok(Added::Added);
        }
        match self.existing_external_id(msg, sender_id).await? {
            Some((c, m)) => Ok(Added::DuplicateMessage {
                conversation_id: c,
                message_id: m,
            }),
            None => Err(Error::NotFound("conversation".into())),
        }
    }

    async fn get_message(&self, addr: MessageKey<'_>) -> Result<Option<Message>> {
        let MessageKey {
            account,
            conversation: conv,
            message: id,
        } = addr;
        self.get(keys::message(account, conv, id)).await
    }

    async fn list_messages(
        &self,
        account: &str,
        conv: &str,
        viewer: Side,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let q = PagedQuery {
            index: None,
            pk_attr: PK,
            sk_attr: SK,
            pk: keys::conversation(account, conv).0,
            range: keys::prefix_range(keys::MESSAGE_PREFIX),
            filter: Some("#sender = :viewer OR #mod.#st = :approved".to_owned()),
            names: names(&[
                ("#sender", "sender"),
                ("#mod", "moderation"),
                ("#st", "status"),
            ]),
            values: HashMap::from([
                (":viewer".to_owned(), s(viewer.as_str())),
                (
                    ":approved".to_owned(),
                    s(ModerationStatus::Approved.as_str()),
                ),
            ]),
            ascending: true,
            cursor_prefix: keys::MESSAGE_PREFIX,
        };
        self.query_page(q, page).await
    }

    async fn mark_read(
        &self,
        account: &str,
        conv: &str,
        side: Side,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let (expr, nm) = match side {
            Side::Seller => (
                "SET #read = :now, #unread = :zero, #new = :false",
                names(&[
                    ("#read", "seller_read_at"),
                    ("#unread", "unread_to_count"),
                    ("#new", "is_new_to"),
                ]),
            ),
            Side::Customer => (
                "SET #read = :now, #unread = :zero",
                names(&[
                    ("#read", "customer_read_at"),
                    ("#unread", "unread_from_count"),
                ]),
            ),
        };
        let mut vals = HashMap::from([(":now".to_owned(), n(now)), (":zero".to_owned(), n(0))]);
        if side == Side::Seller {
            vals.insert(":false".into(), AttributeValue::Bool(false));
        }
        self.update_conversation(account, conv, expr, nm, vals)
            .await
    }

    async fn set_status(
        &self,
        conv: &Conversation,
        status: ConversationStatus,
        now: Millis,
        event: Option<&WebhookEvent>,
    ) -> Result<Option<Conversation>> {
        let expr = "SET #status = :status, #updated = :now";
        let nm = names(&[("#status", "status"), ("#updated", "updated_at")]);
        let vals = HashMap::from([
            (":status".to_owned(), s(status.as_str())),
            (":now".to_owned(), n(now)),
        ]);
        let Some(event) = event else {
            return self
                .update_conversation(&conv.account, &conv.id, expr, nm, vals)
                .await;
        };
        // The change and its event in one transaction: an update answers no item, so the
        // answer is the caller's copy with the change applied.
        let update = self.conversation_write(&conv.account, &conv.id, expr, nm, vals)?;
        let entry = OutboxEvent {
            written_at: now,
            event: event.clone(),
        };
        let (opk, osk) = keys::outbox(&event.id, now);
        let mut item = to_item(&entry, [(PK, opk), (SK, osk)])?;
        // Left after every send failed for a day, it goes (the sweeper gives up on it then).
        item.insert(
            keys::TTL.to_owned(),
            n((now + 2 * crate::workers::sweeper::GIVE_UP_AFTER_MS).div_euclid(1000)),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(Error::unexpected)?;
        let writes = vec![update, TransactWriteItem::builder().put(put).build()];
        if !self.transact(writes).await? {
            return Ok(None);
        }
        Ok(Some(Conversation {
            status,
            updated_at: now,
            ..conv.clone()
        }))
    }

    async fn decide_message(&self, msg: &Message, moderation: &Moderation) -> Result<Decided> {
        let (account, conv, id) = (
            msg.account.as_str(),
            msg.conversation_id.as_str(),
            msg.id.as_str(),
        );
        let (mpk, msk) = keys::message(account, conv, id);
        let msg_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(mpk, msk)))
            .update_expression("SET #mod = :m, #pending = :true")
            .condition_expression("#mod.#st = :waiting")
            .set_expression_attribute_names(Some(names(&[
                ("#mod", "moderation"),
                ("#st", "status"),
                ("#pending", "events_pending"),
            ])))
            .set_expression_attribute_values(Some(HashMap::from([
                (":m".to_owned(), attr(moderation)?),
                (
                    ":waiting".to_owned(),
                    s(ModerationStatus::WaitingModeration.as_str()),
                ),
                (":true".to_owned(), AttributeValue::Bool(true)),
            ])))
            .build()
            .map_err(Error::unexpected)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(msg_update).build(),
            // The marker goes with the decision (a message written before markers had none).
            self.delete_write(keys::pending(account, conv, id, msg.when_at))?,
        ];
        let approved = moderation.status == ModerationStatus::Approved;
        let at = moderation.when_at.unwrap_or(msg.when_at);
        if approved {
            let sort = keys::interaction_sort_key(at, conv);
            let (expr, unread) = match msg.sender {
                Side::Customer => (
                    "SET #lm = :lm, #lia = :at, #upd = :at, #first = if_not_exists(#first, :mid), #new = :true, #status = :opened, GSI1SK = :sk, GSI2SK = :sk ADD #unread :one",
                    "unread_to_count",
                ),
                Side::Seller => (
                    "SET #lm = :lm, #lia = :at, #upd = :at, #first = if_not_exists(#first, :mid), GSI1SK = :sk, GSI2SK = :sk ADD #unread :one",
                    "unread_from_count",
                ),
            };
            let mut nm = names(&[
                ("#lm", "last_message"),
                ("#lia", "last_interaction_at"),
                ("#upd", "updated_at"),
                ("#unread", unread),
                ("#first", "first_approved_message_id"),
            ]);
            let mut vals = HashMap::from([
                (":lm".to_owned(), attr(&msg.minimal())?),
                (":at".to_owned(), n(at)),
                (":sk".to_owned(), s(sort)),
                (":one".to_owned(), n(1)),
                (":mid".to_owned(), s(id)),
            ]);
            if msg.sender == Side::Customer {
                nm.insert("#new".into(), "is_new_to".into());
                nm.insert("#status".into(), "status".into());
                vals.insert(":true".into(), AttributeValue::Bool(true));
                vals.insert(":opened".into(), s(ConversationStatus::Opened.as_str()));
            }
            writes.push(self.conversation_write(account, conv, expr, nm, vals)?);
        }
        if !self.transact(writes).await? {
            // Decided meanwhile, or cancelled by a concurrent write: only the first is final.
            let now = self
                .get::<Message>(keys::message(account, conv, id))
                .await?;
            return match now {
                Some(m) if m.moderation.status != ModerationStatus::WaitingModeration => {
                    Ok(Decided::AlreadyDecided)
                }
                Some(_) => Err(Error::unexpected_msg(
                    "moderation decision cancelled by a concurrent write",
                )),
                None => Ok(Decided::NotFound),
            };
        }
        Ok(Decided::Applied)
    }

    async fn list_pending(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<PendingMessage>> {
        self.query_shards(
            keys::pending_shard,
            (from, before),
            limit,
            |p: &PendingMessage| (p.when_at, p.message_id.clone()),
        )
        .await
    }

    async fn list_outbox(
        &self,
        from: Millis,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>> {
        self.query_shards(
            keys::outbox_shard,
            (from, before),
            limit,
            |e: &OutboxEvent| (e.written_at, e.event.id.clone()),
        )
        .await
    }

    async fn delete_outbox(&self, entry: &OutboxEvent) -> Result<()> {
        self.delete_item(keys::outbox(&entry.event.id, entry.written_at))
            .await
    }

    async fn clear_events_pending(&self, addr: MessageKey<'_>) -> Result<()> {
        let MessageKey {
            account,
            conversation: conv,
            message: id,
        } = addr;
        self.update_if_exists(
            keys::message(account, conv, id),
            "SET #pending = :false",
            &[("#pending", "events_pending")],
            HashMap::from([(":false".to_owned(), AttributeValue::Bool(false))]),
        )
        .await
    }
}
