//! The moderation worker on both stores: batches with a poison record, redelivery, the outbox of
//! webhook events, and which events a decision produces. The worker under test queues into its
//! own in-process queue so every event it emits is counted exactly.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use balcao::domain::model::*;
use balcao::queue::{MemoryQueue, ModerationJob, QueueName, WebhookEvent};
use balcao::store::{Decided, Store};
use balcao::workers::moderation::{Moderator, Outcome};
use balcao_tests::both_stores;
use balcao_tests::{backend, dynamo_available, StoreKind, TestClock};

struct Rig {
    store: Arc<dyn Store>,
    queue: Arc<MemoryQueue>,
    moderator: Moderator,
    clock: TestClock,
}

async fn rig(kind: StoreKind) -> Option<Rig> {
    if kind == StoreKind::Dynamo && !dynamo_available() {
        return None;
    }
    let clock = TestClock::new();
    let stack = balcao_local::build(&backend(kind), Arc::new(clock.clone()))
        .await
        .unwrap();
    let store = stack.app.store.clone();
    let queue = Arc::new(MemoryQueue::new());
    let moderator = Moderator::new(store.clone(), queue.clone(), Arc::new(clock.clone()));
    Some(Rig {
        store,
        queue,
        moderator,
        clock,
    })
}

impl Rig {
    /// A conversation between Maria and Bravo (not yet visible to the seller), with its first
    /// message waiting; messages are written straight to the store, so no other worker sees them.
    async fn conversation(&self, first: &str) -> (Conversation, Message) {
        let now = self.clock.peek();
        let conv = Conversation::open(
            "lojademo",
            balcao::ids::new_id(now),
            Party {
                id: "seller-bravo".into(),
                external_id: "seller-bravo".into(),
                full_name: "Bravo Móveis".into(),
            },
            Party {
                id: "c1".into(),
                external_id: "cust-1".into(),
                full_name: "Maria".into(),
            },
            IdentifiedVia::VisitorIdentification,
            format!("P-{now}"),
            vec![Tag {
                name: "productId".into(),
                value: format!("P-{now}"),
            }],
            now,
        );
        let m = self.message(&conv, Side::Customer, first);
        self.store
            .create_conversation(&conv, &m, None)
            .await
            .unwrap();
        (conv, m)
    }

    fn message(&self, conv: &Conversation, sender: Side, content: &str) -> Message {
        use balcao::clock::Clock;
        Message::waiting(
            conv,
            balcao::ids::new_id(self.clock.now_ms()),
            sender,
            content.into(),
            self.clock.peek(),
        )
    }

    async fn add(&self, conv: &Conversation, sender: Side, content: &str) -> Message {
        let m = self.message(conv, sender, content);
        let who = conv.party(sender).id.clone();
        self.store.add_message(&m, &who, None).await.unwrap();
        m
    }

    async fn events(&self) -> Vec<WebhookEvent> {
        self.queue
            .drain(QueueName::WebhookEvents)
            .await
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn stored(&self, m: &Message) -> Message {
        self.store.get_message(m.key()).await.unwrap().unwrap()
    }
}

fn job(m: &Message) -> String {
    serde_json::to_string(&ModerationJob {
        account: m.account.clone(),
        conversation_id: m.conversation_id.clone(),
        message_id: m.id.clone(),
    })
    .unwrap()
}

fn batch(bodies: &[(&str, String)]) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = bodies
        .iter()
        .map(|(id, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some(body.clone());
            m
        })
        .collect();
    e
}

fn kinds(events: &[WebhookEvent]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.data.domain.clone(), e.data.status.clone()))
        .collect();
    v.sort();
    v
}

fn kind(d: &str, s: &str) -> (String, String) {
    (d.to_owned(), s.to_owned())
}

async fn a_poison_record_fails_alone_and_redelivery_changes_nothing(k: StoreKind) {
    let Some(r) = rig(k).await else { return };
    let (conv, clean) = r.conversation("Tem na cor cinza?").await;
    let dirty = r
        .add(&conv, Side::Customer, "meu zap é 11 98765-4321")
        .await;
    let records = [
        ("ok-1", job(&clean)),
        ("poison", "{\"account\": 7}".to_owned()),
        ("ok-2", job(&dirty)),
    ];
    let res = r.moderator.handle_batch(batch(&records)).await;
    let failed: Vec<&str> = res
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["poison"]);
    assert_eq!(
        r.stored(&clean).await.moderation.status,
        ModerationStatus::Approved
    );
    let d = r.stored(&dirty).await;
    assert_eq!(d.moderation.status, ModerationStatus::Rejected);
    assert_eq!(
        d.moderation.block_rules,
        vec![BlockRule {
            reason: "A mensagem contém um número de telefone".into(),
            tags: vec!["PHONE".into()],
            fields: vec!["content".into()],
        }]
    );
    let after_first = r
        .store
        .get_conversation("lojademo", &conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after_first.unread_to_count, 1);
    let first_events = r.events().await;
    assert_eq!(
        kinds(&first_events),
        vec![kind("conversation", "NEW"), kind("message", "NEW")]
    );

    // The whole batch again (SQS redelivers): nothing changes, nothing is emitted.
    let res = r.moderator.handle_batch(batch(&records)).await;
    assert_eq!(res.batch_item_failures.len(), 1);
    assert_eq!(
        r.store
            .get_conversation("lojademo", &conv.id)
            .await
            .unwrap()
            .unwrap(),
        after_first
    );
    assert!(r.events().await.is_empty());
    assert_eq!(
        r.moderator.handle_body(&job(&clean)).await.unwrap(),
        Outcome::AlreadyDecided
    );
    // A job for a message that does not exist is done, not retried.
    let mut ghost = clean.clone();
    ghost.id = balcao::ids::new_id(1);
    assert_eq!(
        r.moderator.handle_body(&job(&ghost)).await.unwrap(),
        Outcome::Gone
    );
}

async fn events_lost_in_a_crash_are_queued_again_with_the_same_ids(k: StoreKind) {
    let Some(r) = rig(k).await else { return };
    let (conv, m) = r.conversation("Qual o prazo?").await;
    // A delivery that died right after writing its decision: events_pending is left set.
    let approved = Moderation {
        status: ModerationStatus::Approved,
        when_at: Some(r.clock.peek()),
        block_rules: vec![],
    };
    assert_eq!(
        r.store.decide_message(&m, &approved).await.unwrap(),
        Decided::Applied
    );
    assert!(r.stored(&m).await.events_pending);
    assert_eq!(
        r.moderator.handle_body(&job(&m)).await.unwrap(),
        Outcome::EventsRequeued
    );
    let first = r.events().await;
    assert_eq!(
        kinds(&first),
        vec![kind("conversation", "NEW"), kind("message", "NEW")]
    );
    assert!(!r.stored(&m).await.events_pending);
    assert_eq!(
        r.moderator.handle_body(&job(&m)).await.unwrap(),
        Outcome::AlreadyDecided
    );
    assert!(r.events().await.is_empty());
    // Ids are a function of the decision: the same events again would carry the same ids.
    let conv = r
        .store
        .get_conversation("lojademo", &conv.id)
        .await
        .unwrap()
        .unwrap();
    let again = balcao::workers::moderation::events_for(&conv, &r.stored(&m).await);
    let mut a: Vec<String> = first.iter().map(|e| e.id.clone()).collect();
    let mut b: Vec<String> = again.iter().map(|e| e.id.clone()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

async fn each_decision_emits_the_events_a_seller_needs(k: StoreKind) {
    let Some(r) = rig(k).await else { return };
    let (conv, first) = r.conversation("Oi, tudo bem?").await;
    assert_eq!(
        r.moderator.handle_body(&job(&first)).await.unwrap(),
        Outcome::Approved
    );
    assert_eq!(
        kinds(&r.events().await),
        vec![kind("conversation", "NEW"), kind("message", "NEW")]
    );
    let second = r
        .add(&conv, Side::Customer, "Vocês entregam no sábado?")
        .await;
    r.moderator.handle_body(&job(&second)).await.unwrap();
    let ev = r.events().await;
    assert_eq!(
        kinds(&ev),
        vec![kind("conversation", "UPDATED"), kind("message", "NEW")]
    );
    assert!(ev
        .iter()
        .all(|e| e.seller_id == "seller-bravo" && e.account == "lojademo"));
    assert_eq!(
        ev.iter()
            .find(|e| e.data.domain == "message")
            .unwrap()
            .detail
            .message_id
            .as_deref(),
        Some(second.id.as_str())
    );
    assert!(ev
        .iter()
        .find(|e| e.data.domain == "conversation")
        .unwrap()
        .detail
        .message_id
        .is_none());
    let reply = r.add(&conv, Side::Seller, "Entregamos sim!").await;
    r.moderator.handle_body(&job(&reply)).await.unwrap();
    assert_eq!(
        kinds(&r.events().await),
        vec![kind("conversation", "UPDATED"), kind("message", "UPDATED")]
    );
    let bad_reply = r
        .add(&conv, Side::Seller, "me chama no joao@gmail.com")
        .await;
    assert_eq!(
        r.moderator.handle_body(&job(&bad_reply)).await.unwrap(),
        Outcome::Rejected
    );
    assert_eq!(kinds(&r.events().await), vec![kind("message", "UPDATED")]);
    let bad = r.add(&conv, Side::Customer, "que porra").await;
    assert_eq!(
        r.moderator.handle_body(&job(&bad)).await.unwrap(),
        Outcome::Rejected
    );
    assert!(
        r.events().await.is_empty(),
        "the seller never hears of a rejected customer message"
    );
    let c = r
        .store
        .get_conversation("lojademo", &conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.unread_to_count, c.unread_from_count), (2, 1));
    assert_eq!(c.last_message.unwrap().id, reply.id);
}

both_stores!(
    a_poison_record_fails_alone_and_redelivery_changes_nothing,
    events_lost_in_a_crash_are_queued_again_with_the_same_ids,
    each_decision_emits_the_events_a_seller_needs,
);
