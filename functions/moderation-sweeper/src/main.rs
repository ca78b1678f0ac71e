//! The `moderation-sweeper` Lambda (scheduled): queues again every message that has waited for
//! moderation longer than a few minutes, and every webhook event left in the outbox by a failed
//! send, with the shared sweeper.

use balcao::workers::sweeper::Sweeper;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let (store, queue, clock) = balcao::config::lambda_backend().await?;
    let sweeper = Sweeper::new(store, queue, clock);
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let swept =
                balcao::workers::in_invocation(event.context.request_id, sweeper.run_once())
                    .await?;
            Ok::<_, Error>(serde_json::json!({
                "requeued": swept.jobs,
                "events_requeued": swept.events,
            }))
        },
    ))
    .await
}
