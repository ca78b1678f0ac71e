//! The black-box suite, one binary (`cargo test -p balcao-tests --test suite`): each module tests
//! the system from outside, over HTTP against the local stack, through the queue handlers and the
//! `events/` files, or against the store ports, on the embedded store and on DynamoDB/SQS (moto,
//! when `AWS_ENDPOINT_URL` is set). Shared helpers are in `tests/src/lib.rs`.
//!
//! Run one module with a filter: `cargo test -p balcao-tests --test suite sessions::`.

mod api;
mod aws_calls;
mod events;
mod faults;
mod live;
mod moderation_corpus;
mod moderation_prescan;
mod properties;
mod routes;
mod security;
mod sessions;
mod store_contract;
mod template;
mod webhooks;
mod worker;
