//! Cold start and size of every function binary, next to a bare `lambda_runtime` hello-world
//! built the same way in the same run:
//!
//! - init: from process start until its first poll of the Lambda runtime API
//!   (`GET /2018-06-01/runtime/invocation/next`), against a small fake runtime API on loopback,
//!   with the configuration Lambda mode reads (no AWS call is made before the first poll);
//! - size: the release binary, and the zip a deployment uploads (`bootstrap` in a zip).
//!
//! A second reference, `hello_dynamodb`, is the hello-world plus an `aws-sdk-dynamodb` client
//! built at init with an HTTP client that links no network stack: the least any function of this
//! stack can do before its first poll. Each function is reported against both.
//!
//! Run it after a release build:
//!
//! ```text
//! cargo build --release -p impersonate -p token-create -p conversations -p webhooks \
//!   -p moderation-worker -p webhook-dispatcher
//! cargo build --release -p balcao-bench --bin hello_lambda --bin hello_dynamodb --bin coldstart
//! cargo run --release -p balcao-bench --bin coldstart [-- --runs 20] [--only token-create]
//! ```
//!
//! Build the functions by package, as `cargo lambda build -p …` does, and apart from the
//! benches: one build of the whole workspace would unify the features of `local/`, `admin/` and
//! the benches (SSO, credential_process, a second TLS stack) into them.
//!
//! It also reports, each in a fresh process, what building the SDK's default endpoint resolver
//! costs (it parses the partition table and compiles its regular expressions; building a
//! DynamoDB client does it too, whatever resolver the client is given), and the first endpoint
//! resolution after that, which the first invocation pays.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FUNCTIONS: &[&str] = &[
    "hello_lambda",
    "hello_dynamodb",
    "token-create",
    "conversations",
    "impersonate",
    "webhooks",
    "moderation-worker",
    "webhook-dispatcher",
];

fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release")
}

/// Starts `bin` against a fresh fake runtime API and returns the time to its first poll.
fn init_time(bin: &Path) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let keys = r#"{"local-dev":"balcao-local-development-secret-not-for-production"}"#;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("BALCAO_TABLE", "balcao")
        .env("BALCAO_ALLOW_DEVELOPMENT_KEYS", "1")
        .env(
            "BALCAO_MODERATION_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/m",
        )
        .env(
            "BALCAO_WEBHOOK_EVENTS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/e",
        )
        .env(
            "BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/d",
        )
        .env(
            "BALCAO_WEBHOOK_DLQ_URL",
            "https://sqs.us-east-1.amazonaws.com/1/x",
        )
        .env("BALCAO_JWT_ALG", "HS256")
        .env("BALCAO_JWT_KEYS", keys)
        .env("BALCAO_JWT_ISSUER", "https://balcao.local")
        .env("BALCAO_JWT_AUDIENCE", "balcao")
        .env("BALCAO_VISITOR_KEYS", keys)
        .env("BALCAO_VISITOR_KID", "local-dev")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it first, see the top of bench/src/bin/coldstart.rs)",
                bin.display()
            )
        });
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let n = conn.read(&mut buf).unwrap_or(0);
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(
        head.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{}: first request was {head:?}",
        bin.display()
    );
    elapsed
}

fn zip_size(bin: &Path) -> Option<u64> {
    let dir = std::env::temp_dir().join(format!("balcao-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::copy(bin, dir.join("bootstrap")).ok()?;
    let zip = dir.join("function.zip");
    let _ = std::fs::remove_file(&zip);
    let ok = Command::new("zip")
        .current_dir(&dir)
        .args(["-q", "-9", "function.zip", "bootstrap"])
        .status()
        .ok()?
        .success();
    let size = ok
        .then(|| std::fs::metadata(&zip).ok().map(|m| m.len()))
        .flatten();
    let _ = std::fs::remove_dir_all(&dir);
    size
}

/// In a child process (the SDK caches its partition table per process), printed in µs: the time
/// to build the SDK's DynamoDB endpoint resolver (`partitions`: it parses the partition table,
/// as building a client does), or (`default`) the first endpoint resolution once it is built,
/// which the first invocation pays.
fn first_resolution(which: &str) {
    use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let params = Params::builder()
        .region("sa-east-1")
        .build()
        .expect("params");
    if which == "partitions" {
        let t = Instant::now();
        std::hint::black_box(DefaultResolver::new());
        println!("{}", t.elapsed().as_secs_f64() * 1e6);
        return;
    }
    // As in a function, the client built at init has parsed the partition table; the first
    // invocation resolves.
    let default = DefaultResolver::new();
    let t = Instant::now();
    let endpoint = rt.block_on(ResolveEndpoint::resolve_endpoint(&default, &params));
    let took = t.elapsed();
    let url = endpoint.expect("an endpoint").url().to_owned();
    assert_eq!(url, "https://dynamodb.sa-east-1.amazonaws.com");
    println!("{}", took.as_secs_f64() * 1e6);
}

fn resolution_median(which: &str, runs: usize) -> f64 {
    let me = std::env::current_exe().expect("own path");
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let out = Command::new(&me)
                .args(["--first-resolution", which])
                .env_clear()
                .env("AWS_REGION", "sa-east-1")
                .output()
                .expect("child");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("child said {out:?}"))
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--first-resolution") {
        return first_resolution(args.get(i + 1).map_or("default", String::as_str));
    }
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    // `--only token-create,webhooks` measures those (and the hello-world) alone.
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_owned).collect());
    let names: Vec<&str> = FUNCTIONS
        .iter()
        .copied()
        .filter(|name| {
            name.starts_with("hello_") || only.as_ref().is_none_or(|o| o.iter().any(|x| x == name))
        })
        .collect();
    let bins: Vec<PathBuf> = names.iter().map(|n| release_dir().join(n)).collect();
    // One warm-up start each (page cache), then the runs interleaved, binary after binary, so a
    // slow moment of the machine falls on all of them alike.
    let mut times: Vec<Vec<f64>> = bins
        .iter()
        .map(|b| {
            init_time(b);
            Vec::new()
        })
        .collect();
    for _ in 0..runs {
        for (bin, t) in bins.iter().zip(times.iter_mut()) {
            t.push(init_time(bin).as_secs_f64() * 1e3);
        }
    }
    let mut rows = Vec::new();
    for ((name, bin), mut t) in names.iter().zip(&bins).zip(times) {
        t.sort_by(f64::total_cmp);
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
        rows.push((
            name,
            t[t.len() / 2],
            t[(t.len() * 9) / 10],
            size,
            zip_size(bin),
        ));
    }
    let base = rows[0].1;
    // The floor: hello-world plus a DynamoDB client, which every function builds at init.
    let floor = rows
        .iter()
        .find(|r| *r.0 == "hello_dynamodb")
        .map_or(base, |r| r.1);
    println!(
        "cold start to first runtime-API poll (median of {runs}, release build, this machine)"
    );
    println!(
        "| binary | init p50 | init p90 | vs hello-world | vs hello + DynamoDB client | binary | zip |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, p50, p90, size, zip) in rows {
        println!(
            "| {name} | {p50:.2} ms | {p90:.2} ms | {:.2}× | {:.2}× | {:.1} MB | {} |",
            p50 / base,
            p50 / floor,
            size as f64 / 1e6,
            zip.map(|z| format!("{:.1} MB", z as f64 / 1e6))
                .unwrap_or_else(|| "-".into())
        );
    }
    println!(
        "SDK partition table, parsed when a DynamoDB client is built (median of {runs} \
         processes): {:.0} µs",
        resolution_median("partitions", runs)
    );
    println!(
        "first DynamoDB endpoint resolution after that (median of {runs} processes): {:.0} µs",
        resolution_median("default", runs),
    );
}
