//! The HTTP handlers. Each Lambda package hands one of these to `lambda_http::run`; the local
//! stack mounts them all behind one router. Handlers never panic and never return a 5xx for bad
//! input: everything goes through [`crate::http::finish`].

pub mod assets;
pub mod conversations;
pub mod impersonation;
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
    /// Which store a request made on a store's own host belongs to.
    pub sites: Sites,
    /// How many messages one sender may post per minute.
    pub post_limits: PostLimits,
    /// Live updates pushed to open WebSocket connections after each write.
    pub live: crate::realtime::Live,
}

/// Messages one sender (a customer, or a seller with all its integrations and people) may post
/// per minute, across every instance of the function; `0` turns a limit off. A post past the
/// limit is a 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostLimits {
    pub customer_per_minute: u32,
    pub seller_per_minute: u32,
}

impl Default for PostLimits {
    fn default() -> Self {
        PostLimits {
            customer_per_minute: 30,
            seller_per_minute: 300,
        }
    }
}

/// The stores' own hosts: a VTEX store serves `/api/sessions` on its domain, so a request with
/// no credential and no `X-Account` belongs to the store whose host it was sent to — an exact
/// host of the map, or `{account}.{base_domain}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites {
    /// Host (lowercase, no port) → account.
    pub hosts: std::collections::HashMap<String, String>,
    pub base_domain: Option<String>,
}

impl Sites {
    /// The local stack serves the demo store on its own address.
    pub fn local() -> Sites {
        Sites {
            hosts: ["127.0.0.1", "localhost", "[::1]"]
                .into_iter()
                .map(|h| (h.to_owned(), "lojademo".to_owned()))
                .collect(),
            base_domain: Some("localhost".into()),
        }
    }

    /// The account whose host `host` (a `Host` header, port allowed) is.
    pub fn account_for(&self, host: &str) -> Option<String> {
        let host = host.trim().to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => host.as_str(),
        };
        let name = name.trim_end_matches('.');
        if let Some(a) = self.hosts.get(name) {
            return Some(a.clone());
        }
        let base = self.base_domain.as_deref()?;
        let label = name.strip_suffix(base)?.strip_suffix('.')?;
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| label.to_owned())
    }
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

#[cfg(test)]
mod tests {
    use super::Sites;

    #[test]
    fn hosts_name_their_store() {
        let s = Sites {
            hosts: [("www.lojademo.com.br".to_owned(), "lojademo".to_owned())].into(),
            base_domain: Some("balcao.example".into()),
        };
        assert_eq!(
            s.account_for("www.lojademo.com.br").as_deref(),
            Some("lojademo")
        );
        assert_eq!(
            s.account_for("WWW.LojaDemo.com.br:443").as_deref(),
            Some("lojademo")
        );
        assert_eq!(
            s.account_for("outraloja.balcao.example").as_deref(),
            Some("outraloja")
        );
        assert_eq!(
            s.account_for("outraloja.balcao.example.").as_deref(),
            Some("outraloja")
        );
        for none in [
            "balcao.example",
            "a.b.balcao.example",
            "evilbalcao.example",
            "x_y.balcao.example",
            "example.com",
            "",
        ] {
            assert_eq!(s.account_for(none), None, "{none}");
        }
        assert_eq!(
            Sites::local().account_for("127.0.0.1:3000").as_deref(),
            Some("lojademo")
        );
        assert_eq!(
            Sites::local().account_for("[::1]:3000").as_deref(),
            Some("lojademo")
        );
        assert_eq!(Sites::default().account_for("127.0.0.1"), None);
    }
}
