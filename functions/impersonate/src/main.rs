//! The `impersonate` Lambda: the session manager (`/api/sessions`, VTEX shapes) with the
//! impersonate transform and its audit trail, served by the shared handler.

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let app = balcao::config::lambda_app().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(balcao::api::sessions::handle(app, req).await)
    }))
    .await
}
