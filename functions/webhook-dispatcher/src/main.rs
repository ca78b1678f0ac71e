//! The `webhook-dispatcher` Lambda (SQS-triggered by the webhook-events and webhook-deliveries
//! queues, `ReportBatchItemFailures`): fans events out into one delivery per subscription and
//! makes the deliveries, signed per Standard Webhooks, with retries and a dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use balcao::workers::webhooks::{DispatchConfig, Dispatcher};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    balcao::config::init_logging();
    let (store, queue, _clock) = balcao::config::lambda_backend().await?;
    let dispatcher = Arc::new(Dispatcher::new(store, queue, DispatchConfig::default())?);
    let dispatcher = &dispatcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let work = dispatcher.handle_batch(event.payload);
        Ok::<SqsBatchResponse, Error>(
            balcao::workers::in_invocation(event.context.request_id, work).await,
        )
    }))
    .await
}
