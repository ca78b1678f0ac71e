//! Balcão's common crate: the domain (seed `002_…` entities and the rules on them), the ports
//! and their adapters (DynamoDB/SQS and embedded), credentials, HTTP edge helpers and the
//! handlers every Lambda package and the local stack share.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod fixture;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod moderation;
pub mod queue;
pub mod realtime;
pub mod store;
pub mod webhooks;
pub mod workers;

#[cfg(test)]
mod test_logs;

pub use error::{Error, Result};
