//! Webhook delivery through the local stack (embedded store, in-process queues, the same
//! dispatcher the Lambda runs) to receivers on loopback:
//!
//! 1. deliveries/s: events queued as the moderation worker queues them, one subscription, until
//!    the receiver has them all;
//! 2. the latency a healthy receiver sees (event queued → request received), alone and while
//!    another subscription of the same seller never answers (each of its attempts times out).
//!
//!     cargo run --release -p balcao-bench --bin deliveries [-- --events 5000]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use balcao::clock::SystemClock;
use balcao::domain::model::{Subscription, SubscriptionStatus};
use balcao::queue::{QueueName, WebhookEvent, WebhookEventData, WebhookEventDetail};
use balcao::webhooks::{new_secret, UrlPolicy};
use balcao::workers::webhooks::DispatchConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Receiver: records when each event id arrived; `/hang` never answers in time.
async fn receiver(arrivals: Arc<Mutex<HashMap<String, Instant>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let arrivals = arrivals.clone();
                        async move {
                            let at = Instant::now();
                            let hang = req.uri().path() == "/hang";
                            let id = req
                                .headers()
                                .get("webhook-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let _ = req.into_body().collect().await;
                            if hang {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                            } else {
                                arrivals.lock().unwrap().insert(id, at);
                            }
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn event(n: usize) -> WebhookEvent {
    WebhookEvent {
        id: format!("evt_bench_{n:08}"),
        account: "lojademo".into(),
        seller_id: "seller-acme".into(),
        created_at: "2026-11-22T10:00:00.000Z".into(),
        data: WebhookEventData {
            domain: "message".into(),
            status: "NEW".into(),
        },
        detail: WebhookEventDetail {
            conversation_id: "01JD3M0C00000000000000V001".into(),
            message_id: Some(format!("01JD3M0C0000000000000{n:05}")),
        },
    }
}

async fn subscribe(stack: &balcao_local::Stack, url: String, n: u64) {
    let sub = Subscription {
        id: balcao::ids::new_id(1_795_000_000_000 + n as i64),
        account: "lojademo".into(),
        seller_id: "seller-acme".into(),
        url,
        domains: vec!["message".into()],
        secret: new_secret(),
        status: SubscriptionStatus::Active,
        created_at: 1_795_000_000_000 + n as i64,
        disabled_reason: None,
    };
    stack.app.store.put_subscription(&sub).await.unwrap();
}

async fn queue_events(stack: &balcao_local::Stack, range: std::ops::Range<usize>) -> Vec<Instant> {
    let mut sent = Vec::new();
    for n in range {
        let body = serde_json::to_string(&event(n)).unwrap();
        sent.push(Instant::now());
        stack
            .app
            .queue
            .send(QueueName::WebhookEvents, body)
            .await
            .unwrap();
    }
    sent
}

async fn wait_all(arrivals: &Mutex<HashMap<String, Instant>>, ids: &[String]) {
    loop {
        if ids
            .iter()
            .all(|id| arrivals.lock().unwrap().contains_key(id))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Healthy-receiver latency (ms) for `count` events queued 10 ms apart.
async fn latencies(
    stack: &balcao_local::Stack,
    arrivals: &Arc<Mutex<HashMap<String, Instant>>>,
    from: usize,
    count: usize,
) -> Vec<f64> {
    let mut queued = Vec::new();
    for n in from..from + count {
        queued.extend(queue_events(stack, n..n + 1).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ids: Vec<String> = (from..from + count).map(|n| event(n).id).collect();
    wait_all(arrivals, &ids).await;
    let got = arrivals.lock().unwrap();
    let mut ms: Vec<f64> = ids
        .iter()
        .zip(&queued)
        .map(|(id, q)| (got[id] - *q).as_secs_f64() * 1e3)
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let events: usize = args
        .iter()
        .position(|a| a == "--events")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dispatch = DispatchConfig {
        policy: UrlPolicy::LOCAL,
        timeout: Duration::from_secs(2),
        schedule: vec![Duration::from_secs(5); 3],
    };
    let stack = balcao_local::build_with(
        &balcao_local::Backend::Embedded,
        Arc::new(SystemClock),
        dispatch,
    )
    .await
    .unwrap();
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let addr = receiver(arrivals.clone()).await;

    // 1. Throughput, one subscription.
    subscribe(&stack, format!("http://{addr}/ok"), 1).await;
    let ids: Vec<String> = (0..events).map(|n| event(n).id).collect();
    let t = Instant::now();
    queue_events(&stack, 0..events).await;
    wait_all(&arrivals, &ids).await;
    let secs = t.elapsed().as_secs_f64();
    println!("webhook deliveries through the local stack (embedded store, in-process queues)");
    println!(
        "  {events} events, 1 subscription: {:.0} deliveries/s ({:.2} s)",
        events as f64 / secs,
        secs
    );

    // 2. Latency of the healthy receiver, alone, then next to one that never answers.
    let alone = latencies(&stack, &arrivals, events, 200).await;
    subscribe(&stack, format!("http://{addr}/hang"), 2).await;
    let beside = latencies(&stack, &arrivals, events + 200, 200).await;
    for (label, ms) in [
        ("alone", &alone),
        (
            "next to a receiver that times out (2 s per attempt)",
            &beside,
        ),
    ] {
        println!(
            "  healthy receiver latency, {label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(ms, 0.5),
            percentile(ms, 0.99),
            ms[ms.len() - 1]
        );
    }
    std::process::exit(0);
}
