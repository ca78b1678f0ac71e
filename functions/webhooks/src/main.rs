//! The `webhooks` Lambda: sellers' webhook subscriptions (`/v0/webhooks`), served by the shared
//! handler. Receiver URLs are checked against the strict policy (https, no reserved addresses).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    balcao::config::run_http(balcao::api::webhooks::handle).await
}
