//! Live updates through the local stack (embedded store, in-process moderation, `/ws`), with
//! websocket clients on loopback in the same process:
//!
//! 1. push latency: the seller posts a reply (HTTP) and the customer's socket receives it as
//!    `message.created` APPROVED — moderation included; one reply at a time, `--replies` of
//!    them, p50/p99 from the POST being sent to the frame being read;
//! 2. fan-out: `--sockets` seller sockets (the same seller in as many tabs) held open, then
//!    `--messages` seller messages posted back to back; every socket gets two frames per message
//!    (`message.created` waiting, `message.decided` approved): frames/s from the first POST to
//!    the last frame read by the last socket.
//!
//!     cargo run --release -p balcao-bench --bin live [-- --replies 200 --sockets 1000 --messages 20]
//!
//! Clients, server and moderation share the machine's cores: the figures compare runs on one
//! machine; they are not an API Gateway capacity.

use std::time::{Duration, Instant};

use balcao::auth::{
    mint_seller_token, SellerClaims, LOCAL_AUDIENCE, LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER,
};
use base64::Engine;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

const CONV: &str = "01JD3M0C00000000000000V001";
const PAT: &str = "pat-demo-lojademo-0000000000000000000000000001";
const MARIA: &str = "maria@example.com";

async fn post(http: &Http, url: &str, token: &str, body: Value) -> Value {
    let req = hyper::Request::post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = http.request(req).await.expect("request");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    assert!(status.is_success(), "{url}: {status} {bytes:?}");
    serde_json::from_slice(&bytes).expect("JSON")
}

async fn socket(addr: std::net::SocketAddr, protocols: &[String]) -> Ws {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        protocols.join(", ").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .expect("socket")
        .0
}

/// Reads frames until one is `kind` about message `id`; returns when it was read.
async fn frame_about(ws: &mut Ws, kind: &str, id: &str) -> Instant {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let f: Value = serde_json::from_str(t.as_str()).unwrap();
            if f["type"] == kind && f["message"]["id"] == id {
                return Instant::now();
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let replies = balcao_bench::arg("--replies", 200) as usize;
    let sockets = balcao_bench::arg("--sockets", 1000) as usize;
    let messages = balcao_bench::arg("--messages", 20) as usize;
    let clock = balcao_local::system_clock();
    let stack = balcao_local::build(&balcao_local::Backend::Embedded, clock.clone())
        .await
        .unwrap();
    // The bench posts faster than a seller may (300 a minute).
    let app = balcao::api::App {
        post_limits: balcao::api::PostLimits {
            customer_per_minute: 0,
            seller_per_minute: 0,
        },
        ..stack.app.clone()
    };
    let (addr, _server) = balcao_local::spawn("127.0.0.1:0".parse().unwrap(), app)
        .await
        .unwrap();
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let seller = mint_seller_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &SellerClaims {
            sub: "bench".into(),
            account: "lojademo".into(),
            seller_id: "seller-acme".into(),
            scope: "services:conversations-seller:read services:conversations-seller:write".into(),
            name: None,
        },
        clock.now_ms() / 1000 + 3600,
    )
    .unwrap();
    let reply_url = format!("http://{addr}/v0/conversations/{CONV}/messages");
    let owner = json!({"name": "Bench", "external_id": "bench"});

    // 1. Reply → the customer's socket.
    let ident = post(
        &http,
        &format!("http://{addr}/conversations/v3/visitor-identification/tokens/create"),
        PAT,
        json!({"email": MARIA}),
    )
    .await;
    let email = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(MARIA);
    let mut maria = socket(
        addr,
        &[
            "balcao.v1".into(),
            format!("bearer.{}", ident["token"].as_str().unwrap()),
            format!("email.{email}"),
        ],
    )
    .await;
    let mut latencies = Vec::with_capacity(replies);
    for i in 0..=replies {
        let sent = Instant::now();
        let made = post(
            &http,
            &reply_url,
            &seller,
            json!({"content": format!("Resposta {i}: temos sim, em estoque."), "owner": owner}),
        )
        .await;
        let id = made["id"].as_str().unwrap().to_owned();
        let got = frame_about(&mut maria, "message.created", &id).await;
        if i > 0 {
            // The first warms the stack up.
            latencies.push((got - sent).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "seller reply -> customer's socket (moderation included): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} replies",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );
    drop(maria);

    // 2. Fan-out to many sockets.
    let protocols = ["balcao.v1".to_owned(), format!("bearer.{seller}")];
    let opened = Instant::now();
    let mut held = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        held.push(socket(addr, &protocols).await);
    }
    let open_s = opened.elapsed().as_secs_f64();
    let local = stack.app.live.sockets().expect("the local stack's sockets");
    println!(
        "{} sockets open in {:.2} s ({:.0}/s); the stack holds {}",
        sockets,
        open_s,
        sockets as f64 / open_s,
        local.count()
    );
    let expected = messages * 2;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    for mut ws in held {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            while seen < expected {
                match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(Message::Text(_)))) => seen += 1,
                    Ok(Some(Ok(_))) => {}
                    _ => panic!("a socket lost its frames after {seen}"),
                }
            }
            let _ = tx.send(Instant::now());
        });
    }
    drop(tx);
    let started = Instant::now();
    for i in 0..messages {
        post(
            &http,
            &reply_url,
            &seller,
            json!({"content": format!("Aviso {i} para todas as abas."), "owner": owner}),
        )
        .await;
    }
    let posted = started.elapsed().as_secs_f64();
    let mut last = started;
    let mut done = 0;
    while let Some(at) = rx.recv().await {
        last = last.max(at);
        done += 1;
    }
    assert_eq!(done, sockets, "every socket got every frame");
    let secs = (last - started).as_secs_f64();
    let frames = sockets * expected;
    println!(
        "{messages} messages to {sockets} sockets: {frames} frames in {secs:.2} s = {:.0} frames/s (posting took {posted:.2} s)",
        frames as f64 / secs
    );
}
