//! `balcao-local`: the whole Balcão API on one machine.
//!
//! ```text
//! balcao-local [serve] [--addr 127.0.0.1:3000] [--backend embedded|aws]
//!              [--table balcao] [--moderation-queue balcao-moderation] [--create]
//!              [--trust-proxy]
//! balcao-local mint-seller-token --account lojademo --seller seller-acme
//!              [--scope "services:conversations-seller:read services:conversations-seller:write"]
//!              [--ttl-seconds 3600] [--name "Ana (ACME)"]
//! balcao-local mint-visitor-token --account lojademo --email maria@example.com
//!              [--ttl-seconds 43200]
//! balcao-local mint-operator-token --account lojademo --email ana.televendas@lojademo.com.br
//!              [--ttl-seconds 3600] [--name "Ana (Televendas)"]
//! ```
//! `BALCAO_ADDR` sets the address too. With `--backend aws` the AWS SDK's usual configuration
//! applies (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials).

use std::net::SocketAddr;
use std::process::ExitCode;

use balcao::auth::{
    mint_seller_token, SellerClaims, LOCAL_AUDIENCE, LOCAL_DEV_KID, LOCAL_DEV_SECRET, LOCAL_ISSUER,
    SCOPE_SELLER_READ, SCOPE_SELLER_WRITE,
};
use balcao_local::{build, system_clock, Backend};

struct Args(Vec<String>);

impl Args {
    fn value(&self, flag: &str) -> Option<String> {
        self.0
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.0.get(i + 1).cloned())
    }
    fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|a| a == flag)
    }
}

fn usage() -> ExitCode {
    eprintln!("{}", include_str!("usage.txt"));
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args = Args(raw.clone());
    match raw.first().map(String::as_str) {
        Some("mint-seller-token") => mint(&args),
        Some("mint-visitor-token") => mint_visitor(&args),
        Some("mint-operator-token") => mint_operator(&args),
        Some("serve") | None => serve(&args).await,
        Some(s) if s.starts_with("--") && s != "--help" => serve(&args).await,
        _ => usage(),
    }
}

fn mint(args: &Args) -> ExitCode {
    let (Some(account), Some(seller)) = (args.value("--account"), args.value("--seller")) else {
        return usage();
    };
    let ttl = ttl_seconds(args, 3600);
    let claims = SellerClaims {
        sub: format!("{seller}-integration"),
        account,
        seller_id: seller,
        scope: args
            .value("--scope")
            .unwrap_or_else(|| format!("{SCOPE_SELLER_READ} {SCOPE_SELLER_WRITE}")),
        name: args.value("--name"),
    };
    let exp = system_clock().now_ms() / 1000 + ttl;
    print_token(mint_seller_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &claims,
        exp,
    ))
}

/// An operator (store admin user) token: it proves only the e-mail and account; what the
/// operator may do is read from the store.
fn mint_operator(args: &Args) -> ExitCode {
    let (Some(account), Some(email)) = (args.value("--account"), args.value("--email")) else {
        return usage();
    };
    let ttl = ttl_seconds(args, 3600);
    let claims = balcao::auth::OperatorClaims {
        sub: email,
        account,
        name: args.value("--name"),
    };
    let exp = system_clock().now_ms() / 1000 + ttl;
    print_token(balcao::auth::mint_operator_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        &claims,
        exp,
    ))
}

/// A visitor token for a demo-fixture customer (the widget side), with a chosen lifetime.
fn mint_visitor(args: &Args) -> ExitCode {
    let (Some(account), Some(email)) = (args.value("--account"), args.value("--email")) else {
        return usage();
    };
    let Ok(fixture) = balcao::fixture::Fixture::parse(balcao_local::DEMO_FIXTURE) else {
        return ExitCode::FAILURE;
    };
    let Some(customer) = fixture
        .customers
        .iter()
        .find(|c| c.account == account && c.email.eq_ignore_ascii_case(&email))
    else {
        eprintln!("{email} is not a demo customer of {account}");
        return ExitCode::from(2);
    };
    let ttl = ttl_seconds(args, 12 * 3600);
    let claims = balcao::auth::VisitorClaims {
        sub: customer.id.clone(),
        account,
        email: customer.email.to_lowercase(),
        jti: uuid_like(),
    };
    let exp = system_clock().now_ms() / 1000 + ttl;
    print_token(balcao::auth::mint_visitor_token(
        LOCAL_DEV_SECRET.as_bytes(),
        LOCAL_DEV_KID,
        &claims,
        exp,
    ))
}

/// Prints a minted token, or why it could not be minted.
fn print_token(token: balcao::Result<String>) -> ExitCode {
    match token {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not mint a token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn uuid_like() -> String {
    balcao::ids::random_hex(16)
}

async fn serve(args: &Args) -> ExitCode {
    balcao::config::init_logging();
    let addr = args
        .value("--addr")
        .or_else(|| std::env::var("BALCAO_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("--addr must be host:port, e.g. 127.0.0.1:3000");
        return ExitCode::from(2);
    };
    let backend = match args.value("--backend").as_deref() {
        None | Some("embedded") => Backend::Embedded,
        Some("aws") => Backend::Aws {
            table: args.value("--table").unwrap_or_else(|| "balcao".into()),
            moderation_queue: args
                .value("--moderation-queue")
                .unwrap_or_else(|| "balcao-moderation".into()),
            create: args.has("--create"),
        },
        Some(_) => return usage(),
    };
    let stack = match build(&backend, system_clock()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("could not start: {}", balcao::http::ErrorChain(&e));
            return ExitCode::FAILURE;
        }
    };
    let trust_proxy = args.has("--trust-proxy");
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("could not listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let handle = tokio::spawn(balcao_local::serve_with(
        listener,
        stack.app.clone(),
        trust_proxy,
    ));
    eprintln!(
        "Balcão local stack on http://{bound} ({backend:?}); demo fixture loaded. Ctrl-C stops it."
    );
    tokio::select! {
        _ = handle => ExitCode::FAILURE,
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}

/// `--ttl-seconds`, or `default`.
fn ttl_seconds(args: &Args, default: i64) -> i64 {
    args.value("--ttl-seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
