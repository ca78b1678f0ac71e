//! The HTTP handlers. Each Lambda package hands one of these to `lambda_http::run`; the local
//! stack mounts them all behind one router. Handlers never panic and never return a 5xx for bad
//! input: everything goes through [`crate::http::finish`].

pub mod conversations;
pub mod paging;
pub mod token_create;

use std::sync::Arc;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::queue::Queue;
use crate::store::Store;

/// Everything a handler needs, built once per cold start.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
}
