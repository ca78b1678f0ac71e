//! Impersonation: the state machine by which an operator with the *Televendas* permission acts
//! as a customer of the same account, and the credential checks it rests on. The session
//! handlers (`/api/sessions`) and the customer chat routes both go through it; it writes every
//! change of state with its audit entry in one step.
//!
//! States: none → `START` → impersonating → `SWITCH` (another customer) / `STOP` (asked for, or
//! a request without the operator's credential) / `EXPIRED` (a day after the start) / `REVOKED`
//! (the operator lost the permission) → none. A refused request (`REFUSED`) leaves none; a message
//! written while impersonating is audited as `MESSAGE`. Only the credential presented on the
//! request counts: a session remembers no operator.

use lambda_http::Request;

use super::App;
use crate::clock::Millis;
use crate::domain::input::Email;
use crate::domain::model::{AuditAction, AuditEntry, Impersonation, Operator, Session};
use crate::error::{Error, Result};
use crate::http::{bearer, cookie, header};
use crate::ids::{is_id, new_id};

pub const SESSION_COOKIE: &str = "vtex_session";
pub const OPERATOR_COOKIE: &str = "VtexIdclientAutCookie";

/// Impersonation ends one day after it started, like the session cookie.
pub const IMPERSONATION_TTL_MS: Millis = 24 * 60 * 60 * 1000;

/// Who is calling, as far as credentials prove it.
pub(crate) struct Caller {
    pub(crate) operator: Option<Operator>,
    /// The e-mail of a verified operator credential, even when the store does not know them.
    pub(crate) admin_email: Option<String>,
    pub(crate) account_claim: Option<String>,
    pub(crate) client_ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

pub(crate) async fn caller(app: &App, req: &Request) -> Result<Caller> {
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
pub(crate) fn anonymous(req: &Request) -> Caller {
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
pub(crate) fn acting(session: &Session, who: &Caller) -> (Option<Operator>, Option<String>) {
    if who.account_claim.as_deref() != Some(session.account.as_str()) {
        return (None, None);
    }
    (who.operator.clone(), who.admin_email.clone())
}

pub(crate) fn may_impersonate(op: Option<&Operator>) -> bool {
    op.is_some_and(|o| o.televendas && !o.admin)
}

/// The session the `vtex_session` cookie names: a bad or expired token is a 401.
pub(crate) async fn session_from_cookie(
    app: &App,
    req: &Request,
    now: Millis,
) -> Result<Option<Session>> {
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

/// Runs the transform for the acting operator and writes what changed (always, or only when
/// something did). Returns the acting operator as the store knows them now, and the audit entries
/// written.
pub(crate) async fn refresh(
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

/// Writes the session with the audit entries of what changed in it (and the removal of the id
/// it replaces) in one step: never a changed session without its entries.
pub(crate) async fn save(
    app: &App,
    session: &Session,
    entries: &[AuditEntry],
    replaces: Option<&str>,
) -> Result<()> {
    app.store.save_session(session, entries, replaces).await?;
    for e in entries {
        crate::metrics::count("Impersonations", ("Action", e.action.as_str()), 1);
    }
    Ok(())
}

/// The impersonate transform and its guards. Returns the audit entries to write. `operator` and
/// `admin` come from this request's credential only (see [`acting`]).
pub(crate) async fn transform(
    app: &App,
    session: &mut Session,
    who: &Caller,
    operator: Option<&Operator>,
    admin: Option<&str>,
    input: Option<String>,
    now: Millis,
) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::new();
    let entry = |action: AuditAction,
                 operator: Option<&str>,
                 customer: Option<&str>,
                 reason: Option<&str>| AuditEntry {
        id: new_id(now),
        account: session.account.clone(),
        at: now,
        action,
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
            Some((AuditAction::Expired, "impersonation lasts one day"))
        } else if admin.is_none() {
            Some((
                AuditAction::Stop,
                "the request carried no operator credential of this account",
            ))
        } else if admin != Some(imp.operator_email.as_str()) {
            Some((AuditAction::Stop, "another operator took the session"))
        } else if !may_impersonate(operator) {
            Some((
                AuditAction::Revoked,
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
                AuditAction::Stop,
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
                AuditAction::Stop,
                Some(&p.operator_email),
                Some(&p.customer_email),
                None,
            ));
        }
    };
    let refuse = |reason: &str| {
        entry(
            AuditAction::Refused,
            Some(admin),
            Some(&wanted),
            Some(reason),
        )
    };
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
        AuditAction::Switch
    } else {
        AuditAction::Start
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
        action: AuditAction::Message,
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
