//! The `assets` Lambda: the browser side's files (widget loader, widget iframe app, seller inbox),
//! compiled in from `widget/` and served with their cache and security headers by the shared
//! handler. It reads no configuration and touches no AWS service.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    balcao::config::init_logging();
    lambda_http::run(lambda_http::service_fn(|req| async move {
        Ok::<_, std::convert::Infallible>(balcao::api::assets::handle(req).await)
    }))
    .await
}
