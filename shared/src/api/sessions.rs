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
use lambda_http::{Body, Request, Response};
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

/// What a session's `public` namespace may hold in all, over every request.
pub const MAX_PUBLIC_KEYS: usize = 64;
pub const MAX_PUBLIC_BYTES: usize = 16 * 1024;

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
    Ok(Caller {
        operator,
        admin_email,
        account_claim,
        ..anonymous(req)
    })
}

/// The caller without any credential: only where the request came from.
fn anonymous(req: &Request) -> Caller {
    Caller {
        operator: None,
        admin_email: None,
        account_claim: None,
        client_ip: crate::http::client_ip(req),
        user_agent: header(req, "user-agent").map(|v| v.chars().take(256).collect()),
    }
}

/// The operator acting in a session: only the one whose credential came with *this* request
/// (VTEX's `authentication` namespace is rebuilt from the request's own credential), as the store
/// knows them now, so a revoked permission counts at once. A session remembers no operator.
fn acting(session: &Session, who: &Caller) -> (Option<Operator>, Option<String>) {
    if who.account_claim.as_deref() != Some(session.account.as_str()) {
        return (None, None);
    }
    (who.operator.clone(), who.admin_email.clone())
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
        // API clients name the store; a store's own pages are served on its host.
        (None, None) => header(req, ACCOUNT_HEADER)
            .map(str::to_owned)
            .filter(|a| !a.is_empty() && a.len() <= 64)
            .or_else(|| header(req, "host").and_then(|h| app.sites.account_for(h)))
            .ok_or_else(|| {
                Error::validation(
                    ACCOUNT_HEADER,
                    "REQUIRED",
                    "a new session needs the store account: an operator credential, a store's \
                     host or X-Account",
                )
            })?,
    };
    let is_new = existing.is_none();
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
    if public.len() > MAX_PUBLIC_KEYS
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
    // The whole namespace is bounded, not only one request's share of it (a DynamoDB item holds
    // 400 KB; a session must stay far below).
    let bytes: usize = session.public.iter().map(|(k, v)| k.len() + v.len()).sum();
    if session.public.len() > MAX_PUBLIC_KEYS || bytes > MAX_PUBLIC_BYTES {
        return Err(Error::validation(
            "public",
            "TOO_LARGE",
            format!(
                "a session holds at most {MAX_PUBLIC_KEYS} public keys and {MAX_PUBLIC_BYTES} \
                 bytes of keys and values"
            ),
        ));
    }
    // The operator the session id was issued to: a credential attached for the first time (or
    // another operator's) gets a new id, and so does every impersonation that starts, so an id
    // planted before (session fixation) never carries an operator's powers.
    let attached = who.admin_email.is_some() && session.admin_user_email != who.admin_email;
    if who.admin_email.is_some() {
        session.admin_user_email = who.admin_email.clone();
    }
    let (op, admin) = acting(&session, &who);
    let mut entries = transform(
        app,
        &mut session,
        &who,
        op.as_ref(),
        admin.as_deref(),
        input,
        now,
    )
    .await?;
    let started = entries
        .iter()
        .any(|e| e.action == "START" || e.action == "SWITCH");
    let planted = (!is_new && (attached || started)).then(|| session.id.clone());
    if planted.is_some() {
        session.id = new_id(now);
        for e in &mut entries {
            e.session_id = session.id.clone();
        }
    }
    save(app, &session, &entries, planted.as_deref()).await?;
    let token = app.auth.issue_session_token(&session.id)?;
    let segment = segment_token();
    let namespaces = namespaces(&session, admin.as_deref(), may_impersonate(op.as_ref()));
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
    // A read also ends an impersonation that expired, whose operator lost the permission, or
    // whose operator's credential did not come with it.
    let (op, _) = refresh(app, &mut session, &who, None, now, false).await?;
    let admin = acting(&session, &who).1;
    let all = namespaces(&session, admin.as_deref(), may_impersonate(op.as_ref()));
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
/// something did). Returns the acting operator as the store knows them now, and the audit entries
/// written.
async fn refresh(
    app: &App,
    session: &mut Session,
    who: &Caller,
    input: Option<String>,
    now: Millis,
    always: bool,
) -> Result<(Option<Operator>, Vec<AuditEntry>)> {
    let (op, admin) = acting(session, who);
    let entries = transform(app, session, who, op.as_ref(), admin.as_deref(), input, now).await?;
    if always || !entries.is_empty() {
        save(app, session, &entries, None).await?;
    }
    Ok((op, entries))
}

/// Writes the session and the audit entries of what changed in it.
/// Writes the session with the audit entries of what changed in it (and the removal of the id
/// it replaces) in one step: never a changed session without its entries.
async fn save(
    app: &App,
    session: &Session,
    entries: &[AuditEntry],
    replaces: Option<&str>,
) -> Result<()> {
    app.store.save_session(session, entries, replaces).await?;
    for e in entries {
        crate::metrics::count("Impersonations", ("Action", &e.action), 1);
    }
    Ok(())
}

/// The impersonate transform and its guards. Returns the audit entries to write. `operator` and
/// `admin` come from this request's credential only (see [`acting`]).
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
        // Only a validated e-mail is ever stored: never the caller's free text.
        customer: customer
            .and_then(|c| Email::parse(c).ok())
            .map(|e| e.as_str().to_owned()),
        session_id: session.id.clone(),
        reason: reason.map(str::to_owned),
        client_ip: who.client_ip.clone(),
        user_agent: who.user_agent.clone(),
        conversation_id: None,
        message_id: None,
    };
    // What holds no longer: the day is over, this request carries no credential of the operator
    // who started it, or the operator lost the permission.
    if let Some(imp) = session.impersonation.clone() {
        let end = if now - imp.started_at >= IMPERSONATION_TTL_MS {
            Some(("EXPIRED", "impersonation lasts one day"))
        } else if admin.is_none() {
            Some((
                "STOP",
                "the request carried no operator credential of this account",
            ))
        } else if admin != Some(imp.operator_email.as_str()) {
            Some(("STOP", "another operator took the session"))
        } else if !may_impersonate(operator) {
            Some((
                "REVOKED",
                "the operator no longer has the Televendas permission",
            ))
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
    if wanted.is_empty() {
        session.impersonation_input = None;
        if let Some(p) = session.impersonation.take() {
            out.push(entry(
                "STOP",
                Some(&p.operator_email),
                Some(&p.customer_email),
                None,
            ));
        }
        return Ok(out);
    }
    let Some(admin) = admin else {
        // Nobody to hold to account: not an entry of the account's audit trail (anyone can send
        // this), only a log line and a metric.
        tracing::warn!(session_id = %session.id, "impersonation refused: no operator credential");
        crate::metrics::count("Impersonations", ("Action", "REFUSED_ANONYMOUS"), 1);
        return Ok(out);
    };
    let previous = session.impersonation.take();
    session.impersonation_input = Some(wanted.clone());
    let stop_previous = |out: &mut Vec<AuditEntry>| {
        if let Some(p) = &previous {
            out.push(entry(
                "STOP",
                Some(&p.operator_email),
                Some(&p.customer_email),
                None,
            ));
        }
    };
    let refuse = |reason: &str| entry("REFUSED", Some(admin), Some(&wanted), Some(reason));
    let Some(op) = operator.filter(|o| may_impersonate(Some(o))) else {
        stop_previous(&mut out);
        out.push(refuse(
            "the operator does not have the Televendas permission",
        ));
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
                stop_previous(&mut out);
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
        stop_previous(&mut out);
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

/// The session as this request sees it: `authentication` holds the operator of this request's
/// credential only.
fn namespaces(session: &Session, admin: Option<&str>, can: bool) -> Map<String, Value> {
    let mut ns = Map::new();
    let public: Map<String, Value> = session
        .public
        .iter()
        .map(|(k, v)| (k.clone(), leaf(v.clone())))
        .collect();
    ns.insert("public".into(), Value::Object(public));
    if let Some(admin) = admin {
        ns.insert(
            "authentication".into(),
            json!({ "adminUserEmail": leaf(admin) }),
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
/// must hold an impersonation that has not expired, and the request must carry the credential
/// of the operator who started it, of the session's account, who still has the Televendas
/// permission. Without that credential (absent, invalid, expired, another account's or another
/// operator's) the impersonation ends, is audited, and the request is refused.
pub(crate) async fn impersonated(app: &App, req: &Request) -> Result<(Session, Impersonation)> {
    let now = app.clock.now_ms();
    let mut session = session_from_cookie(app, req, now)
        .await?
        .ok_or_else(|| Error::Unauthorized("a vtex_session cookie is required".into()))?;
    let who = match caller(app, req).await {
        Ok(who) => who,
        Err(e) => {
            refresh(app, &mut session, &anonymous(req), None, now, false).await?;
            return Err(e);
        }
    };
    refresh(app, &mut session, &who, None, now, false).await?;
    let imp = session.impersonation.clone().ok_or_else(|| {
        Error::Unauthorized(
            "the session impersonates no customer for this request: an impersonated session \
             needs the operator's credential (Authorization: Bearer or VtexIdclientAutCookie) \
             on every request"
                .into(),
        )
    })?;
    Ok((session, imp))
}

/// The audit entry of a message written in an impersonated session; the store writes it in the
/// message's own transaction.
pub(crate) fn message_audit(
    req: &Request,
    session_id: &str,
    account: &str,
    operator: &str,
    customer: &str,
    msg: &crate::domain::model::Message,
) -> AuditEntry {
    let who = anonymous(req);
    AuditEntry {
        id: new_id(msg.when_at),
        account: account.to_owned(),
        at: msg.when_at,
        action: "MESSAGE".into(),
        operator: Some(operator.to_owned()),
        customer: Some(customer.to_owned()),
        session_id: session_id.to_owned(),
        reason: None,
        client_ip: who.client_ip,
        user_agent: who.user_agent,
        conversation_id: Some(msg.conversation_id.clone()),
        message_id: Some(msg.id.clone()),
    }
}
