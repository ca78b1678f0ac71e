//! `POST /conversations/v3/visitor-identification/tokens/create` (alias
//! `/visitor-identification/v3/tokens/create`): HubSpot's Visitor Identification shapes.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::auth::{hash_app_token, SCOPE_VISITOR_TOKENS};
use crate::domain::input::{check_text, Email, Problems, NAME_MAX};
use crate::error::{Error, Result};
use crate::http::respond;
use crate::http::{bearer, json_body, Reply};

pub const PATHS: [&str; 2] = [
    "/conversations/v3/visitor-identification/tokens/create",
    "/visitor-identification/v3/tokens/create",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    respond(&req, |req| route(app, req)).await
}

async fn route(app: &App, req: &Request) -> Result<Reply> {
    let path = req.uri().path().trim_end_matches('/');
    if !PATHS.contains(&path) {
        return Err(Error::NotFound("route".into()));
    }
    if req.method() != http::Method::POST {
        return Err(Error::MethodNotAllowed);
    }
    create(app, req).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn create(app: &App, req: &Request) -> Result<Reply> {
    let token =
        bearer(req).ok_or_else(|| Error::Unauthorized("a private app token is required".into()))?;
    let app_token = app
        .store
        .get_app_token(&hash_app_token(token))
        .await?
        .ok_or_else(|| Error::Unauthorized("the private app token is not valid".into()))?;
    if !app_token.scopes.iter().any(|s| s == SCOPE_VISITOR_TOKENS) {
        return Err(Error::MissingScopes(vec![SCOPE_VISITOR_TOKENS.into()]));
    }
    let account = app
        .store
        .get_account(&app_token.account)
        .await?
        .ok_or_else(|| Error::Unauthorized("the private app token is not valid".into()))?;
    if !account.tier.allows_visitor_identification() {
        return Err(Error::Forbidden(
            "Visitor identification requires a Professional or Enterprise subscription".into(),
        ));
    }
    let body: CreateBody = json_body(req)?;
    let mut p = Problems::default();
    let email = match body.email.as_deref().map(Email::parse) {
        Some(Ok(e)) => Some(e),
        Some(Err(m)) => {
            p.add("email", "INVALID_EMAIL", m);
            None
        }
        None => {
            p.add("email", "REQUIRED", "email is required");
            None
        }
    };
    let first = body
        .first_name
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| check_text(&mut p, "firstName", s.trim(), 1, NAME_MAX));
    let last = body
        .last_name
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| check_text(&mut p, "lastName", s.trim(), 1, NAME_MAX));
    p.finish(())?;
    let email = email.ok_or_else(|| Error::validation("email", "REQUIRED", "email is required"))?;
    let contact = app
        .store
        .upsert_contact(
            &account.id,
            email.as_str(),
            first.as_deref(),
            last.as_deref(),
            None,
            app.clock.now_ms(),
        )
        .await?;
    let token = app
        .auth
        .issue_visitor_token(&account.id, &contact.id, &contact.email)?;
    Reply::ok(&json!({ "token": token }))
}
