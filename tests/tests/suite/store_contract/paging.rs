//! Listing conversations (filters, order, pages) and walking message pages both ways.

use super::*;

/// 25 conversations for one seller, approved at increasing times.
async fn seed_many(s: &dyn Store, n: i64) -> Vec<Conversation> {
    let mut out = Vec::new();
    for i in 0..n {
        let customer = if i % 2 == 0 { "c-even" } else { "c-odd" };
        let mut c = conv("acc", &id(i * 10 + 1), "s1", customer, &format!("P{i}"));
        c.customer.external_id = customer.into();
        let m = msg(&c, &id(i * 10 + 2), Side::Customer, None, T0 + i * 10);
        s.create_conversation(&c, &m, None).await.unwrap();
        s.decide_message(&m, &approved(T0 + 1000 + i * 10))
            .await
            .unwrap();
        if i % 3 == 0 {
            s.set_status(&c, ConversationStatus::Closed, T0 + 5000, None)
                .await
                .unwrap();
        }
        out.push(s.get_conversation("acc", &c.id).await.unwrap().unwrap());
    }
    // Noise: another seller and another account.
    let other = conv("acc", &id(9001), "s2", "c-even", "P0");
    let other_msg = msg(&other, &id(9002), Side::Customer, None, T0);
    s.create_conversation(&other, &other_msg, None)
        .await
        .unwrap();
    s.decide_message(&other_msg, &approved(T0 + 1))
        .await
        .unwrap();
    let foreign = conv("acc2", &id(9003), "s1", "c-even", "P0");
    s.create_conversation(
        &foreign,
        &msg(&foreign, &id(9004), Side::Customer, None, T0),
        None,
    )
    .await
    .unwrap();
    out
}

fn ids(v: &[Conversation]) -> Vec<String> {
    v.iter().map(|c| c.id.clone()).collect()
}

async fn listing_filters_sorts_and_pages(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let all = seed_many(s.as_ref(), 25).await;
    let newest_first: Vec<String> = ids(&all).into_iter().rev().collect();

    // Walk forward with cursors, then back.
    let f = seller_filter("s1");
    let mut seen = Vec::new();
    let mut req = page(10);
    let mut pages = Vec::new();
    loop {
        let p = s.list_conversations("acc", &f, &req).await.unwrap();
        seen.extend(ids(&p.items));
        pages.push(p.items.clone());
        if !p.more {
            break;
        }
        let last = p.items.last().unwrap();
        req.after = balcao::store::list_sort_key(last, &f.viewer);
    }
    assert_eq!(seen, newest_first);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    let first_of_last = &pages[2][0];
    let back = PageRequest {
        limit: 10,
        after: balcao::store::list_sort_key(first_of_last, &f.viewer),
        skip: 0,
        backward: true,
    };
    let p = s.list_conversations("acc", &f, &back).await.unwrap();
    assert_eq!(ids(&p.items), ids(&pages[1]));
    assert!(p.more);

    // Skip (a bare offset) gives the same page as the cursor.
    let p = s
        .list_conversations(
            "acc",
            &f,
            &PageRequest {
                limit: 10,
                after: None,
                skip: 10,
                backward: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&p.items), ids(&pages[1]));

    // Ascending.
    let asc = ConversationFilter {
        ascending: true,
        ..f.clone()
    };
    let p = s.list_conversations("acc", &asc, &page(3)).await.unwrap();
    assert_eq!(ids(&p.items), ids(&all[..3]));

    // Filters: status, customer ref, time window.
    let closed = ConversationFilter {
        status: Some(ConversationStatus::Closed),
        ..f.clone()
    };
    let p = s
        .list_conversations("acc", &closed, &page(100))
        .await
        .unwrap();
    let want: Vec<String> = all
        .iter()
        .rev()
        .filter(|c| c.status == ConversationStatus::Closed)
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids(&p.items), want);
    assert_eq!(want.len(), 9);
    let odd = ConversationFilter {
        from_user_ref_key: Some("c-odd".into()),
        ..f.clone()
    };
    let p = s.list_conversations("acc", &odd, &page(100)).await.unwrap();
    assert_eq!(p.items.len(), 12);
    assert!(p.items.iter().all(|c| c.customer.external_id == "c-odd"));
    let window = ConversationFilter {
        start: Some(T0 + 1050),
        end: Some(T0 + 1100),
        ..f.clone()
    };
    let p = s
        .list_conversations("acc", &window, &page(100))
        .await
        .unwrap();
    assert_eq!(
        ids(&p.items),
        ids(&all[5..=10]).into_iter().rev().collect::<Vec<_>>()
    );

    // A customer's own list, across sellers, not across accounts.
    let mine = ConversationFilter {
        viewer: Viewer::Customer("c-even".into()),
        ..seller_filter("x")
    };
    let p = s
        .list_conversations("acc", &mine, &page(100))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 14);
    assert!(p
        .items
        .iter()
        .all(|c| c.account == "acc" && c.customer.id == "c-even"));
}

async fn message_pages_walk_both_ways(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "P");
    let first = msg(&c, &id(2), Side::Customer, None, T0);
    s.create_conversation(&c, &first, None).await.unwrap();
    s.decide_message(&first, &approved(T0 + 3)).await.unwrap();
    let mut all = vec![first.id.clone()];
    for i in 0..12 {
        let side = if i % 2 == 0 {
            Side::Seller
        } else {
            Side::Customer
        };
        let m = msg(&c, &id(10 + i), side, None, T0 + 10 + i);
        s.add_message(&m, if side == Side::Seller { "s1" } else { "c1" }, None)
            .await
            .unwrap();
        // Every third customer message stays waiting: invisible to the seller.
        if !(side == Side::Customer && i % 3 == 1) {
            s.decide_message(&m, &approved(T0 + 100 + i)).await.unwrap();
        }
        all.push(m.id.clone());
    }
    let seller_all = s
        .list_messages("acc", &c.id, Side::Seller, &page(100))
        .await
        .unwrap();
    let customer_all = s
        .list_messages("acc", &c.id, Side::Customer, &page(100))
        .await
        .unwrap();
    assert_eq!(
        customer_all
            .items
            .iter()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>(),
        all
    );
    assert_eq!(seller_all.items.len(), 13 - 2);
    let p1 = s
        .list_messages("acc", &c.id, Side::Seller, &page(4))
        .await
        .unwrap();
    assert!(p1.more);
    let p2 = s
        .list_messages(
            "acc",
            &c.id,
            Side::Seller,
            &PageRequest {
                limit: 4,
                after: Some(p1.items[3].id.clone()),
                skip: 0,
                backward: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.items, seller_all.items[4..8].to_vec());
    let back = s
        .list_messages(
            "acc",
            &c.id,
            Side::Seller,
            &PageRequest {
                limit: 4,
                after: Some(p2.items[0].id.clone()),
                skip: 0,
                backward: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(back.items, p1.items);
    assert!(!back.more);
    let skipped = s
        .list_messages(
            "acc",
            &c.id,
            Side::Seller,
            &PageRequest {
                limit: 4,
                after: None,
                skip: 4,
                backward: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(skipped.items, p2.items);
    assert!(s
        .list_messages("other", &c.id, Side::Customer, &page(10))
        .await
        .unwrap()
        .items
        .is_empty());
}

both_stores!(
    listing_filters_sorts_and_pages,
    message_pages_walk_both_ways,
);
