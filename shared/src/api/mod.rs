//! The HTTP handlers. Each Lambda package hands one of these to `lambda_http::run`; the local
//! stack mounts them all behind one router. Handlers never panic and never return a 5xx for bad
//! input: everything goes through [`crate::http::finish`].

pub mod conversations;
pub mod paging;
pub mod sessions;
pub mod token_create;
pub mod webhooks;

use std::sync::Arc;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::queue::Queue;
use crate::store::Store;
use crate::webhooks::UrlPolicy;

/// Everything a handler needs, built once per cold start.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
    /// Which webhook receiver URLs are accepted (strict in Lambda mode).
    pub url_policy: UrlPolicy,
}

/// The seller behind a request's bearer token, holding `scope`.
pub(crate) fn seller(
    app: &App,
    req: &lambda_http::Request,
    scope: &str,
) -> crate::Result<crate::auth::SellerPrincipal> {
    let token = crate::http::bearer(req)
        .ok_or_else(|| crate::Error::Unauthorized("a bearer token is required".into()))?;
    let p = app.auth.verify_seller(token)?;
    p.require(scope)?;
    Ok(p)
}
