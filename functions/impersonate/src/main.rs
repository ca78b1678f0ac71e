//! The `impersonate` Lambda: the session manager (`/api/sessions`, VTEX shapes) with the
//! impersonate transform and its audit trail, served by the shared handler.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    balcao::config::run_http(balcao::api::sessions::handle).await
}
