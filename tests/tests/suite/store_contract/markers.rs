//! What is written with a message and a session: pending marker, audit entries.

use super::*;

/// A message is written with its pending marker and its audit entry in one step, and a
/// refused write (a repeated external_id) writes neither; the decision removes the marker.
async fn messages_carry_their_marker_and_audit_entry(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "P");
    let (m1, m2, a1, a2) = (id(2), id(3), id(50), id(51));
    let first = msg(&c, &m1, Side::Customer, Some("w-1"), T0);
    let entry = |n: &str, m: &Message| AuditEntry {
        id: n.to_owned(),
        account: "acc".into(),
        at: m.when_at,
        action: AuditAction::Message,
        operator: Some("op@acc.example".into()),
        customer: Some("c1@example.com".into()),
        session_id: id(99),
        reason: None,
        client_ip: None,
        user_agent: None,
        conversation_id: Some(m.conversation_id.clone()),
        message_id: Some(m.id.clone()),
    };
    assert_eq!(
        s.create_conversation(&c, &first, Some(&entry(&a1, &first)))
            .await
            .unwrap(),
        Created::Created
    );
    let second = msg(&c, &m2, Side::Customer, Some("w-2"), T0 + 10);
    assert_eq!(
        s.add_message(&second, "c1", Some(&entry(&a2, &second)))
            .await
            .unwrap(),
        Added::Added
    );
    // The same external_id again: refused, and its audit entry with it.
    let again = msg(&c, &id(4), Side::Customer, Some("w-2"), T0 + 20);
    assert!(matches!(
        s.add_message(&again, "c1", Some(&entry(&id(52), &again)))
            .await
            .unwrap(),
        Added::DuplicateMessage { .. }
    ));
    let trail = s.list_audit("acc", &page(10)).await.unwrap();
    let ids: Vec<&str> = trail.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [a2.as_str(), a1.as_str()]);
    // Both messages wait; the window bounds which are listed.
    let pending = |from, before| {
        let s = s.clone();
        async move {
            s.list_pending(from, before, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.message_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(pending(0, T0 + 100).await, vec![m1.clone(), m2.clone()]);
    assert_eq!(
        pending(0, T0 + 10).await,
        vec![m1.clone()],
        "before is exclusive"
    );
    assert_eq!(pending(T0 + 5, T0 + 100).await, vec![m2.clone()]);
    assert_eq!(
        s.decide_message(&first, &approved(T0 + 30)).await.unwrap(),
        Decided::Applied
    );
    assert_eq!(pending(0, T0 + 100).await, vec![m2.clone()]);
    let p = &s.list_pending(0, T0 + 100, 10).await.unwrap()[0];
    assert_eq!(
        (p.account.as_str(), p.conversation_id.as_str(), p.when_at),
        ("acc", c.id.as_str(), T0 + 10)
    );
}

/// A session is saved with its audit entries, and a rotated id replaces the old one, at once.
async fn sessions_are_saved_with_their_audit_entries(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let session = |id: &str| Session {
        id: id.to_owned(),
        account: "acc".into(),
        public: Default::default(),
        admin_user_email: None,
        impersonation_input: None,
        impersonation: None,
        created_at: T0,
        valid_until: T0 + 1_000_000,
    };
    let (old, new, e1) = (id(1), id(2), id(3));
    s.save_session(&session(&old), &[], None).await.unwrap();
    let entry = AuditEntry {
        id: e1.clone(),
        account: "acc".into(),
        at: T0,
        action: AuditAction::Start,
        operator: Some("op@acc.example".into()),
        customer: Some("c@example.com".into()),
        session_id: new.clone(),
        reason: None,
        client_ip: None,
        user_agent: None,
        conversation_id: None,
        message_id: None,
    };
    s.save_session(&session(&new), std::slice::from_ref(&entry), Some(&old))
        .await
        .unwrap();
    assert!(
        s.get_session(&old, T0).await.unwrap().is_none(),
        "the old id is gone"
    );
    assert_eq!(s.get_session(&new, T0).await.unwrap().unwrap().id, new);
    let trail = s.list_audit("acc", &page(10)).await.unwrap();
    assert_eq!(trail.items, vec![entry]);
}

/// A status change carries its webhook event into the outbox in the same step; a change on a
/// missing conversation writes neither; the window bounds what is listed; a deleted entry is
/// gone (and deleting it twice is fine).
async fn status_changes_carry_their_outbox_event(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "P");
    s.create_conversation(&c, &msg(&c, &id(2), Side::Customer, None, T0), None)
        .await
        .unwrap();
    let event = |n: i64, at: i64| {
        let mut changed = c.clone();
        changed.status = ConversationStatus::Closed;
        WebhookEvent::about(
            format!("evt_{}", id(n)),
            &changed,
            at,
            ("conversation", "UPDATED"),
            None,
        )
    };
    let (e1, e2) = (event(10, T0 + 10), event(11, T0 + 20));
    let closed = s
        .set_status(&c, ConversationStatus::Closed, T0 + 10, Some(&e1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.status, closed.updated_at),
        (ConversationStatus::Closed, T0 + 10)
    );
    assert_eq!(
        s.get_conversation("acc", &c.id).await.unwrap().unwrap(),
        closed,
        "the answer is what was written"
    );
    s.set_status(&c, ConversationStatus::Opened, T0 + 20, Some(&e2))
        .await
        .unwrap()
        .unwrap();
    let mut gone = c.clone();
    gone.id = id(3);
    assert_eq!(
        s.set_status(
            &gone,
            ConversationStatus::Closed,
            T0 + 30,
            Some(&event(12, T0 + 30))
        )
        .await
        .unwrap(),
        None
    );
    let listed = |from, before| {
        let s = s.clone();
        async move {
            s.list_outbox(from, before, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.written_at, o.event.id))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(0, T0 + 100).await,
        vec![(T0 + 10, e1.id.clone()), (T0 + 20, e2.id.clone())],
        "the missing conversation's event is not written"
    );
    assert_eq!(listed(0, T0 + 20).await.len(), 1, "before is exclusive");
    assert_eq!(listed(T0 + 11, T0 + 100).await.len(), 1);
    let all = s.list_outbox(0, T0 + 100, 10).await.unwrap();
    assert_eq!(all[0].event, e1, "the event is stored whole");
    assert_eq!(s.list_outbox(0, T0 + 100, 1).await.unwrap().len(), 1);
    s.delete_outbox(&all[0]).await.unwrap();
    s.delete_outbox(&all[0]).await.unwrap();
    assert_eq!(listed(0, T0 + 100).await, vec![(T0 + 20, e2.id.clone())]);
}

both_stores!(
    messages_carry_their_marker_and_audit_entry,
    sessions_are_saved_with_their_audit_entries,
    status_changes_carry_their_outbox_event,
);
