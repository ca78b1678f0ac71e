//! The conversation API: Magalu's seller paths (`/v0/conversations…`, scopes
//! `services:conversations-seller:*`) and the customer paths (`/v0/customer/conversations…`, a
//! visitor identification token).
//!
//! Visibility rule: a message is seen by its sender at once and by the other side only once it is
//! approved; a seller sees a conversation only once something in it was approved. Whatever a
//! caller may not see is a 404, the same as what does not exist.

mod reading;
mod writing;

use lambda_http::{Body, Request, Response};
use reading::{get_message, list_conversations, list_messages, mark_read};
use serde_json::Value;
use writing::{customer_open, customer_post, post_message};

use super::paging::{envelope, settled_cursor, with_cursor, PageParams, Query, PAGING};
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
use crate::store::{list_sort_key, Added, ConversationFilter, Created, OutboxEvent, Viewer};

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

/// Pushes what was just written to the open connections allowed to see it (never fails).
async fn live(app: &App, conv: &Conversation, change: crate::realtime::Change<'_>) {
    crate::realtime::publish(&app.store, &app.live, app.clock.now_ms(), conv, change).await;
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

pub(crate) async fn customer(app: &App, req: &Request) -> Result<Customer> {
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
    let conv =
        viewer_conversation(app, &p.account, &Viewer::Seller(p.seller_id.clone()), id).await?;
    Ok((p, conv))
}

async fn customer_conversation(
    app: &App,
    req: &Request,
    id: &str,
) -> Result<(Customer, Conversation)> {
    let c = customer(app, req).await?;
    let conv =
        viewer_conversation(app, &c.account, &Viewer::Customer(c.contact.id.clone()), id).await?;
    Ok((c, conv))
}

/// Conversation `id` of `account` as `viewer` may see it — its own side of it, and for a seller
/// only once visible — or 404, the same for what does not exist and what is someone else's.
/// Shared by the HTTP routes and the socket's `resume`.
pub(crate) async fn viewer_conversation(
    app: &App,
    account: &str,
    viewer: &Viewer,
    id: &str,
) -> Result<Conversation> {
    if !is_id(id) {
        return Err(not_found());
    }
    app.store
        .get_conversation(account, id)
        .await?
        .filter(|c| viewer.side_in(c).is_some_and(|side| c.visible_to(side)))
        .ok_or_else(not_found)
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
    let (_, conv) = seller_conversation(app, req, id, SCOPE_SELLER_WRITE).await?;
    let status = json_body::<PatchConversationBody>(req)?.validate()?;
    let now = app.clock.now_ms();
    if conv.status == status {
        let conv = app
            .store
            .set_status(&conv, status, now, None)
            .await?
            .ok_or_else(not_found)?;
        return Reply::ok(&view::conversation(&conv));
    }
    // Closing or reopening is news to the seller's systems: the event is written with the
    // change (the outbox), queued, then deleted; a send that fails leaves it to the sweeper.
    let changed = Conversation {
        status,
        updated_at: now,
        ..conv.clone()
    };
    let event = WebhookEvent::about(
        format!("evt_{}", new_id(now).to_ascii_lowercase()),
        &changed,
        now,
        ("conversation", "UPDATED"),
        None,
    );
    let conv = app
        .store
        .set_status(&conv, status, now, Some(&event))
        .await?
        .ok_or_else(not_found)?;
    live(app, &conv, crate::realtime::Change::Status).await;
    let entry = OutboxEvent {
        written_at: now,
        event,
    };
    match send_json(app.queue.as_ref(), QueueName::WebhookEvents, &entry.event).await {
        Ok(()) => {
            if let Err(e) = app.store.delete_outbox(&entry).await {
                tracing::warn!(event_id = %entry.event.id, error = %crate::http::ErrorChain(&e), "outbox entry not deleted; the sweeper will queue the event again");
            }
        }
        Err(e) => {
            tracing::error!(event_id = %entry.event.id, error = %crate::http::ErrorChain(&e), "webhook event not queued; the sweeper will queue it");
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
