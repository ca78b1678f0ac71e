//! The `webhooks` Lambda: sellers' webhook subscriptions (`/v0/webhooks`), served by the shared
//! handler. Receiver URLs are checked against the strict policy (https, no reserved addresses).

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let app = balcao::config::lambda_app().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(balcao::api::webhooks::handle(app, req).await)
    }))
    .await
}
