//! The store contract: every case runs against the embedded store and against DynamoDB (moto),
//! and must give the same results. This is what keeps the embedded default honest.

mod markers;
mod messages;
mod paging;

use std::collections::BTreeMap;
use std::sync::Arc;

use balcao::domain::model::*;
use balcao::queue::WebhookEvent;
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
        s.find_topic(TopicKey {
            account: "acc",
            seller: "s1",
            customer: "c1",
            product: "SKU#1"
        })
        .await
        .unwrap(),
        Some(c.id.clone())
    );
    assert_eq!(
        s.find_topic(TopicKey {
            account: "acc",
            seller: "s1",
            customer: "c1",
            product: "SKU"
        })
        .await
        .unwrap(),
        None
    );
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
        s.find_topic(TopicKey {
            account: "acc",
            seller: "s1",
            customer: "c1",
            product: "SKU-3"
        })
        .await
        .unwrap(),
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
    assert_eq!(
        s.get_message(MessageKey {
            account: "acc",
            conversation: &c.id,
            message: &again.id
        })
        .await
        .unwrap(),
        None
    );
    assert_eq!(
        s.get_message(MessageKey {
            account: "acc",
            conversation: &c.id,
            message: &m.id
        })
        .await
        .unwrap(),
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
    assert_eq!(
        s.get_message(MessageKey {
            account: "acc",
            conversation: &ghost.id,
            message: &gm.id
        })
        .await
        .unwrap(),
        None
    );
}

both_stores!(
    tenants_round_trip,
    provisioning_lists_stay_within_the_account,
    contacts_set_names_only_where_unknown,
    conversations_are_unique_per_topic,
    messages_are_idempotent_on_external_id,
);
