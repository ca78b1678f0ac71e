//! The demo store at `/demo/` (local stack only, never deployed): a product page that embeds the
//! widget snippet as a store would, and a stand-in for the store's backend.
//!
//! - `POST /demo/api/identify {"email"}`: what a store's backend does for its logged-in visitor,
//!   calling the identification API with the demo private app token (only the demo fixture's
//!   `lojademo` customers);
//! - `GET /demo/api/sellers`: the demo sellers with seller tokens signed by the development key,
//!   so the inbox can offer them;
//! - `POST /demo/api/operator {"email"}` / `DELETE /demo/api/operator`: sign a demo operator in
//!   or out, as the store's admin login would (the `VtexIdclientAutCookie` cookie).

use balcao::api::assets::{Asset, Bundle, Kind};
use balcao::api::{token_create, App};
use balcao::auth::{
    mint_operator_token, mint_seller_token, OperatorClaims, SellerClaims, LOCAL_AUDIENCE,
    LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER, SCOPE_SELLER_READ, SCOPE_SELLER_WRITE,
};
use balcao::error::{Error, Result};
use balcao::fixture::Fixture;
use balcao::http::{finish, new_request_id, Reply};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::OnceLock;

use crate::DEMO_FIXTURE;

const ACCOUNT: &str = "lojademo";
const APP_TOKEN: &str = "pat-demo-lojademo-0000000000000000000000000001";
const TOKEN_TTL_S: i64 = 12 * 3600;

const FILES: &[Asset] = &[
    Asset {
        path: "/demo/",
        kind: Kind::Page,
        bytes: include_bytes!("../../widget/demo/index.html"),
    },
    Asset {
        path: "/demo/store.js",
        kind: Kind::Script,
        bytes: include_bytes!("../../widget/demo/store.js"),
    },
    Asset {
        path: "/demo/store.css",
        kind: Kind::Style,
        bytes: include_bytes!("../../widget/demo/store.css"),
    },
];

fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| Bundle::new(FILES))
}

fn fixture() -> Result<Fixture> {
    Fixture::parse(DEMO_FIXTURE)
}

/// Whether the demo serves `path`.
pub fn serves(path: &str) -> bool {
    path == "/demo" || path.starts_with("/demo/")
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if !path.starts_with("/demo/api/") {
        return bundle().respond(&req);
    }
    let request_id = new_request_id();
    let method = req.method().clone();
    let result = match (path.as_str(), method.as_str()) {
        ("/demo/api/identify", "POST") => return identify(app, &req).await,
        ("/demo/api/sellers", "GET") => sellers(app),
        ("/demo/api/operator", "POST") => operator_in(app, &req),
        ("/demo/api/operator", "DELETE") => Ok(Reply::no_content().header(
            "set-cookie",
            format!(
                "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                balcao::api::impersonation::OPERATOR_COOKIE
            ),
        )),
        ("/demo/api/identify" | "/demo/api/sellers" | "/demo/api/operator", _) => {
            Err(Error::MethodNotAllowed)
        }
        _ => Err(Error::NotFound("route".into())),
    };
    finish(result, &request_id)
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
}

fn email_of(req: &Request) -> Result<String> {
    let body: EmailBody = serde_json::from_slice(req.body().as_ref())
        .map_err(|_| Error::validation("email", "INVALID", "expected {\"email\": \"…\"}"))?;
    Ok(body.email.trim().to_lowercase())
}

/// The store backend's call: a token for a logged-in demo shopper, from the public API.
async fn identify(app: &App, req: &Request) -> Response<Body> {
    let email = match email_of(req) {
        Ok(e) => e,
        Err(e) => return finish(Err(e), &new_request_id()),
    };
    let shopper = fixture().ok().and_then(|f| {
        f.customers
            .into_iter()
            .find(|c| c.account == ACCOUNT && c.email.eq_ignore_ascii_case(&email))
    });
    let Some(shopper) = shopper else {
        return finish(
            Err(Error::validation(
                "email",
                "INVALID_ENUM",
                format!("{email} is not a demo shopper of {ACCOUNT}"),
            )),
            &new_request_id(),
        );
    };
    let body = json!({
        "email": shopper.email,
        "firstName": shopper.first_name,
        "lastName": shopper.last_name,
    });
    let call = http::Request::builder()
        .method("POST")
        .uri(token_create::PATHS[0])
        .header("authorization", format!("Bearer {APP_TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()));
    match call {
        Ok(call) => token_create::handle(app, call).await,
        Err(e) => finish(Err(Error::unexpected(e)), &new_request_id()),
    }
}

fn exp(app: &App) -> i64 {
    app.clock.now_ms() / 1000 + TOKEN_TTL_S
}

fn sellers(app: &App) -> Result<Reply> {
    let list = fixture()?
        .sellers
        .into_iter()
        .filter(|s| s.account == ACCOUNT)
        .map(|s| {
            let claims = SellerClaims {
                sub: format!("{}-inbox", s.id),
                account: s.account.clone(),
                seller_id: s.id.clone(),
                scope: format!("{SCOPE_SELLER_READ} {SCOPE_SELLER_WRITE}"),
                name: Some(s.name.clone()),
            };
            let token = mint_seller_token(
                LOCAL_DEV_SECRET.as_bytes(),
                LOCAL_DEV_KID,
                LOCAL_ISSUER,
                LOCAL_AUDIENCE,
                &claims,
                exp(app),
            )?;
            Ok(json!({"id": s.id, "name": s.name, "token": token}))
        })
        .collect::<Result<Vec<_>>>()?;
    Reply::ok(&json!({ "sellers": list }))
}

fn operator_in(app: &App, req: &Request) -> Result<Reply> {
    let email = email_of(req)?;
    let operator = fixture()?
        .operators
        .into_iter()
        .find(|o| o.account == ACCOUNT && o.email == email)
        .ok_or_else(|| {
            Error::validation(
                "email",
                "INVALID_ENUM",
                format!("{email} is not a demo operator of {ACCOUNT}"),
            )
        })?;
    let token = mint_operator_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &OperatorClaims {
            sub: operator.email.clone(),
            account: operator.account.clone(),
            name: Some(operator.name.clone()),
        },
        exp(app),
    )?;
    Ok(
        Reply::ok(&json!({"email": operator.email, "name": operator.name}))?.header(
            "set-cookie",
            format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Lax",
                balcao::api::impersonation::OPERATOR_COOKIE
            ),
        ),
    )
}
