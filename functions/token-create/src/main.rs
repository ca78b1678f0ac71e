//! The `token-create` Lambda: wires configuration and adapters once per cold start, then serves
//! API Gateway (HTTP API) events with the shared handler.

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let app = balcao::config::lambda_app().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(balcao::api::token_create::handle(app, req).await)
    }))
    .await
}
