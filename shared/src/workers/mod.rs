//! Queue-triggered workers. Each is "handle one record" lifted to "handle a batch" that reports
//! the records that failed (`ReportBatchItemFailures`), so one poison record never sends its
//! neighbours back to the queue.

pub mod moderation;
#[cfg(feature = "delivery")]
pub mod webhooks;

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use crate::http::ErrorChain;

/// Runs `one` on every record of the batch, concurrently, and lists the failed ones.
pub async fn for_each_record<'a, F, Fut>(event: &'a SqsEvent, one: F) -> SqsBatchResponse
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = crate::Result<()>> + 'a,
{
    let jobs = event.records.iter().map(|r| {
        let body = r.body.as_deref().unwrap_or("");
        let id = r.message_id.clone().unwrap_or_default();
        // Every line a record's work logs names the SQS message it came from.
        let span = tracing::info_span!("record", message_id = %id);
        let fut = tracing::Instrument::instrument(one(body), span);
        async move { (id, fut.await) }
    });
    let results = futures_join_all(jobs).await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(message_id = %id, error = %ErrorChain(&e), "record failed; it will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// A tiny join_all: the batch is at most 10 records, so polling them in turn is enough.
async fn futures_join_all<F: Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}
