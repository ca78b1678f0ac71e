//! The conversation API: Magalu's seller paths (`/v0/conversations…`, scopes
//! `services:conversations-seller:*`) and the customer paths (`/v0/customer/conversations…`, a
//! visitor identification token).
//!
//! Visibility rule: a message is seen by its sender at once and by the other side only once it is
//! approved; a seller sees a conversation only once something in it was approved. Whatever a
//! caller may not see is a 404, the same as what does not exist.

use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::paging::{envelope, PageParams, Query, PAGING};
use super::{seller, App};
use crate::auth::{SellerPrincipal, SCOPE_SELLER_READ, SCOPE_SELLER_WRITE};
use crate::clock::parse_rfc3339;
use crate::domain::input::{
    check_text, Email, NewMessage, OpenConversationBody, PatchConversationBody, PostMessageBody,
    Problems, EXTERNAL_ID_MAX,
};
use crate::domain::model::{
    operator_ref, AuditEntry, Contact, Conversation, ConversationStatus, IdentifiedVia, Message,
    ModerationStatus, Owner, Party, Side,
};
use crate::domain::view;
use crate::error::{Error, Result};
use crate::http::respond;
use crate::http::{
    bearer, cookie, header, json_body, optional_body_ok, query_pairs, segments, Reply,
};
use crate::ids::{is_id, new_id};
use crate::queue::{send_json, ModerationJob, QueueName, WebhookEvent};
use crate::store::{list_sort_key, Added, ConversationFilter, Created, Viewer};

/// Every route this function serves (method, path as `template.yaml` writes it). A test keeps this,
/// the router below and the template in step.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v0/conversations"),
    ("GET", "/v0/conversations/{id}"),
    ("PATCH", "/v0/conversations/{id}"),
    ("GET", "/v0/conversations/{id}/messages"),
    ("POST", "/v0/conversations/{id}/messages"),
    ("GET", "/v0/conversations/{id}/messages/{message_id}"),
    ("PATCH", "/v0/conversations/{id}/read_by"),
    ("POST", "/v0/customer/conversations"),
    ("GET", "/v0/customer/conversations"),
    ("GET", "/v0/customer/conversations/{id}"),
    ("GET", "/v0/customer/conversations/{id}/messages"),
    ("POST", "/v0/customer/conversations/{id}/messages"),
    (
        "GET",
        "/v0/customer/conversations/{id}/messages/{message_id}",
    ),
    ("PATCH", "/v0/customer/conversations/{id}/read_by"),
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, |req| route(app, req)).await
}

async fn route(app: &App, req: &Request) -> Result<Reply> {
    use http::Method as M;
    let segs = segments(req);
    let m = req.method();
    match segs.as_slice() {
        ["v0", "conversations"] => match *m {
            M::GET => seller_list(app, req).await,
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "conversations", id] => match *m {
            M::GET => seller_get(app, req, id).await,
            M::PATCH => seller_patch(app, req, id).await,
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "conversations", id, "messages"] => match *m {
            M::GET => {
                let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_READ).await?;
                list_messages(app, req, &conv, Side::Seller).await
            }
            M::POST => seller_post(app, req, id).await,
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "conversations", id, "messages", mid] => match *m {
            M::GET => {
                let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_READ).await?;
                get_message(app, &conv, mid, Side::Seller).await
            }
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "conversations", id, "read_by"] => match *m {
            M::PATCH => {
                let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_WRITE).await?;
                mark_read(app, req, &conv, Side::Seller).await
            }
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "customer", "conversations"] => match *m {
            M::GET => customer_list(app, req).await,
            M::POST => customer_open(app, req).await,
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "customer", "conversations", id] => match *m {
            M::GET => {
                let (_, conv) = customer_conversation(app, req, id).await?;
                Reply::ok(&view::conversation(&conv))
            }
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "customer", "conversations", id, "messages"] => match *m {
            M::GET => {
                let (_, conv) = customer_conversation(app, req, id).await?;
                list_messages(app, req, &conv, Side::Customer).await
            }
            M::POST => customer_post(app, req, id).await,
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "customer", "conversations", id, "messages", mid] => match *m {
            M::GET => {
                let (_, conv) = customer_conversation(app, req, id).await?;
                get_message(app, &conv, mid, Side::Customer).await
            }
            _ => Err(Error::MethodNotAllowed),
        },
        ["v0", "customer", "conversations", id, "read_by"] => match *m {
            M::PATCH => {
                let (_, conv) = customer_conversation(app, req, id).await?;
                mark_read(app, req, &conv, Side::Customer).await
            }
            _ => Err(Error::MethodNotAllowed),
        },
        _ => Err(Error::NotFound("route".into())),
    }
}

// ---- principals ---------------------------------------------------------------------------

/// A customer, proven by a visitor identification token and the e-mail it was issued for.
#[derive(Debug, Clone)]
pub struct Customer {
    pub account: String,
    pub contact: Contact,
    pub via: IdentifiedVia,
    /// Who physically writes when it is not the customer (an impersonating operator).
    pub owner: Option<Owner>,
    /// The impersonated session the request came in (for the audit trail).
    pub session_id: Option<String>,
    /// The impersonating operator's e-mail (for the audit trail only).
    pub operator_email: Option<String>,
}

pub const IDENTIFICATION_EMAIL_HEADER: &str = "x-identification-email";
pub const ACCOUNT_HEADER: &str = "x-account";

async fn customer(app: &App, req: &Request) -> Result<Customer> {
    let unauthorized = |m: &str| Error::Unauthorized(m.to_owned());
    // An operator acting as a customer: the session cookie (and the operator's own credential),
    // no identification e-mail.
    if header(req, IDENTIFICATION_EMAIL_HEADER).is_none()
        && cookie(req, super::impersonation::SESSION_COOKIE).is_some()
    {
        let (session, imp) = super::impersonation::impersonated(app, req).await?;
        let contact = app
            .store
            .get_contact(&session.account, &imp.customer_email)
            .await?
            .filter(|c| c.id == imp.customer_id)
            .ok_or_else(|| unauthorized("the impersonated customer does not exist"))?;
        return Ok(Customer {
            account: session.account.clone(),
            contact,
            via: IdentifiedVia::Impersonation,
            // Sellers see who wrote, by name and an opaque id: never the operator's e-mail.
            owner: Some(Owner {
                name: imp.operator_name,
                external_id: operator_ref(&session.account, &imp.operator_email),
            }),
            operator_email: Some(imp.operator_email),
            session_id: Some(session.id),
        });
    }
    let token = bearer(req).ok_or_else(|| unauthorized("an identification token is required"))?;
    let claimed = header(req, IDENTIFICATION_EMAIL_HEADER)
        .ok_or_else(|| unauthorized("X-Identification-Email is required"))?;
    let email =
        Email::parse(claimed).map_err(|_| unauthorized("X-Identification-Email is not valid"))?;
    let claims = app.auth.verify_visitor(token)?;
    if claims.email != email.as_str() {
        return Err(unauthorized("the token was issued for another e-mail"));
    }
    if header(req, ACCOUNT_HEADER).is_some_and(|a| a != claims.account) {
        return Err(unauthorized("the token was issued for another account"));
    }
    let contact = app
        .store
        .get_contact(&claims.account, email.as_str())
        .await?
        .filter(|c| c.id == claims.sub)
        .ok_or_else(|| unauthorized("the identified contact does not exist"))?;
    Ok(Customer {
        account: claims.account,
        contact,
        via: IdentifiedVia::VisitorIdentification,
        owner: None,
        session_id: None,
        operator_email: None,
    })
}

// ---- loading what a caller may see --------------------------------------------------------

fn not_found() -> Error {
    Error::NotFound("conversation".into())
}

async fn seller_conversation(
    app: &App,
    req: &Request,
    id: &str,
    scope: &str,
) -> Result<(SellerPrincipal, Conversation)> {
    let p = seller(app, req, scope)?;
    if !is_id(id) {
        return Err(not_found());
    }
    let conv = app
        .store
        .get_conversation(&p.account, id)
        .await?
        .filter(|c| c.seller.id == p.seller_id && c.visible_to(Side::Seller))
        .ok_or_else(not_found)?;
    Ok((p, conv))
}

async fn customer_conversation(
    app: &App,
    req: &Request,
    id: &str,
) -> Result<(Customer, Conversation)> {
    let c = customer(app, req).await?;
    if !is_id(id) {
        return Err(not_found());
    }
    let conv = app
        .store
        .get_conversation(&c.account, id)
        .await?
        .filter(|conv| conv.customer.id == c.contact.id)
        .ok_or_else(not_found)?;
    Ok((c, conv))
}

// ---- seller routes ------------------------------------------------------------------------

const SELLER_LIST_PARAMS: [&str; 9] = [
    "_offset",
    "_limit",
    "_after",
    "_before",
    "status",
    "from_user_ref_key",
    "last_interaction_at_start",
    "last_interaction_at_end",
    "_sort",
];

async fn seller_list(app: &App, req: &Request) -> Result<Reply> {
    let p = seller(app, req, SCOPE_SELLER_READ)?;
    let q = Query::parse(query_pairs(req)?, &SELLER_LIST_PARAMS)?;
    list_conversations(
        app,
        req,
        &q,
        &p.account,
        Viewer::Seller(p.seller_id.clone()),
    )
    .await
}

async fn seller_get(app: &App, req: &Request, id: &str) -> Result<Reply> {
    let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_READ).await?;
    Reply::ok(&view::conversation(&conv))
}

async fn seller_patch(app: &App, req: &Request, id: &str) -> Result<Reply> {
    let (p, conv) = seller_conversation(app, req, id, SCOPE_SELLER_WRITE).await?;
    let status = json_body::<PatchConversationBody>(req)?.validate()?;
    let now = app.clock.now_ms();
    let changed = conv.status != status;
    let conv = app
        .store
        .set_status(&p.account, &conv.id, status, now)
        .await?
        .ok_or_else(not_found)?;
    if changed {
        // Closing or reopening is news to the seller's systems. The status is written either
        // way; a lost event is logged rather than turned into an error the caller cannot fix.
        let event = WebhookEvent::about(
            format!("evt_{}", new_id(now).to_ascii_lowercase()),
            &conv,
            now,
            ("conversation", "UPDATED"),
            None,
        );
        if let Err(e) = send_json(app.queue.as_ref(), QueueName::WebhookEvents, &event).await {
            tracing::error!(event_id = %event.id, error = %crate::http::ErrorChain(&e), "webhook event not queued");
        }
    }
    Reply::ok(&view::conversation(&conv))
}

async fn seller_post(app: &App, req: &Request, id: &str) -> Result<Reply> {
    let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_WRITE).await?;
    let new = json_body::<PostMessageBody>(req)?.validate(true)?;
    if conv.status == ConversationStatus::Closed {
        return Err(Error::Conflict(
            "the conversation is closed; reopen it with PATCH {\"status\":\"OPENED\"}".into(),
        ));
    }
    let msg = post_message(app, &conv, Side::Seller, new, None).await?;
    Reply::created(&view::minimal_message(&conv, &msg))
}

// ---- customer routes ----------------------------------------------------------------------

async fn customer_list(app: &App, req: &Request) -> Result<Reply> {
    let c = customer(app, req).await?;
    let q = Query::parse(
        query_pairs(req)?,
        &[
            "_offset",
            "_limit",
            "_after",
            "_before",
            "status",
            "last_interaction_at_start",
            "last_interaction_at_end",
            "_sort",
        ],
    )?;
    list_conversations(
        app,
        req,
        &q,
        &c.account,
        Viewer::Customer(c.contact.id.clone()),
    )
    .await
}

async fn customer_open(app: &App, req: &Request) -> Result<Reply> {
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
        .find_topic(&c.account, &seller.id, &c.contact.id, &open.product_id)
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

async fn customer_post(app: &App, req: &Request, id: &str) -> Result<Reply> {
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
    Some(super::impersonation::message_audit(
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

/// One more message from this sender this minute, or a 429 (see [`super::PostLimits`]).
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
async fn post_message(
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
                .get_message(&conv.account, &conv.id, &message_id)
                .await?
                .ok_or_else(|| Error::unexpected_msg("external id points to a missing message"))?;
            if first.moderation.status == ModerationStatus::WaitingModeration {
                enqueue(app, &first).await;
            }
            Ok(first)
        }
    }
}

fn conversation_key_shape(k: &str) -> bool {
    match k.split_once('#') {
        Some((t, id)) => t.len() == 15 && t.bytes().all(|b| b.is_ascii_digit()) && is_id(id),
        None => false,
    }
}

async fn list_conversations(
    app: &App,
    req: &Request,
    q: &Query,
    account: &str,
    viewer: Viewer,
) -> Result<Reply> {
    let page = PageParams::parse(q, conversation_key_shape)?;
    let mut p = Problems::default();
    let status = match q.get("status") {
        None => None,
        Some("OPENED") => Some(ConversationStatus::Opened),
        Some("CLOSED") => Some(ConversationStatus::Closed),
        Some(_) => {
            p.add("status", "INVALID_ENUM", "status must be OPENED or CLOSED");
            None
        }
    };
    let from_user_ref_key = q
        .get("from_user_ref_key")
        .and_then(|r| check_text(&mut p, "from_user_ref_key", r, 1, EXTERNAL_ID_MAX));
    let mut time = |name: &str| {
        q.get(name).and_then(|raw| {
            let t = parse_rfc3339(raw);
            if t.is_none() {
                p.add(
                    name,
                    "INVALID_DATE",
                    format!("{name} must be an ISO-8601 timestamp"),
                );
            }
            t
        })
    };
    let start = time("last_interaction_at_start");
    let end = time("last_interaction_at_end");
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            p.add(
                "last_interaction_at_end",
                "INVALID_RANGE",
                "the end is before the start",
            );
        }
    }
    let ascending = match q.get("_sort") {
        None | Some("last_interaction_at:desc") | Some("-last_interaction_at") => false,
        Some("last_interaction_at:asc") | Some("last_interaction_at") => true,
        Some(_) => {
            p.add(
                "_sort",
                "INVALID_ENUM",
                "_sort must be last_interaction_at:asc or last_interaction_at:desc",
            );
            false
        }
    };
    p.finish(())?;
    let filter = ConversationFilter {
        viewer: viewer.clone(),
        status,
        from_user_ref_key,
        start,
        end,
        ascending,
    };
    let got = app
        .store
        .list_conversations(account, &filter, &page.request())
        .await?;
    let key = |c: &Conversation| list_sort_key(c, &viewer);
    let (first, last) = page_edges(
        &page,
        got.resume_after.clone(),
        got.items.first().and_then(key),
        got.items.last().and_then(key),
    );
    let results: Vec<Value> = got
        .items
        .iter()
        .map(|c| serde_json::to_value(view::conversation(c)).map_err(Error::unexpected))
        .collect::<Result<_>>()?;
    Reply::ok(&envelope(
        req.uri().path(),
        q,
        &page,
        results,
        got.more,
        first,
        last,
    ))
}

/// The keys the page's links continue from: its first and last items, or — when the store
/// stopped at its bound of items evaluated — the key where it stopped, in the direction read.
fn page_edges(
    page: &PageParams,
    resume_after: Option<String>,
    first: Option<String>,
    last: Option<String>,
) -> (Option<String>, Option<String>) {
    match resume_after {
        Some(k) if page.before.is_some() => (Some(k), last.or_else(|| page.before.clone())),
        Some(k) => (first.or_else(|| page.after.clone()), Some(k)),
        None => (first, last),
    }
}

async fn list_messages(app: &App, req: &Request, conv: &Conversation, side: Side) -> Result<Reply> {
    let q = Query::parse(query_pairs(req)?, &PAGING)?;
    let page = PageParams::parse(&q, is_id)?;
    let got = app
        .store
        .list_messages(&conv.account, &conv.id, side, &page.request())
        .await?;
    let (first, last) = page_edges(
        &page,
        got.resume_after.clone(),
        got.items.first().map(|m| m.id.clone()),
        got.items.last().map(|m| m.id.clone()),
    );
    let results: Vec<Value> = got
        .items
        .iter()
        .map(|m| serde_json::to_value(view::message(conv, m)).map_err(Error::unexpected))
        .collect::<Result<_>>()?;
    Reply::ok(&envelope(
        req.uri().path(),
        &q,
        &page,
        results,
        got.more,
        first,
        last,
    ))
}

async fn get_message(app: &App, conv: &Conversation, id: &str, side: Side) -> Result<Reply> {
    if !is_id(id) {
        return Err(Error::NotFound("message".into()));
    }
    let msg = app
        .store
        .get_message(&conv.account, &conv.id, id)
        .await?
        .filter(|m| m.visible_to(side))
        .ok_or_else(|| Error::NotFound("message".into()))?;
    Reply::ok(&view::message(conv, &msg))
}

async fn mark_read(app: &App, req: &Request, conv: &Conversation, side: Side) -> Result<Reply> {
    optional_body_ok(req)?;
    let conv = app
        .store
        .mark_read(&conv.account, &conv.id, side, app.clock.now_ms())
        .await?
        .ok_or_else(not_found)?;
    Reply::ok(&view::conversation(&conv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn cursors_have_the_shape_of_the_sort_keys() {
        assert!(conversation_key_shape(&keys::interaction_sort_key(
            0,
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        )));
        assert!(!conversation_key_shape("12#01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!conversation_key_shape("000000000000000#nope"));
    }
}
