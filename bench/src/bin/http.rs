//! Requests/s of the local stack (embedded store) for GET conversation and the list, next to a
//! bare hyper hello-world measured in the same run, same client, same machine.
//!
//!     cargo run --release -p balcao-bench --bin http [-- --seconds 3 --connections 32]
//!
//! Client and servers share the machine's cores, so the numbers are for comparison within one
//! run, not capacity planning.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use balcao::auth::{
    mint_seller_token, SellerClaims, LOCAL_AUDIENCE, LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER,
};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

async fn hello_world() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"hello world",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Runs `connections` keep-alive loops for `secs`; returns requests/s (all must be 200).
async fn load(url: String, token: Option<String>, connections: usize, secs: u64) -> f64 {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, token, done, stop) = (
            client.clone(),
            url.clone(),
            token.clone(),
            done.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut req = hyper::Request::get(&url);
                if let Some(t) = &token {
                    req = req.header("authorization", format!("Bearer {t}"));
                }
                let res = client
                    .request(req.body(Empty::new()).unwrap())
                    .await
                    .expect("request");
                assert_eq!(res.status(), 200, "{url}");
                res.into_body().collect().await.expect("body");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let secs = balcao_bench::arg("--seconds", 3);
    let connections = balcao_bench::arg("--connections", 32) as usize;
    let clock = balcao_local::system_clock();
    let stack = balcao_local::build(&balcao_local::Backend::Embedded, clock.clone())
        .await
        .unwrap();
    let (addr, _server) = balcao_local::spawn("127.0.0.1:0".parse().unwrap(), stack.app.clone())
        .await
        .unwrap();
    let hello = hello_world().await;
    let claims = SellerClaims {
        sub: "bench".into(),
        account: "lojademo".into(),
        seller_id: "seller-acme".into(),
        scope: "services:conversations-seller:read".into(),
        name: None,
    };
    let token = mint_seller_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &claims,
        clock.now_ms() / 1000 + 3600,
    )
    .unwrap();
    let conv = "01JD3M0C00000000000000V001";
    println!("local stack vs bare hyper, {connections} keep-alive connections, {secs} s each, client in the same process");
    let runs = [
        ("bare hyper hello-world", format!("http://{hello}/"), None),
        (
            "GET /v0/conversations/{id}",
            format!("http://{addr}/v0/conversations/{conv}"),
            Some(token.clone()),
        ),
        (
            "GET /v0/conversations?_limit=10",
            format!("http://{addr}/v0/conversations?_limit=10"),
            Some(token.clone()),
        ),
        (
            "GET /v0/conversations/{id}/messages",
            format!("http://{addr}/v0/conversations/{conv}/messages"),
            Some(token.clone()),
        ),
    ];
    let mut base = 0.0;
    for (name, url, tok) in runs {
        let rps = load(url, tok, connections, secs).await;
        if base == 0.0 {
            base = rps;
        }
        println!(
            "  {name:<40} {rps:>9.0} req/s  ({:.0}% of hello-world)",
            rps / base * 100.0
        );
    }
}
