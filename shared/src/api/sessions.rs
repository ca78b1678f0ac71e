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
//! it: it changes nothing). The impersonation state machine and the credential checks are in
//! [`super::impersonation`].

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::impersonation::{
    acting, caller, may_impersonate, refresh, save, session_from_cookie, transform, SESSION_COOKIE,
};
use super::App;
use crate::auth::SESSION_TTL_MS;
use crate::clock::format_ms;
use crate::domain::model::{AuditAction, Session};
use crate::error::{Error, Result};
use crate::http::respond;
use crate::http::{cookie, header, json_body, query_pairs, segments, Reply};
use crate::ids::{is_id, new_id};
use crate::store::PageRequest;

pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/sessions"),
    ("PATCH", "/api/sessions"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/audit"),
];

pub const SEGMENT_COOKIE: &str = "vtex_segment";
pub const IMPERSONATED_EMAIL: &str = "vtex-impersonated-customer-email";
pub const ACCOUNT_HEADER: &str = "x-account";

/// What a session's `public` namespace may hold in all, over every request.
pub const MAX_PUBLIC_KEYS: usize = 64;
pub const MAX_PUBLIC_BYTES: usize = 16 * 1024;

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
        .any(|e| matches!(e.action, AuditAction::Start | AuditAction::Switch));
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
