//! The `moderation-worker` Lambda (SQS-triggered, `ReportBatchItemFailures`): compiles the rules
//! once per cold start, then moderates each batch with the shared worker.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use balcao::workers::moderation::Moderator;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let (store, queue, clock) = balcao::config::lambda_backend().await?;
    let moderator = Moderator::new(store, queue, clock).with_live(balcao::config::live_from_env()?);
    let moderator = &moderator;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let work = moderator.handle_batch(event.payload);
        Ok::<SqsBatchResponse, Error>(
            balcao::workers::in_invocation(event.context.request_id, work).await,
        )
    }))
    .await
}
