//! Webhook subscriptions (`functions/webhooks`, seller scopes): `POST /v0/webhooks`
//! `{url, domains?}` → 201 with the signing secret (shown this once), `GET /v0/webhooks`,
//! `DELETE /v0/webhooks/{id}` → 204. A seller sees and deletes only their own subscriptions.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::{seller, App};
use crate::auth::{SCOPE_SELLER_READ, SCOPE_SELLER_WRITE};
use crate::clock::format_ms;
use crate::domain::input::Problems;
use crate::domain::model::SubscriptionKey;
use crate::domain::model::{Subscription, SubscriptionStatus};
use crate::error::{Error, Result};
use crate::http::respond;
use crate::http::{json_body, segments, Reply};
use crate::ids::{is_id, new_id};
use crate::webhooks::{new_secret, DOMAINS, MAX_SUBSCRIPTIONS};

pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v0/webhooks"),
    ("GET", "/v0/webhooks"),
    ("DELETE", "/v0/webhooks/{id}"),
];

const URL_MAX: usize = 2048;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, |req| route(app, req)).await
}

async fn route(app: &App, req: &Request) -> Result<Reply> {
    use http::Method as M;
    match (segments(req).as_slice(), req.method()) {
        (["v0", "webhooks"], &M::POST) => create(app, req).await,
        (["v0", "webhooks"], &M::GET) => list(app, req).await,
        (["v0", "webhooks", id], &M::DELETE) => delete(app, req, id).await,
        (["v0", "webhooks"], _) | (["v0", "webhooks", _], _) => Err(Error::MethodNotAllowed),
        _ => Err(Error::NotFound("route".into())),
    }
}

/// `POST /v0/webhooks` as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: Option<String>,
    domains: Option<Vec<String>>,
}

/// A subscription as the API shows it; the secret only in the answer to its creation.
#[derive(Debug, Serialize)]
struct SubscriptionView<'a> {
    id: &'a str,
    url: &'a str,
    domains: &'a [String],
    status: SubscriptionStatus,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

fn view(s: &Subscription, with_secret: bool) -> SubscriptionView<'_> {
    SubscriptionView {
        id: &s.id,
        url: &s.url,
        domains: &s.domains,
        status: s.status,
        created_at: format_ms(s.created_at),
        disabled_reason: s.disabled_reason.as_deref(),
        secret: with_secret.then_some(s.secret.as_str()),
    }
}

async fn create(app: &App, req: &Request) -> Result<Reply> {
    let p = seller(app, req, SCOPE_SELLER_WRITE)?;
    let body: CreateBody = json_body(req)?;
    let mut problems = Problems::default();
    let url = match body.url.as_deref().map(str::trim) {
        None | Some("") => {
            problems.add("url", "REQUIRED", "url is required");
            None
        }
        Some(u) if u.len() > URL_MAX => {
            problems.add(
                "url",
                "TOO_LONG",
                format!("url is longer than {URL_MAX} characters"),
            );
            None
        }
        Some(u) => match app.url_policy.check_url(u) {
            Ok(_) => Some(u.to_owned()),
            Err(why) => {
                problems.add("url", "INVALID", format!("url {why}"));
                None
            }
        },
    };
    let domains = match body.domains {
        None => DOMAINS.iter().map(|d| d.to_string()).collect(),
        Some(ds) if ds.is_empty() => {
            problems.add(
                "domains",
                "INVALID",
                "domains may not be empty; omit it for all",
            );
            Vec::new()
        }
        Some(ds) => {
            let mut out: Vec<String> = Vec::new();
            for (i, d) in ds.iter().enumerate() {
                if !DOMAINS.contains(&d.as_str()) {
                    problems.add(
                        format!("domains[{i}]"),
                        "INVALID",
                        format!("unknown domain {d:?}: use conversation or message"),
                    );
                } else if !out.contains(d) {
                    out.push(d.clone());
                }
            }
            out
        }
    };
    let (url, domains) = problems.finish((url, domains))?;
    let url = url.unwrap_or_default();
    let now = app.clock.now_ms();
    let sub = Subscription {
        id: new_id(now),
        account: p.account.clone(),
        seller_id: p.seller_id.clone(),
        url,
        domains,
        secret: new_secret(),
        status: SubscriptionStatus::Active,
        created_at: now,
        disabled_reason: None,
    };
    // The cap is a condition of the write itself: concurrent requests cannot pass it.
    if !app.store.add_subscription(&sub, MAX_SUBSCRIPTIONS).await? {
        return Err(Error::Conflict(format!(
            "a seller may hold {MAX_SUBSCRIPTIONS} webhook subscriptions; delete one first"
        )));
    }
    Reply::created(&view(&sub, true))
}

async fn list(app: &App, req: &Request) -> Result<Reply> {
    let p = seller(app, req, SCOPE_SELLER_READ)?;
    let subs = app
        .store
        .list_subscriptions(&p.account, &p.seller_id)
        .await?;
    let results: Vec<_> = subs.iter().map(|s| view(s, false)).collect();
    Reply::ok(&serde_json::json!({ "results": results }))
}

async fn delete(app: &App, req: &Request, id: &str) -> Result<Reply> {
    let p = seller(app, req, SCOPE_SELLER_WRITE)?;
    let not_found = || Error::NotFound("webhook subscription".into());
    if !is_id(id) {
        return Err(not_found());
    }
    if !app
        .store
        .delete_subscription(SubscriptionKey {
            account: &p.account,
            seller: &p.seller_id,
            id,
        })
        .await?
    {
        return Err(not_found());
    }
    Ok(Reply::no_content())
}
