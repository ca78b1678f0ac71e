//! The store contract: every case runs against the embedded store and against DynamoDB (moto),
//! and must give the same results. This is what keeps the embedded default honest.

use std::collections::BTreeMap;
use std::sync::Arc;

use balcao::domain::model::*;
use balcao::store::{Added, ConversationFilter, Created, Decided, PageRequest, Store, Viewer};
use balcao_local::Backend;
use balcao_tests::both_stores;
use balcao_tests::ACME;
use balcao_tests::{backend, dynamo_available, StoreKind, TestClock};

const T0: i64 = 1_795_000_000_000;

async fn store(kind: StoreKind) -> Option<Arc<dyn Store>> {
    if kind == StoreKind::Dynamo && !dynamo_available() {
        return None;
    }
    let b = backend(kind);
    assert!(matches!(b, Backend::Embedded) || kind == StoreKind::Dynamo);
    let stack = balcao_local::build(&b, Arc::new(TestClock::new()))
        .await
        .unwrap();
    Some(stack.app.store.clone())
}

fn conv(account: &str, id: &str, seller: &str, customer: &str, product: &str) -> Conversation {
    Conversation {
        account: account.into(),
        id: id.into(),
        display_name: Some("Dúvida".into()),
        seller: Party {
            id: seller.into(),
            external_id: seller.into(),
            full_name: "ACME".into(),
        },
        customer: Party {
            id: customer.into(),
            external_id: format!("ref-{customer}"),
            full_name: "Maria".into(),
        },
        identified_via: IdentifiedVia::VisitorIdentification,
        product_id: product.into(),
        tags: vec![Tag {
            name: "productId".into(),
            value: product.into(),
        }],
        status: ConversationStatus::Opened,
        unread_from_count: 0,
        unread_to_count: 0,
        is_new_to: false,
        last_message: None,
        created_at: T0,
        updated_at: T0,
        last_interaction_at: None,
        seller_read_at: None,
        customer_read_at: None,
        first_approved_message_id: None,
    }
}

fn msg(c: &Conversation, id: &str, sender: Side, ext: Option<&str>, at: i64) -> Message {
    Message {
        account: c.account.clone(),
        conversation_id: c.id.clone(),
        id: id.into(),
        external_id: ext.map(str::to_owned),
        sender,
        owner: (sender == Side::Seller).then(|| Owner {
            name: "Ana".into(),
            external_id: "u1".into(),
        }),
        content: format!("mensagem {id}"),
        attachments: vec!["https://cdn.example/a.png".into()],
        custom_fields: vec![CustomField {
            name: "pedido".into(),
            value: "123".into(),
        }],
        metadata: BTreeMap::new(),
        moderation: Moderation {
            status: ModerationStatus::WaitingModeration,
            when_at: None,
            block_rules: vec![],
        },
        when_at: at,
        events_pending: false,
    }
}

fn approved(at: i64) -> Moderation {
    Moderation {
        status: ModerationStatus::Approved,
        when_at: Some(at),
        block_rules: vec![],
    }
}

/// An id of the issued shape whose time part is `n` ms after T0.
fn id(n: i64) -> String {
    balcao::ids::new_id(T0 + n)
}

fn page(limit: usize) -> PageRequest {
    PageRequest {
        limit,
        after: None,
        skip: 0,
        backward: false,
    }
}

fn seller_filter(seller: &str) -> ConversationFilter {
    ConversationFilter {
        viewer: Viewer::Seller(seller.into()),
        status: None,
        from_user_ref_key: None,
        start: None,
        end: None,
        ascending: false,
    }
}

async fn tenants_round_trip(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let a = Account {
        id: "acc-x".into(),
        name: "X".into(),
        tier: Tier::Enterprise,
        moderation: ModerationSettings {
            blocked_words: vec!["x".into()],
            allowed_domains: vec!["x.com".into()],
        },
    };
    s.put_account(&a).await.unwrap();
    assert_eq!(s.get_account("acc-x").await.unwrap(), Some(a));
    assert_eq!(s.get_account("nope").await.unwrap(), None);
    // The demo fixture is loaded in both.
    assert_eq!(
        s.get_account("lojastarter").await.unwrap().unwrap().tier,
        Tier::Starter
    );
    let seller = s.get_seller("lojademo", ACME).await.unwrap().unwrap();
    assert_eq!(seller.name, "ACME Eletro");
    assert_eq!(s.get_seller("lojastarter", ACME).await.unwrap(), None);
    let tok = AppToken {
        hash: "ab".repeat(32),
        account: "acc-x".into(),
        name: "t".into(),
        scopes: vec!["s1".into()],
        created_at: T0,
    };
    s.put_app_token(&tok).await.unwrap();
    assert_eq!(s.get_app_token(&"ab".repeat(32)).await.unwrap(), Some(tok));
}

/// What the provisioning CLI lists: every account; an account's sellers, operators and app
/// tokens, never another account's; a token revoked only by its own account.
async fn provisioning_lists_stay_within_the_account(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let fixture_accounts: Vec<String> = s
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(fixture_accounts.contains(&"lojademo".to_owned()));
    for id in ["zz-b", "zz-a"] {
        let a = Account {
            id: id.into(),
            name: id.to_uppercase(),
            tier: Tier::Professional,
            moderation: ModerationSettings::default(),
        };
        s.put_account(&a).await.unwrap();
        // A second write of the same account does not list it twice.
        s.put_account(&a).await.unwrap();
    }
    let ids: Vec<String> = s
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids.len(), fixture_accounts.len() + 2);
    assert_eq!(&ids[ids.len() - 2..], ["zz-a", "zz-b"]);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    for (account, seller) in [("zz-a", "s2"), ("zz-a", "s1"), ("zz-b", "s3")] {
        let seller = Seller {
            account: account.into(),
            id: seller.into(),
            name: format!("Seller {seller}"),
        };
        s.put_seller(&seller).await.unwrap();
    }
    let sellers = s.list_sellers("zz-a").await.unwrap();
    let seller_ids: Vec<&str> = sellers.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(seller_ids, ["s1", "s2"]);
    assert_eq!(sellers[0].name, "Seller s1");
    assert!(s.list_sellers("zz-none").await.unwrap().is_empty());

    for (account, email, televendas) in [
        ("zz-a", "b@zz.example", false),
        ("zz-a", "a@zz.example", true),
        ("zz-b", "c@zz.example", true),
    ] {
        let op = Operator {
            account: account.into(),
            email: email.into(),
            name: email.into(),
            televendas,
            admin: false,
        };
        s.put_operator(&op).await.unwrap();
    }
    let ops = s.list_operators("zz-a").await.unwrap();
    let emails: Vec<(&str, bool)> = ops
        .iter()
        .map(|o| (o.email.as_str(), o.televendas))
        .collect();
    assert_eq!(emails, [("a@zz.example", true), ("b@zz.example", false)]);

    for (n, account) in [(2, "zz-a"), (1, "zz-a"), (3, "zz-b")] {
        let tok = AppToken {
            hash: format!("{n:064}"),
            account: account.into(),
            name: format!("token {n}"),
            scopes: vec!["s".into()],
            created_at: T0 + n,
        };
        s.put_app_token(&tok).await.unwrap();
    }
    let names = |v: Vec<AppToken>| v.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(s.list_app_tokens("zz-a").await.unwrap()),
        ["token 1", "token 2"]
    );
    // Another account's token is neither revoked nor listed.
    assert!(!s
        .delete_app_token("zz-a", &format!("{:064}", 3))
        .await
        .unwrap());
    assert!(s
        .get_app_token(&format!("{:064}", 3))
        .await
        .unwrap()
        .is_some());
    assert!(s
        .delete_app_token("zz-a", &format!("{:064}", 1))
        .await
        .unwrap());
    assert!(!s
        .delete_app_token("zz-a", &format!("{:064}", 1))
        .await
        .unwrap());
    assert_eq!(s.get_app_token(&format!("{:064}", 1)).await.unwrap(), None);
    assert_eq!(names(s.list_app_tokens("zz-a").await.unwrap()), ["token 2"]);
    assert_eq!(names(s.list_app_tokens("zz-b").await.unwrap()), ["token 3"]);
}

async fn contacts_set_names_only_where_unknown(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c1 = s
        .upsert_contact("acc", "gob@bluth.com", None, Some("Bluth"), None, T0)
        .await
        .unwrap();
    assert_eq!(c1.first_name, None);
    assert_eq!(c1.external_id, c1.id);
    let c2 = s
        .upsert_contact(
            "acc",
            "gob@bluth.com",
            Some("Gob"),
            Some("Other"),
            Some("ignored"),
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(c2.id, c1.id);
    assert_eq!(c2.first_name.as_deref(), Some("Gob"));
    assert_eq!(c2.last_name.as_deref(), Some("Bluth"));
    assert_eq!(c2.external_id, c1.external_id);
    assert_eq!(c2.created_at, T0);
    assert_eq!(
        s.get_contact("acc", "gob@bluth.com").await.unwrap(),
        Some(c2)
    );
    assert_eq!(s.get_contact("other", "gob@bluth.com").await.unwrap(), None);
}

async fn conversations_are_unique_per_topic(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "SKU#1");
    let m = msg(&c, &id(2), Side::Customer, Some("e1"), T0);
    assert_eq!(
        s.create_conversation(&c, &m, None).await.unwrap(),
        Created::Created
    );
    assert_eq!(
        s.get_conversation("acc", &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(s.get_conversation("other", &c.id).await.unwrap(), None);
    assert_eq!(
        s.find_topic("acc", "s1", "c1", "SKU#1").await.unwrap(),
        Some(c.id.clone())
    );
    assert_eq!(s.find_topic("acc", "s1", "c1", "SKU").await.unwrap(), None);
    // Same topic again: the first conversation, and nothing written.
    let c2 = conv("acc", &id(3), "s1", "c1", "SKU#1");
    let m2 = msg(&c2, &id(4), Side::Customer, None, T0);
    assert_eq!(
        s.create_conversation(&c2, &m2, None).await.unwrap(),
        Created::TopicExists(c.id.clone())
    );
    assert_eq!(s.get_conversation("acc", &c2.id).await.unwrap(), None);
    // A reused external id on another topic: the first message, and nothing written.
    let c3 = conv("acc", &id(5), "s1", "c1", "SKU-3");
    let m3 = msg(&c3, &id(6), Side::Customer, Some("e1"), T0);
    assert_eq!(
        s.create_conversation(&c3, &m3, None).await.unwrap(),
        Created::DuplicateMessage {
            conversation_id: c.id.clone(),
            message_id: m.id.clone()
        }
    );
    assert_eq!(s.get_conversation("acc", &c3.id).await.unwrap(), None);
    assert_eq!(
        s.find_topic("acc", "s1", "c1", "SKU-3").await.unwrap(),
        None
    );
}

async fn messages_are_idempotent_on_external_id(kind: StoreKind) {
    let Some(s) = store(kind).await else { return };
    let c = conv("acc", &id(1), "s1", "c1", "P");
    s.create_conversation(&c, &msg(&c, &id(2), Side::Customer, None, T0), None)
        .await
        .unwrap();
    let m = msg(&c, &id(3), Side::Seller, Some("erp-1"), T0 + 3);
    assert_eq!(s.add_message(&m, "s1", None).await.unwrap(), Added::Added);
    let again = msg(&c, &id(4), Side::Seller, Some("erp-1"), T0 + 4);
    assert_eq!(
        s.add_message(&again, "s1", None).await.unwrap(),
        Added::DuplicateMessage {
            conversation_id: c.id.clone(),
            message_id: m.id.clone()
        }
    );
    assert_eq!(s.get_message("acc", &c.id, &again.id).await.unwrap(), None);
    assert_eq!(
        s.get_message("acc", &c.id, &m.id).await.unwrap(),
        Some(m.clone())
    );
    // The same external id from the customer side is another key.
    let cust = msg(&c, &id(5), Side::Customer, Some("erp-1"), T0 + 5);
    assert_eq!(
        s.add_message(&cust, "c1", None).await.unwrap(),
        Added::Added
    );
    // A message to a conversation that does not exist is refused, and not written.
    let ghost = conv("acc", &id(9), "s1", "c1", "Q");
    let gm = msg(&ghost, &id(10), Side::Customer, None, T0);
    assert!(s.add_message(&gm, "c1", None).await.is_err());
    assert_eq!(s.get_message("acc", &ghost.id, &gm.id).await.unwrap(), None);
}

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
        .get_message("acc", &c.id, &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.moderation.status, ModerationStatus::Approved);
    assert!(m.events_pending);
    s.clear_events_pending("acc", &c.id, &first.id)
        .await
        .unwrap();
    assert!(
        !s.get_message("acc", &c.id, &first.id)
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
        s.get_message("acc", &c.id, &bad.id)
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
        .set_status("acc", &c.id, ConversationStatus::Closed, T0 + 600)
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
    assert_eq!(
        s.set_status("other", &c.id, ConversationStatus::Closed, T0)
            .await
            .unwrap(),
        None
    );
}

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
            s.set_status("acc", &c.id, ConversationStatus::Closed, T0 + 5000)
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

both_stores!(
    tenants_round_trip,
    provisioning_lists_stay_within_the_account,
    contacts_set_names_only_where_unknown,
    conversations_are_unique_per_topic,
    messages_are_idempotent_on_external_id,
    moderation_decides_once_and_moves_counters_on_approval,
    listing_filters_sorts_and_pages,
    message_pages_walk_both_ways,
    messages_carry_their_marker_and_audit_entry,
    sessions_are_saved_with_their_audit_entries,
);
