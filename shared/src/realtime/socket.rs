//! The WebSocket protocol: `$connect` proves who the socket is, `$default` answers the client's
//! frames, `$disconnect` forgets it. The realtime Lambda function (API Gateway WebSocket API)
//! and the local stack's `/ws` both call these.
//!
//! **Credentials at `$connect`**, the HTTP API's own, on the upgrade request:
//! - a customer: `Authorization: Bearer <identification token>` and `X-Identification-Email`,
//!   or an impersonated `vtex_session` cookie with the operator's credential;
//! - a seller: `Authorization: Bearer <seller token>` with `services:conversations-seller:read`.
//!
//! A browser cannot set headers on a WebSocket, and a token in a URL ends up in logs, so the
//! same values may come as subprotocols (`Sec-WebSocket-Protocol`): `balcao.v1` (answered back),
//! `bearer.<token>` and `email.<the e-mail, base64url>`. A bad credential gets the HTTP API's
//! 401/403 and no connection.
//!
//! **Client → server** (`{"action": …}`): `ping` (answered `pong`), and
//! `resume {conversation_id, after}`, answered with every message of that conversation the
//! viewer may see after the cursor `after` (a `cursor` of a frame, of an earlier `resume` or of a
//! message list's `meta.cursor`; `null` for the start), at most 100 at a time (`more`, `next`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::{Body, Request};
use serde_json::{json, Value};

use super::{deliver, end, frame, Live, Posted};
use crate::api::paging::{decode_cursor, encode_cursor, settled_cursor};
use crate::api::App;
use crate::auth::SCOPE_SELLER_READ;
use crate::domain::model::{Connection, Viewer};
use crate::error::{Error, Result};
use crate::ids::is_id;
use crate::store::PageRequest;

/// The subprotocol of this protocol, answered back when the client offers it.
pub const PROTOCOL: &str = "balcao.v1";
/// The longest a connection lives (API Gateway's own limit), and an impersonated one.
pub const MAX_CONNECTION_MS: i64 = 2 * 60 * 60 * 1000;
pub const MAX_IMPERSONATED_MS: i64 = 15 * 60 * 1000;
/// Messages per `resume` answer.
pub const RESUME_LIMIT: usize = 100;
/// The largest client frame read.
pub const MAX_CLIENT_FRAME: usize = 4096;

/// What `$connect` accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub connection: Connection,
    /// The subprotocol to answer with (`Sec-WebSocket-Protocol`).
    pub protocol: Option<&'static str>,
}

/// The credentials of an upgrade request as the HTTP API reads them: the subprotocol values
/// moved into their headers.
fn as_http_request(req: &Request) -> Result<(Request, bool)> {
    let mut out = Request::new(Body::Empty);
    *out.uri_mut() = req.uri().clone();
    *out.headers_mut() = req.headers().clone();
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let bad = |m: &str| Error::Unauthorized(m.to_owned());
    let mut speaks = false;
    for p in &offered {
        if p == PROTOCOL {
            speaks = true;
        } else if let Some(token) = p.strip_prefix("bearer.") {
            let v = http::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| bad("the bearer subprotocol is not a token"))?;
            out.headers_mut().insert(http::header::AUTHORIZATION, v);
        } else if let Some(email) = p.strip_prefix("email.") {
            let email = URL_SAFE_NO_PAD
                .decode(email)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad("the email subprotocol is not base64url"))?;
            let v = http::HeaderValue::from_str(&email)
                .map_err(|_| bad("X-Identification-Email is not valid"))?;
            out.headers_mut()
                .insert(crate::api::conversations::IDENTIFICATION_EMAIL_HEADER, v);
        }
    }
    out.headers_mut().remove("sec-websocket-protocol");
    Ok((out, speaks))
}

/// `$connect`: checks the credential and stores the connection.
pub async fn connect(app: &App, req: &Request, connection_id: &str) -> Result<Accepted> {
    let (req, speaks) = as_http_request(req)?;
    let now = app.clock.now_ms();
    let customer_request =
        crate::http::header(&req, crate::api::conversations::IDENTIFICATION_EMAIL_HEADER).is_some()
            || crate::http::cookie(&req, crate::api::impersonation::SESSION_COOKIE).is_some();
    let bearer_expiry = crate::http::bearer(&req).and_then(token_expiry_ms);
    let connection = if customer_request {
        let c = crate::api::conversations::customer(app, &req).await?;
        if c.session_id.is_some() {
            same_site(app, &req, &c.account)?;
        }
        let limit = if c.session_id.is_some() {
            MAX_IMPERSONATED_MS
        } else {
            MAX_CONNECTION_MS
        };
        Connection {
            id: connection_id.to_owned(),
            account: c.account,
            viewer: Viewer::Customer(c.contact.id),
            session_id: c.session_id,
            connected_at: now,
            valid_until: until(now, limit, bearer_expiry),
        }
    } else {
        let p = crate::api::seller(app, &req, SCOPE_SELLER_READ)?;
        Connection {
            id: connection_id.to_owned(),
            account: p.account,
            viewer: Viewer::Seller(p.seller_id),
            session_id: None,
            connected_at: now,
            valid_until: until(now, MAX_CONNECTION_MS, bearer_expiry),
        }
    };
    app.store.put_connection(&connection).await?;
    Ok(Accepted {
        connection,
        protocol: speaks.then_some(PROTOCOL),
    })
}

/// A socket authenticated by cookies must come from a page of the store (or of the API itself):
/// the browser sends cookies with any page's WebSocket, and unlike `fetch` nothing like CORS
/// keeps another site from reading what the socket receives.
fn same_site(app: &App, req: &Request, account: &str) -> Result<()> {
    let Some(origin) = crate::http::header(req, "origin") else {
        return Ok(()); // not a browser
    };
    let host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let own = crate::http::header(req, "host").is_some_and(|h| h.eq_ignore_ascii_case(host));
    if own || app.sites.account_for(host).as_deref() == Some(account) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "a session socket must come from the store's own site, not {origin}"
        )))
    }
}

fn until(now: i64, limit: i64, expiry: Option<i64>) -> i64 {
    let cap = now + limit;
    expiry.map_or(cap, |e| e.min(cap))
}

/// The `exp` of a token already verified, in milliseconds.
fn token_expiry_ms(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_i64().map(|s| s.saturating_mul(1000))
}

/// `$disconnect`: forgets the connection.
pub async fn disconnect(app: &App, connection_id: &str) -> Result<()> {
    app.store.delete_connection(connection_id).await
}

/// `$default`: one client frame, answered on the same connection. Errors are answered as
/// `{"type":"error","error":<the HTTP API's error envelope>}` frames.
pub async fn receive(app: &App, live: &Live, connection_id: &str, text: &str) -> Result<()> {
    let Some(pusher) = live.pusher() else {
        return Err(Error::unexpected_msg("no push configured for the socket"));
    };
    let now = app.clock.now_ms();
    let Some(conn) = app.store.get_connection(connection_id, now).await? else {
        // Its credential ran out (or it was never stored): the client reconnects and proves
        // itself again.
        let _ = pusher
            .post(
                connection_id,
                &error_frame(None, &Error::Unauthorized("the connection expired".into())),
            )
            .await;
        end(app.store.as_ref(), pusher.as_ref(), connection_id).await?;
        return Ok(());
    };
    let answer = match answer(app, &conn, text, now).await {
        Ok(v) => v.to_string(),
        Err(e) => error_frame(action_of(text).as_deref(), &e),
    };
    if deliver(app.store.as_ref(), pusher.as_ref(), now, &conn, &answer).await? == Posted::Gone {
        tracing::info!(connection_id, "the connection went away before its answer");
    }
    Ok(())
}

fn action_of(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("action")?.as_str().map(str::to_owned)
}

fn error_frame(action: Option<&str>, e: &Error) -> String {
    json!({
        "type": "error",
        "action": action,
        "error": e.envelope(&crate::http::new_request_id()),
    })
    .to_string()
}

async fn answer(app: &App, conn: &Connection, text: &str, now: i64) -> Result<Value> {
    if text.len() > MAX_CLIENT_FRAME {
        return Err(Error::PayloadTooLarge(MAX_CLIENT_FRAME));
    }
    let invalid = |code: &'static str, m: &str| Error::validation("action", code, m.to_owned());
    let v: Value = serde_json::from_str(text)
        .map_err(|_| invalid("INVALID_JSON", "a frame is one JSON object"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("INVALID_JSON", "a frame is one JSON object"))?;
    let allowed: &[&str] = match obj.get("action").and_then(Value::as_str) {
        Some("ping") => &["action"],
        Some("resume") => &["action", "conversation_id", "after"],
        _ => {
            return Err(invalid(
                "INVALID_ENUM",
                "action must be \"ping\" or \"resume\"",
            ))
        }
    };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error::validation(
            k.as_str(),
            "UNKNOWN_FIELD",
            format!("{k} is not a field of this action"),
        ));
    }
    if obj.get("action").and_then(Value::as_str) == Some("ping") {
        return Ok(json!({"type": "pong", "at": crate::clock::format_ms(now)}));
    }
    let id = obj
        .get("conversation_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::validation("conversation_id", "REQUIRED", "conversation_id is required")
        })?;
    let after = match obj.get("after") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(decode_cursor(raw, is_id).ok_or_else(|| {
            Error::validation(
                "after",
                "INVALID_CURSOR",
                "after is not a cursor this conversation issued",
            )
        })?),
        Some(_) => {
            return Err(Error::validation(
                "after",
                "INVALID_CURSOR",
                "after is a cursor string or null",
            ))
        }
    };
    resume(app, conn, id, after, now).await
}

async fn resume(
    app: &App,
    conn: &Connection,
    id: &str,
    after: Option<String>,
    now: i64,
) -> Result<Value> {
    let side = conn.side();
    let conv = crate::api::conversations::viewer_conversation(app, &conn.account, &conn.viewer, id)
        .await?;
    let page = app
        .store
        .list_messages(
            &conv.account,
            &conv.id,
            side,
            &PageRequest {
                limit: RESUME_LIMIT,
                after: after.clone(),
                skip: 0,
                backward: false,
            },
        )
        .await?;
    let cursor = settled_cursor(&page.items, after.as_deref(), now);
    let mut out = frame("resume", &conv, None, side, cursor)?;
    out["messages"] = page
        .items
        .iter()
        .map(|m| serde_json::to_value(crate::domain::view::message(&conv, m)))
        .collect::<std::result::Result<Vec<Value>, _>>()
        .map_err(Error::unexpected)?
        .into();
    out["more"] = page.more.into();
    out["next"] = match (page.more, page.items.last()) {
        (true, Some(m)) => encode_cursor(&m.id).into(),
        (true, None) => page.resume_after.as_deref().map(encode_cursor).into(),
        _ => Value::Null,
    };
    Ok(out)
}

/// One API Gateway WebSocket event (`$connect`, `$disconnect`, `$default`) through the protocol.
/// `$connect` answers the HTTP API's error envelope and status when the credential fails (API
/// Gateway then refuses the upgrade); the other routes answer 200, their replies go as frames.
pub async fn handle_event(
    app: &App,
    event: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
) -> aws_lambda_events::apigw::ApiGatewayProxyResponse {
    use aws_lambda_events::apigw::ApiGatewayProxyResponse;
    let request_id = crate::http::new_request_id();
    let respond = |status: u16, body: String, protocol: Option<&str>| {
        let mut res = ApiGatewayProxyResponse::default();
        res.status_code = i64::from(status);
        res.body = Some(aws_lambda_events::encodings::Body::Text(body));
        if let Some(p) = protocol.and_then(|p| http::HeaderValue::from_str(p).ok()) {
            res.headers.insert("sec-websocket-protocol", p);
        }
        res
    };
    let failed = |e: &Error| {
        if e.status() >= 500 {
            tracing::error!(error = %crate::http::ErrorChain(e), "realtime request failed");
        }
        respond(e.status(), e.envelope(&request_id).to_string(), None)
    };
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return failed(&Error::validation(
            "requestContext.connectionId",
            "REQUIRED",
            "not a WebSocket event",
        ));
    };
    match event.request_context.route_key.as_deref() {
        Some("$connect") => {
            let req = match websocket_request(&event) {
                Ok(r) => r,
                Err(e) => return failed(&e),
            };
            match connect(app, &req, &connection_id).await {
                Ok(a) => respond(200, String::new(), a.protocol),
                Err(e) => failed(&e),
            }
        }
        Some("$disconnect") => match disconnect(app, &connection_id).await {
            Ok(()) => respond(200, String::new(), None),
            Err(e) => failed(&e),
        },
        _ => {
            let body = event.body.as_deref().unwrap_or_default();
            let text = if event.is_base64_encoded {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default()
            } else {
                body.to_owned()
            };
            match receive(app, &app.live, &connection_id, &text).await {
                Ok(()) => respond(200, String::new(), None),
                Err(e) => failed(&e),
            }
        }
    }
}

/// The upgrade request of a `$connect` event as the HTTP handlers read requests.
fn websocket_request(
    event: &aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
) -> Result<Request> {
    let mut query = String::new();
    for (k, v) in event.query_string_parameters.iter() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&crate::http::percent_encode(k));
        query.push('=');
        query.push_str(&crate::http::percent_encode(v));
    }
    let uri = if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{query}")
    };
    let mut req = Request::new(Body::Empty);
    *req.uri_mut() = uri
        .parse()
        .map_err(|_| Error::validation("query", "INVALID_QUERY", "the query is not valid"))?;
    let mut headers = event.headers.clone();
    for (k, v) in event.multi_value_headers.iter() {
        if !headers.contains_key(k) {
            headers.append(k.clone(), v.clone());
        }
    }
    *req.headers_mut() = headers;
    let mut context = aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = event.request_context.identity.source_ip.clone();
    Ok(lambda_http::RequestExt::with_request_context(
        req,
        lambda_http::request::RequestContext::ApiGatewayV2(context),
    ))
}
