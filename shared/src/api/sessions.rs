//! The session manager (`functions/impersonate`), in VTEX Session Manager shapes: `POST`,
//! `PATCH` and `GET /api/sessions`, every leaf `{"value": "<string>"}`, booleans as strings; and
//! the impersonate transform, by which an operator with the *Televendas* permission acts as a
//! customer of the same account. `GET /api/sessions/audit` pages the audit trail for an account
//! admin.
//!
//! What is trusted: `authentication.adminUserEmail` only ever comes from a verified operator
//! credential (`Authorization: Bearer` or cookie `VtexIdclientAutCookie`), and the permission
//! from the store, read again on every request. The body's `public` namespace is stored and
//! echoed, never used for authorization (the seed's example puts an `authentication` entry in
//! it: it changes nothing).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::App;
use crate::auth::SESSION_TTL_MS;
use crate::clock::{format_ms, Millis};
use crate::domain::input::Email;
use crate::domain::model::{AuditEntry, Impersonation, Operator, Session};
use crate::error::{Error, Result};
use crate::http::respond;
use crate::http::{bearer, cookie, header, json_body, query_pairs, segments, Reply};
use crate::ids::{is_id, new_id};
use crate::store::PageRequest;

pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/sessions"),
    ("PATCH", "/api/sessions"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/audit"),
];

pub const SESSION_COOKIE: &str = "vtex_session";
pub const SEGMENT_COOKIE: &str = "vtex_segment";
pub const OPERATOR_COOKIE: &str = "VtexIdclientAutCookie";
pub const IMPERSONATED_EMAIL: &str = "vtex-impersonated-customer-email";
pub const ACCOUNT_HEADER: &str = "x-account";

/// Impersonation ends one day after it started, like the session cookie.
pub const IMPERSONATION_TTL_MS: Millis = 24 * 60 * 60 * 1000;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, |req| route(app, req)).await
}

async fn route(app: &App, req: &Request) -> Result<Reply> {
    use http::Method as M;
    match (segments(req).as_slice(), req.method()) {
        (["api", "sessions"], &M::POST) => write(app, req, false).await,
        (["api", "sessions"], &M::PATCH) => write(app, req, true).await,
        (["api", "sessions"], &M::GET) => read(app, req).await,
        (["api", "sessions", "audit"], &M::GET) => audit(app, req).await,
        (["api", "sessions"], _) | (["api", "sessions", "audit"], _) => {
            Err(Error::MethodNotAllowed)
        }
        _ => Err(Error::NotFound("route".into())),
    }
}

/// `{"public": {"<key>": {"value": "<string>"}}}`; other top-level namespaces are not the
/// client's to set and are ignored.
#[derive(Debug, Deserialize)]
struct SessionBody {
    #[serde(default)]
    public: Option<BTreeMap<String, Leaf>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Leaf {
    value: String,
}

/// Who is calling, as far as credentials prove it.
struct Caller {
    operator: Option<Operator>,
    /// The e-mail of a verified operator credential, even when the store does not know them.
    admin_email: Option<String>,
    account_claim: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
}

async fn caller(app: &App, req: &Request) -> Result<Caller> {
    let token = bearer(req).or_else(|| cookie(req, OPERATOR_COOKIE));
    let (operator, admin_email, account_claim) = match token {
        None => (None, None, None),
        Some(t) => {
            let claims = app.auth.verify_operator(t)?;
            let email = claims.sub.to_lowercase();
            let op = app.store.get_operator(&claims.account, &email).await?;
            (op, Some(email), Some(claims.account))
        }
    };
    // API Gateway's own record of the caller first; a forwarded header only without it.
    let source_ip = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    let client_ip = source_ip
        .or_else(|| {
            header(req, "x-forwarded-for")
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_owned())
        })
        .filter(|v| !v.is_empty() && v.len() <= 64);
    Ok(Caller {
        operator,
        admin_email,
        account_claim,
        client_ip,
        user_agent: header(req, "user-agent").map(|v| v.chars().take(256).collect()),
    })
}

/// The operator acting in a session: the one whose credential came with this request, or else
/// the one whose credential set the session's `adminUserEmail` earlier, as the store knows them
/// now (a revoked permission counts at once).
async fn acting(
    app: &App,
    session: &Session,
    who: &Caller,
) -> Result<(Option<Operator>, Option<String>)> {
    if who.admin_email.is_some() {
        return Ok((who.operator.clone(), who.admin_email.clone()));
    }
    match &session.admin_user_email {
        Some(e) => Ok((
            app.store.get_operator(&session.account, e).await?,
            Some(e.clone()),
        )),
        None => Ok((None, None)),
    }
}

fn may_impersonate(op: Option<&Operator>) -> bool {
    op.is_some_and(|o| o.televendas && !o.admin)
}

/// The session the `vtex_session` cookie names: a bad or expired token is a 401.
async fn session_from_cookie(app: &App, req: &Request, now: Millis) -> Result<Option<Session>> {
    let Some(token) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id = app.auth.verify_session(token)?;
    if !is_id(&id) {
        return Err(Error::Unauthorized("invalid session".into()));
    }
    match app.store.get_session(&id, now).await? {
        Some(s) => Ok(Some(s)),
        None => Err(Error::Unauthorized("the session has expired".into())),
    }
}

async fn write(app: &App, req: &Request, patch: bool) -> Result<Reply> {
    let now = app.clock.now_ms();
    let who = caller(app, req).await?;
    let existing = session_from_cookie(app, req, now).await?;
    if patch && existing.is_none() {
        return Err(Error::Unauthorized(
            "PATCH edits the session of the vtex_session cookie".into(),
        ));
    }
    let body: SessionBody = json_body(req)?;
    let account = match (&who.account_claim, &existing) {
        (Some(a), Some(s)) if *a != s.account => {
            return Err(Error::Unauthorized(
                "the session belongs to another account".into(),
            ))
        }
        (Some(a), _) => a.clone(),
        (None, Some(s)) => s.account.clone(),
        (None, None) => header(req, ACCOUNT_HEADER)
            .map(str::to_owned)
            .filter(|a| !a.is_empty() && a.len() <= 64)
            .ok_or_else(|| {
                Error::validation(
                    ACCOUNT_HEADER,
                    "REQUIRED",
                    "a new session needs the store account: an operator credential or X-Account",
                )
            })?,
    };
    if existing.is_none() && app.store.get_account(&account).await?.is_none() {
        return Err(Error::NotFound("account".into()));
    }
    let mut session = existing.unwrap_or_else(|| Session {
        id: new_id(now),
        account: account.clone(),
        public: BTreeMap::new(),
        admin_user_email: None,
        impersonation_input: None,
        impersonation: None,
        created_at: now,
        valid_until: now + SESSION_TTL_MS,
    });
    let public = body.public.unwrap_or_default();
    if public.len() > 64
        || public
            .iter()
            .any(|(k, v)| k.len() > 128 || v.value.len() > 2048)
    {
        return Err(Error::validation(
            "public",
            "TOO_LARGE",
            "at most 64 keys, keys up to 128 and values up to 2048 characters",
        ));
    }
    // The transform's input: the body first, then the cookie of the same name.
    let input = public
        .get(IMPERSONATED_EMAIL)
        .map(|l| l.value.clone())
        .or_else(|| {
            // Cookie values arrive percent-encoded (`maria%40example.com`).
            cookie(req, IMPERSONATED_EMAIL)
                .map(|v| crate::http::percent_decode(v).unwrap_or_else(|_| v.to_owned()))
        });
    for (k, v) in public {
        session.public.insert(k, v.value);
    }
    if who.admin_email.is_some() {
        session.admin_user_email = who.admin_email.clone();
    }
    let op = refresh(app, &mut session, &who, input, now, true).await?;
    let token = app.auth.issue_session_token(&session.id)?;
    let segment = segment_token();
    let namespaces = namespaces(&session, may_impersonate(op.as_ref()));
    let body = json!({
        "id": session.id,
        "sessionToken": token,
        "segmentToken": segment,
        "namespaces": namespaces,
    });
    let status = if patch { 200 } else { 201 };
    Ok(Reply::json(status, &body)?
        .header("set-cookie", set_cookie(SESSION_COOKIE, &token))
        .header("set-cookie", set_cookie(SEGMENT_COOKIE, &segment)))
}

async fn read(app: &App, req: &Request) -> Result<Reply> {
    let now = app.clock.now_ms();
    let who = caller(app, req).await?;
    let mut session = session_from_cookie(app, req, now)
        .await?
        .ok_or_else(|| Error::Unauthorized("a vtex_session cookie is required".into()))?;
    if who
        .account_claim
        .as_ref()
        .is_some_and(|a| *a != session.account)
    {
        return Err(Error::Unauthorized(
            "the session belongs to another account".into(),
        ));
    }
    let items: Vec<String> = query_pairs(req)?
        .into_iter()
        .filter(|(k, _)| k == "items")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(Error::validation(
            "items",
            "REQUIRED",
            "name the keys to read (items=namespace.key,…) or items=*",
        ));
    }
    // A read also ends an impersonation that expired or whose operator lost the permission.
    let op = refresh(app, &mut session, &who, None, now, false).await?;
    let all = namespaces(&session, may_impersonate(op.as_ref()));
    let wanted = if items.iter().any(|i| i == "*") {
        all
    } else {
        let mut out = Map::new();
        for item in &items {
            let Some((ns, key)) = item.split_once('.') else {
                continue;
            };
            if let Some(v) = all.get(ns).and_then(|n| n.get(key)) {
                out.entry(ns.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .map(|m| m.insert(key.to_owned(), v.clone()));
            }
        }
        out
    };
    Reply::ok(&json!({ "id": session.id, "namespaces": wanted }))
}

/// Runs the transform for the acting operator and writes what changed (always, or only when
/// something did). Returns the acting operator as the store knows them now.
async fn refresh(
    app: &App,
    session: &mut Session,
    who: &Caller,
    input: Option<String>,
    now: Millis,
    always: bool,
) -> Result<Option<Operator>> {
    let (op, admin) = acting(app, session, who).await?;
    let entries = transform(app, session, who, op.as_ref(), admin.as_deref(), input, now).await?;
    if always || !entries.is_empty() {
        app.store.put_session(session).await?;
        for e in &entries {
            app.store.add_audit(e).await?;
            crate::metrics::count("Impersonations", ("Action", &e.action), 1);
        }
    }
    Ok(op)
}

/// The impersonate transform and its guards. Returns the audit entries to write.
async fn transform(
    app: &App,
    session: &mut Session,
    who: &Caller,
    operator: Option<&Operator>,
    admin: Option<&str>,
    input: Option<String>,
    now: Millis,
) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::new();
    let entry = |action: &str,
                 operator: Option<&str>,
                 customer: Option<&str>,
                 reason: Option<&str>| AuditEntry {
        id: new_id(now),
        account: session.account.clone(),
        at: now,
        action: action.into(),
        operator: operator.map(str::to_owned),
        customer: customer.map(str::to_owned),
        session_id: session.id.clone(),
        reason: reason.map(str::to_owned),
        client_ip: who.client_ip.clone(),
        user_agent: who.user_agent.clone(),
        conversation_id: None,
        message_id: None,
    };
    // What holds no longer: the day is over, or the operator lost the permission.
    if let Some(imp) = session.impersonation.clone() {
        let end = if now - imp.started_at >= IMPERSONATION_TTL_MS {
            Some(("EXPIRED", "impersonation lasts one day"))
        } else if !match operator.filter(|o| o.email == imp.operator_email) {
            // The acting operator was just read: no second read for the same record.
            Some(o) => may_impersonate(Some(o)),
            None => may_impersonate(
                app.store
                    .get_operator(&session.account, &imp.operator_email)
                    .await?
                    .as_ref(),
            ),
        } {
            Some((
                "REVOKED",
                "the operator no longer has the Televendas permission",
            ))
        } else if admin.is_some_and(|e| e != imp.operator_email) {
            Some(("STOP", "another operator took the session"))
        } else {
            None
        };
        if let Some((action, reason)) = end {
            out.push(entry(
                action,
                Some(&imp.operator_email),
                Some(&imp.customer_email),
                Some(reason),
            ));
            session.impersonation = None;
            session.impersonation_input = None;
        }
    }
    let Some(raw) = input else {
        return Ok(out);
    };
    let wanted = raw.trim().to_lowercase();
    if session.impersonation_input.as_deref() == Some(wanted.as_str()) {
        return Ok(out);
    }
    session.impersonation_input = Some(wanted.clone());
    let previous = session.impersonation.take();
    if wanted.is_empty() {
        if let Some(p) = previous {
            out.push(entry(
                "STOP",
                Some(&p.operator_email),
                Some(&p.customer_email),
                None,
            ));
        }
        return Ok(out);
    }
    let refuse = |reason: &str| entry("REFUSED", admin, Some(&wanted), Some(reason));
    let Some(op) = operator.filter(|o| may_impersonate(Some(o))) else {
        let reason = if admin.is_none() {
            "no operator credential"
        } else {
            "the operator does not have the Televendas permission"
        };
        if let Some(p) = &previous {
            out.push(entry(
                "STOP",
                Some(&p.operator_email),
                Some(&p.customer_email),
                Some(reason),
            ));
        }
        out.push(refuse(reason));
        return Ok(out);
    };
    let found = match Email::parse(&wanted) {
        Err(_) => None,
        Ok(email) => {
            if app
                .store
                .get_operator(&session.account, email.as_str())
                .await?
                .is_some()
            {
                if let Some(p) = &previous {
                    out.push(entry(
                        "STOP",
                        Some(&p.operator_email),
                        Some(&p.customer_email),
                        None,
                    ));
                }
                out.push(refuse(
                    "operators and account admins cannot be impersonated",
                ));
                return Ok(out);
            }
            app.store
                .get_contact(&session.account, email.as_str())
                .await?
        }
    };
    let Some(customer) = found else {
        if let Some(p) = &previous {
            out.push(entry(
                "STOP",
                Some(&p.operator_email),
                Some(&p.customer_email),
                None,
            ));
        }
        out.push(refuse("no customer with this e-mail in this account"));
        return Ok(out);
    };
    let action = if previous.is_some() {
        "SWITCH"
    } else {
        "START"
    };
    session.impersonation = Some(Impersonation {
        operator_email: op.email.clone(),
        operator_name: op.name.clone(),
        customer_id: customer.id.clone(),
        customer_email: customer.email.clone(),
        started_at: now,
    });
    out.push(entry(action, Some(&op.email), Some(&customer.email), None));
    Ok(out)
}

fn leaf(v: impl Into<String>) -> Value {
    json!({ "value": v.into() })
}

fn namespaces(session: &Session, can: bool) -> Map<String, Value> {
    let mut ns = Map::new();
    let public: Map<String, Value> = session
        .public
        .iter()
        .map(|(k, v)| (k.clone(), leaf(v.clone())))
        .collect();
    ns.insert("public".into(), Value::Object(public));
    if let Some(admin) = &session.admin_user_email {
        ns.insert(
            "authentication".into(),
            json!({ "adminUserEmail": leaf(admin.clone()) }),
        );
    }
    let mut imp = Map::new();
    imp.insert(
        "canImpersonate".into(),
        leaf(if can { "true" } else { "false" }),
    );
    imp.insert("account".into(), leaf(session.account.clone()));
    if let Some(i) = &session.impersonation {
        imp.insert("storeUserId".into(), leaf(i.customer_id.clone()));
        imp.insert("storeUserEmail".into(), leaf(i.customer_email.clone()));
    }
    ns.insert("impersonate".into(), Value::Object(imp));
    ns
}

fn segment_token() -> String {
    let segment = json!({
        "campaigns": null, "channel": "1", "priceTables": null, "regionId": null,
        "utm_campaign": null, "utm_source": null, "utmi_campaign": null,
        "currencyCode": "BRL", "currencySymbol": "R$", "countryCode": "BRA", "cultureInfo": "pt-BR",
    });
    URL_SAFE_NO_PAD.encode(segment.to_string())
}

fn set_cookie(name: &str, value: &str) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        SESSION_TTL_MS / 1000
    )
}

async fn audit(app: &App, req: &Request) -> Result<Reply> {
    let who = caller(app, req).await?;
    let account = who
        .account_claim
        .clone()
        .ok_or_else(|| Error::Unauthorized("an operator credential is required".into()))?;
    if !who.operator.as_ref().is_some_and(|o| o.admin) {
        return Err(Error::Forbidden(
            "only an account admin reads the audit trail".into(),
        ));
    }
    let mut limit = 20usize;
    let mut after = None;
    for (k, v) in query_pairs(req)? {
        match k.as_str() {
            "_limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| Error::validation("_limit", "INVALID", "_limit is 1 to 100"))?
            }
            "_after" if is_id(&v) => after = Some(v),
            "_after" => return Err(Error::validation("_after", "INVALID", "not a cursor")),
            other => {
                return Err(Error::validation(
                    other,
                    "UNKNOWN",
                    format!("unknown parameter {other}"),
                ))
            }
        }
    }
    let page = app
        .store
        .list_audit(
            &account,
            &PageRequest {
                limit,
                after,
                skip: 0,
                backward: false,
            },
        )
        .await?;
    let results: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("at".into(), Value::String(format_ms(e.at)));
            }
            v
        })
        .collect();
    let mut body = json!({ "results": results });
    if page.more {
        if let Some(last) = page.items.last() {
            body["paging"] = json!({ "next": { "after": last.id } });
        }
    }
    Reply::ok(&body)
}

/// The customer an impersonated session acts as, for the chat's customer routes: the session
/// must hold an impersonation that has not expired and whose operator still has the Televendas
/// permission (an ended one is audited and refused).
pub(crate) async fn impersonated(app: &App, req: &Request) -> Result<(Session, Impersonation)> {
    let now = app.clock.now_ms();
    let who = caller(app, req).await?;
    let mut session = session_from_cookie(app, req, now)
        .await?
        .ok_or_else(|| Error::Unauthorized("a vtex_session cookie is required".into()))?;
    refresh(app, &mut session, &who, None, now, false).await?;
    let imp = session
        .impersonation
        .clone()
        .ok_or_else(|| Error::Unauthorized("the session impersonates no customer".into()))?;
    Ok((session, imp))
}

/// Links a message written in an impersonated session to the audit trail.
pub(crate) async fn audit_message(
    app: &App,
    req: &Request,
    session_id: &str,
    account: &str,
    operator: &str,
    customer: &str,
    (conversation_id, message_id): (&str, &str),
) -> Result<()> {
    let now = app.clock.now_ms();
    let who = caller(app, req).await?;
    app.store
        .add_audit(&AuditEntry {
            id: new_id(now),
            account: account.to_owned(),
            at: now,
            action: "MESSAGE".into(),
            operator: Some(operator.to_owned()),
            customer: Some(customer.to_owned()),
            session_id: session_id.to_owned(),
            reason: None,
            client_ip: who.client_ip,
            user_agent: who.user_agent,
            conversation_id: Some(conversation_id.to_owned()),
            message_id: Some(message_id.to_owned()),
        })
        .await
}
