//! Moderation decides once and moves the counters on approval.

use super::*;

async fn moderation_decides_once_and_moves_counters_on_approval(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "P");
    let first = msg(&c, &id(2), Side::Customer, None, T0 + 2);
    s.create_conversation(&c, &first, None).await.unwrap();
    // Before approval the seller sees neither the message nor the conversation.
    let seller_view = s
        .list_messages("acc", &c.id, Side::Seller, &page(10))
        .await
        .unwrap();
    assert!(seller_view.items.is_empty());
    let customer_view = s
        .list_messages("acc", &c.id, Side::Customer, &page(10))
        .await
        .unwrap();
    assert_eq!(customer_view.items.len(), 1);
    assert!(s
        .list_conversations("acc", &seller_filter("s1"), &page(10))
        .await
        .unwrap()
        .items
        .is_empty());

    assert_eq!(
        s.decide_message(&first, &approved(T0 + 100)).await.unwrap(),
        Decided::Applied
    );
    let m = s
        .get_message(MessageKey {
            account: "acc",
            conversation: &c.id,
            message: &first.id,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.moderation.status, ModerationStatus::Approved);
    assert!(m.events_pending);
    s.clear_events_pending(MessageKey {
        account: "acc",
        conversation: &c.id,
        message: &first.id,
    })
    .await
    .unwrap();
    assert!(
        !s.get_message(MessageKey {
            account: "acc",
            conversation: &c.id,
            message: &first.id
        })
        .await
        .unwrap()
        .unwrap()
        .events_pending
    );
    let after = s.get_conversation("acc", &c.id).await.unwrap().unwrap();
    assert_eq!(
        after.first_approved_message_id.as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(after.unread_to_count, 1);
    assert_eq!(after.unread_from_count, 0);
    assert!(after.is_new_to);
    assert_eq!(after.last_interaction_at, Some(T0 + 100));
    assert_eq!(after.last_message.as_ref().unwrap().id, first.id);
    // Redelivery: nothing moves twice.
    assert_eq!(
        s.decide_message(&first, &approved(T0 + 200)).await.unwrap(),
        Decided::AlreadyDecided
    );
    let stored = s.get_conversation("acc", &c.id).await.unwrap().unwrap();
    assert_eq!(stored, after);
    assert_eq!(
        s.list_conversations("acc", &seller_filter("s1"), &page(10))
            .await
            .unwrap()
            .items,
        vec![stored.clone()]
    );
    assert_eq!(
        s.list_messages("acc", &c.id, Side::Seller, &page(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // A rejection is recorded but moves nothing and stays hidden from the recipient.
    let bad = msg(&c, &id(300), Side::Customer, None, T0 + 300);
    s.add_message(&bad, "c1", None).await.unwrap();
    let rejected = Moderation {
        status: ModerationStatus::Rejected,
        when_at: Some(T0 + 301),
        block_rules: vec![BlockRule {
            reason: "CPF".into(),
            tags: vec!["CPF".into()],
            fields: vec!["content".into()],
        }],
    };
    assert_eq!(
        s.decide_message(&bad, &rejected).await.unwrap(),
        Decided::Applied
    );
    assert_eq!(
        s.get_conversation("acc", &c.id).await.unwrap().unwrap(),
        stored
    );
    assert_eq!(
        s.get_message(MessageKey {
            account: "acc",
            conversation: &c.id,
            message: &bad.id
        })
        .await
        .unwrap()
        .unwrap()
        .moderation,
        rejected
    );
    assert_eq!(
        s.list_messages("acc", &c.id, Side::Seller, &page(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        s.list_messages("acc", &c.id, Side::Customer, &page(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // A seller reply, approved, counts for the customer.
    let reply = msg(&c, &id(400), Side::Seller, None, T0 + 400);
    s.add_message(&reply, "s1", None).await.unwrap();
    s.decide_message(&reply, &approved(T0 + 401)).await.unwrap();
    let now = s.get_conversation("acc", &c.id).await.unwrap().unwrap();
    assert_eq!((now.unread_to_count, now.unread_from_count), (1, 1));
    assert_eq!(now.last_message.unwrap().id, reply.id);
    // The first approved message stays the one that showed the conversation.
    assert_eq!(
        now.first_approved_message_id.as_deref(),
        Some(first.id.as_str())
    );

    // Reading resets the reader's side only.
    let read = s
        .mark_read("acc", &c.id, Side::Seller, T0 + 500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.unread_to_count, read.unread_from_count, read.is_new_to),
        (0, 1, false)
    );
    assert_eq!(read.seller_read_at, Some(T0 + 500));
    let read = s
        .mark_read("acc", &c.id, Side::Customer, T0 + 501)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.unread_from_count, 0);
    assert_eq!(
        s.mark_read("other", &c.id, Side::Seller, T0).await.unwrap(),
        None
    );
    let mut foreign = reply.clone();
    foreign.account = "other".into();
    assert_eq!(
        s.decide_message(&foreign, &approved(T0)).await.unwrap(),
        Decided::NotFound
    );

    // Status changes; a closed conversation reopens when a customer message is approved.
    let closed = s
        .set_status(&c, ConversationStatus::Closed, T0 + 600, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    let back = msg(&c, &id(700), Side::Customer, None, T0 + 700);
    s.add_message(&back, "c1", None).await.unwrap();
    s.decide_message(&back, &approved(T0 + 701)).await.unwrap();
    assert_eq!(
        s.get_conversation("acc", &c.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ConversationStatus::Opened
    );
    let mut foreign = c.clone();
    foreign.account = "other".into();
    assert_eq!(
        s.set_status(&foreign, ConversationStatus::Closed, T0, None)
            .await
            .unwrap(),
        None
    );
}

both_stores!(moderation_decides_once_and_moves_counters_on_approval,);
