//! The `realtime` Lambda: the WebSocket API's `$connect`, `$disconnect` and `$default` routes,
//! handed to the shared protocol (`balcao::realtime::socket`).

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let app = balcao::config::lambda_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            Ok::<ApiGatewayProxyResponse, Error>(
                balcao::realtime::socket::handle_event(app, event.payload).await,
            )
        },
    ))
    .await
}
