//! The writes of the customer side: opening (or continuing) a conversation and posting to it, and
//! the path every new message takes: the rate limit, the transaction, the moderation job.

use super::*;
use crate::domain::model::{MessageKey, TopicKey};
use crate::realtime::Change;

pub(super) async fn customer_open(app: &App, req: &Request) -> Result<Reply> {
    let c = customer(app, req).await?;
    let open = json_body::<OpenConversationBody>(req)?.validate()?;
    let seller = app
        .store
        .get_seller(&c.account, &open.seller_id)
        .await?
        .ok_or_else(|| Error::NotFound("seller".into()))?;
    // Asking again about the same product with the same seller continues that conversation.
    if let Some(existing) = app
        .store
        .find_topic(TopicKey {
            account: &c.account,
            seller: &seller.id,
            customer: &c.contact.id,
            product: &open.product_id,
        })
        .await?
    {
        return continue_conversation(app, req, &c, &existing, open.message).await;
    }
    let now = app.clock.now_ms();
    let mut conv = Conversation::open(
        &c.account,
        new_id(now),
        Party {
            id: seller.id.clone(),
            external_id: seller.id.clone(),
            full_name: seller.name.clone(),
        },
        Party {
            id: c.contact.id.clone(),
            external_id: c.contact.external_id.clone(),
            full_name: c.contact.full_name(),
        },
        c.via,
        open.product_id,
        open.tags,
        now,
    );
    conv.display_name = open.display_name;
    let first = new_message(
        &conv,
        Side::Customer,
        NewMessage {
            owner: c.owner.clone(),
            ..open.message.clone()
        },
        now,
    );
    within_post_limit(app, &c.account, Side::Customer, &c.contact.id, now).await?;
    let audit = impersonation_audit(req, &c, &first);
    match app
        .store
        .create_conversation(&conv, &first, audit.as_ref())
        .await?
    {
        Created::Created => {
            enqueue(app, &first).await;
            live(app, &conv, Change::Written(&first)).await;
            Reply::created(&view::conversation(&conv))
        }
        Created::TopicExists(existing) => {
            continue_conversation(app, req, &c, &existing, open.message).await
        }
        Created::DuplicateMessage {
            conversation_id, ..
        } => {
            let conv = load_own(app, &c, &conversation_id).await?;
            Reply::ok(&view::conversation(&conv))
        }
    }
}

async fn load_own(app: &App, c: &Customer, id: &str) -> Result<Conversation> {
    app.store
        .get_conversation(&c.account, id)
        .await?
        .filter(|conv| conv.customer.id == c.contact.id)
        .ok_or_else(not_found)
}

async fn continue_conversation(
    app: &App,
    req: &Request,
    c: &Customer,
    id: &str,
    msg: NewMessage,
) -> Result<Reply> {
    let conv = load_own(app, c, id).await?;
    // The new message waits for moderation, so the conversation it returns is unchanged.
    post_message(
        app,
        &conv,
        Side::Customer,
        NewMessage {
            owner: c.owner.clone(),
            ..msg
        },
        Some((req, c)),
    )
    .await?;
    Reply::ok(&view::conversation(&conv))
}

pub(super) async fn customer_post(app: &App, req: &Request, id: &str) -> Result<Reply> {
    let (c, conv) = customer_conversation(app, req, id).await?;
    let new = json_body::<PostMessageBody>(req)?.validate(false)?;
    let msg = post_message(
        app,
        &conv,
        Side::Customer,
        NewMessage {
            owner: c.owner.clone(),
            ..new
        },
        Some((req, &c)),
    )
    .await?;
    Reply::created(&view::minimal_message(&conv, &msg))
}

/// A message an operator wrote as the customer goes into the impersonation audit trail, in the
/// message's own transaction.
fn impersonation_audit(req: &Request, c: &Customer, msg: &Message) -> Option<AuditEntry> {
    let (Some(session), Some(operator)) = (&c.session_id, &c.operator_email) else {
        return None;
    };
    Some(crate::api::impersonation::message_audit(
        req,
        session,
        &c.account,
        operator,
        &c.contact.email,
        msg,
    ))
}

// ---- shared by both sides -----------------------------------------------------------------

fn new_message(conv: &Conversation, side: Side, m: NewMessage, now: i64) -> Message {
    Message {
        external_id: m.external_id,
        owner: m.owner,
        attachments: m.attachments,
        custom_fields: m.custom_fields,
        ..Message::waiting(conv, new_id(now), side, m.content, now)
    }
}

/// Queues a stored message for moderation. A failure does not fail the request: the message
/// is stored with its pending marker, and the sweeper queues it again within minutes (so the
/// client gets its 201 and has no reason to retry into a duplicate).
async fn enqueue(app: &App, msg: &Message) {
    let job = ModerationJob {
        account: msg.account.clone(),
        conversation_id: msg.conversation_id.clone(),
        message_id: msg.id.clone(),
    };
    if let Err(e) = send_json(app.queue.as_ref(), QueueName::Moderation, &job).await {
        tracing::error!(message_id = %msg.id, error = %crate::http::ErrorChain(&e), "moderation job not queued; the sweeper will queue it");
        crate::metrics::count("ModerationEnqueueFailed", ("Queue", "moderation"), 1);
    }
}

const MINUTE_MS: i64 = 60_000;

/// One more message from this sender this minute, or a 429 (see [`crate::api::PostLimits`]).
async fn within_post_limit(
    app: &App,
    account: &str,
    side: Side,
    sender_id: &str,
    now: i64,
) -> Result<()> {
    let limit = match side {
        Side::Customer => app.post_limits.customer_per_minute,
        Side::Seller => app.post_limits.seller_per_minute,
    };
    if limit == 0 {
        return Ok(());
    }
    let key = format!("posts/{account}/{}/{sender_id}", side.as_str());
    if app.store.take(&key, MINUTE_MS, limit, now).await? {
        return Ok(());
    }
    crate::metrics::count("PostsRateLimited", ("Side", side.as_str()), 1);
    let wait_ms = MINUTE_MS - now.rem_euclid(MINUTE_MS);
    Err(Error::RateLimited(((wait_ms + 999) / 1000) as u64))
}

/// Writes a message (idempotent on `external_id`) and queues it for moderation. A retry of a
/// message still waiting queues it again; the worker ignores messages already decided. `by` is
/// the customer request the message came in (its impersonation, if any, is audited with it).
pub(super) async fn post_message(
    app: &App,
    conv: &Conversation,
    side: Side,
    new: NewMessage,
    by: Option<(&Request, &Customer)>,
) -> Result<Message> {
    let msg = new_message(conv, side, new, app.clock.now_ms());
    let sender_id = conv.party(side).id.clone();
    within_post_limit(app, &conv.account, side, &sender_id, msg.when_at).await?;
    let audit = by.and_then(|(req, c)| impersonation_audit(req, c, &msg));
    match app
        .store
        .add_message(&msg, &sender_id, audit.as_ref())
        .await?
    {
        Added::Added => {
            enqueue(app, &msg).await;
            live(app, conv, Change::Written(&msg)).await;
            Ok(msg)
        }
        Added::DuplicateMessage {
            conversation_id,
            message_id,
        } => {
            if conversation_id != conv.id {
                return Err(Error::Conflict(
                    "external_id was already used for a message in another conversation".into(),
                ));
            }
            let first = app
                .store
                .get_message(MessageKey {
                    account: &conv.account,
                    conversation: &conv.id,
                    message: &message_id,
                })
                .await?
                .ok_or_else(|| Error::unexpected_msg("external id points to a missing message"))?;
            if first.moderation.status == ModerationStatus::WaitingModeration {
                enqueue(app, &first).await;
            }
            Ok(first)
        }
    }
}
