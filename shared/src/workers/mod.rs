//! Queue-triggered workers. Each is "handle one record" lifted to "handle a batch" that reports
//! the records that failed (`ReportBatchItemFailures`), so one poison record never sends its
//! neighbours back to the queue.

pub mod moderation;
pub mod sweeper;
#[cfg(feature = "delivery")]
pub mod webhooks;

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use crate::http::ErrorChain;

tokio::task_local! {
    static AWS_REQUEST_ID: String;
}

/// Runs `work` as one Lambda invocation's: every line its records log carries the invocation's
/// request id (`span.aws_request_id`) next to the SQS message id.
pub async fn in_invocation<F: Future>(aws_request_id: String, work: F) -> F::Output {
    AWS_REQUEST_ID.scope(aws_request_id, work).await
}

/// Runs `one` on every record of the batch, concurrently, and lists the failed ones.
pub async fn for_each_record<'a, F, Fut>(event: &'a SqsEvent, one: F) -> SqsBatchResponse
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = crate::Result<()>> + 'a,
{
    let request_id = AWS_REQUEST_ID.try_with(String::clone).ok();
    let jobs = event.records.iter().map(|r| {
        let body = r.body.as_deref().unwrap_or("");
        let id = r.message_id.clone().unwrap_or_default();
        // Every line a record's work logs names the SQS message it came from.
        let span = tracing::info_span!(
            "record",
            message_id = %id,
            aws_request_id = tracing::field::Empty
        );
        if let Some(r) = &request_id {
            span.record("aws_request_id", r.as_str());
        }
        let fut = tracing::Instrument::instrument(one(body), span);
        async move { (id, fut.await) }
    });
    let results = futures_join_all(jobs).await;
    let mut response = SqsBatchResponse::default();
    let request_id = request_id.unwrap_or_default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(message_id = %id, aws_request_id = %request_id, error = %ErrorChain(&e), "record failed; it will be retried");
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

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::sqs::SqsMessage;

    use super::*;
    use crate::test_logs::capture;

    #[test]
    fn every_line_of_a_record_names_the_invocation_and_the_message() {
        let mut event = SqsEvent::default();
        for (id, body) in [("m-1", "fine"), ("m-2", "poison")] {
            let mut m = SqsMessage::default();
            m.message_id = Some(id.into());
            m.body = Some(body.into());
            event.records.push(m);
        }
        let (res, lines) = capture(|| async {
            in_invocation("req-42".into(), async {
                for_each_record(&event, |body| async move {
                    tracing::info!(body, "handling");
                    if body == "poison" {
                        return Err(crate::Error::unexpected_msg("poison"));
                    }
                    Ok(())
                })
                .await
            })
            .await
        });
        assert_eq!(res.batch_item_failures.len(), 1);
        assert_eq!(res.batch_item_failures[0].item_identifier, "m-2");
        // Two "handling" lines in their record spans, and the failure.
        assert_eq!(lines.len(), 3, "{lines:?}");
        for v in &lines[..2] {
            assert_eq!(v["span"]["aws_request_id"], "req-42", "{v}");
        }
        let ids: Vec<&str> = lines[..2]
            .iter()
            .map(|v| v["span"]["message_id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(ids, ["m-1", "m-2"]);
        assert_eq!(lines[2]["fields"]["aws_request_id"], "req-42");
        assert_eq!(lines[2]["fields"]["message_id"], "m-2");
    }
}
