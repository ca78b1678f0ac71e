//! The `token-create` Lambda: wires configuration and adapters once per cold start, then serves
//! API Gateway (HTTP API) events with the shared handler.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    balcao::config::run_http(balcao::api::token_create::handle).await
}
