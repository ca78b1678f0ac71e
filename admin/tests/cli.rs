//! The provisioning CLI as a user runs it: the real binary against a fresh table on the moto
//! server the test command started (`AWS_ENDPOINT_URL`). What it writes is then used by the
//! product itself: an app token it printed opens the visitor-token API, the operator it granted
//! is read back, the account's moderation list changes what the engine blocks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a panic is a failure"
)]

use std::process::Command;
use std::sync::Arc;

use balcao::api::App;
use balcao::auth::Auth;
use balcao::clock::SystemClock;
use balcao::moderation::{AccountRules, Engine, Kind};
use balcao::queue::MemoryQueue;
use balcao::store::dynamo::DynamoStore;
use balcao::webhooks::UrlPolicy;
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON lines it printed.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }
    fn one(&self) -> Value {
        let mut l = self.lines();
        assert_eq!(l.len(), 1, "{}", self.stdout);
        l.remove(0)
    }
}

/// Runs the binary with `args`: a command line split at spaces, or a slice of arguments.
fn admin(table: &str, args: impl Args) -> Run {
    let args = args.list();
    let out = Command::new(env!("CARGO_BIN_EXE_balcao-admin"))
        .arg("--table")
        .arg(table)
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

trait Args {
    fn list(&self) -> Vec<String>;
}

impl Args for &str {
    fn list(&self) -> Vec<String> {
        self.split_whitespace().map(str::to_owned).collect()
    }
}

impl<const N: usize> Args for &[&str; N] {
    fn list(&self) -> Vec<String> {
        self.iter().map(|a| a.to_string()).collect()
    }
}

impl Args for &[&str] {
    fn list(&self) -> Vec<String> {
        self.iter().map(|a| a.to_string()).collect()
    }
}

/// Runs and expects success.
fn ok(table: &str, args: impl Args) -> Run {
    let list = args.list();
    let r = admin(
        table,
        &list.iter().map(String::as_str).collect::<Vec<_>>()[..],
    );
    assert_eq!(r.code, 0, "{list:?}: {}", r.stderr);
    r
}

fn moto() -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_ok() {
        return true;
    }
    if std::env::var("BALCAO_SKIP_DYNAMODB").as_deref() == Ok("1") {
        eprintln!("skipping: BALCAO_SKIP_DYNAMODB=1");
        return false;
    }
    panic!("AWS_ENDPOINT_URL is not set: run the tests with scripts/test (it starts moto)");
}

async fn app_on(table: &str) -> App {
    let sdk = balcao::config::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    App {
        store: Arc::new(store),
        queue: Arc::new(MemoryQueue::new()),
        auth: Auth::local(Arc::new(SystemClock)),
        clock: Arc::new(SystemClock),
        url_policy: UrlPolicy::LOCAL,
        sites: balcao::api::Sites::default(),
        post_limits: balcao::api::PostLimits::default(),
        live: balcao::realtime::Live::off(),
    }
}

/// POST to the visitor-token API with an app token; the status code.
async fn visitor_token_status(app: &App, token: &str) -> u16 {
    let req = http::Request::builder()
        .method("POST")
        .uri("/conversations/v3/visitor-identification/tokens/create")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(
            r#"{"email":"cliente@acme.example","firstName":"Cli"}"#,
        ))
        .unwrap();
    balcao::api::token_create::handle(app, req)
        .await
        .status()
        .as_u16()
}

fn table_name() -> String {
    format!("balcao-admin-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn provisions_a_fresh_table_end_to_end() {
    if !moto() {
        return;
    }
    let t = table_name();
    assert_eq!(
        ok(&t, "create-table").one(),
        serde_json::json!({"table": t, "created": true})
    );
    assert_eq!(ok(&t, "create-table").one()["created"], false);

    // The demo fixture, once.
    let loaded = ok(&t, "load-fixture").one();
    assert_eq!(loaded["accounts"], 3);
    let again = admin(&t, "load-fixture");
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("fresh table"), "{}", again.stderr);

    // Accounts and their tier.
    let created = ok(
        &t,
        &[
            "account",
            "create",
            "--id",
            "acme-br",
            "--name",
            "ACME Brasil",
            "--tier",
            "professional",
        ],
    )
    .one();
    assert_eq!(created["tier"], "PROFESSIONAL");
    assert_eq!(
        admin(&t, "account create --id acme-br --name Again").code,
        1,
        "an account is never overwritten"
    );
    assert_eq!(
        admin(&t, &["account", "create", "--id", "ACME BR", "--name", "X"]).code,
        2
    );
    assert_eq!(
        admin(&t, "account create --id x --name X --tier gold").code,
        2
    );
    let ids: Vec<String> = ok(&t, "account list")
        .lines()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["acme-br", "lojademo", "lojastarter", "outraloja"]);

    // Sellers.
    ok(&t, "seller add --account acme-br --id s-2 --name Dois");
    ok(&t, "seller add --account acme-br --id s-1 --name Um");
    assert_eq!(
        admin(&t, "seller add --account acme-br --id s-1 --name Um").code,
        1
    );
    assert_eq!(
        admin(&t, "seller add --account nope --id s-1 --name Um").code,
        1
    );
    let sellers: Vec<String> = ok(&t, "seller list --account acme-br")
        .lines()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sellers, ["s-1", "s-2"]);

    // Operators and the Televendas permission.
    let op = ok(
        &t,
        "operator add --account acme-br --email Ana@ACME.example --name Ana --televendas",
    )
    .one();
    assert_eq!(op["email"], "ana@acme.example");
    assert_eq!(op["televendas"], true);
    ok(
        &t,
        "operator add --account acme-br --email bia@acme.example --name Bia --admin",
    );
    let app = app_on(&t).await;
    let stored = app
        .store
        .get_operator("acme-br", "ana@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.televendas && !stored.admin);
    ok(
        &t,
        "operator set --account acme-br --email ana@acme.example --televendas no",
    );
    let stored = app
        .store
        .get_operator("acme-br", "ana@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.televendas,
        "the permission is revoked in the store the API reads"
    );
    let listed = ok(&t, "operator list --account acme-br").lines();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["televendas"], false);
    assert_eq!(listed[1]["admin"], true);
    // An unknown operator is refused; an address the API would not accept is a usage error.
    assert_eq!(
        admin(
            &t,
            "operator set --account acme-br --email ze@acme.example --admin yes"
        )
        .code,
        1
    );
    assert_eq!(
        admin(
            &t,
            "operator set --account acme-br --email zé@acme.example --admin yes"
        )
        .code,
        2
    );

    // App tokens: printed once, stored hashed, usable at once, revocable.
    let printed = ok(
        &t,
        &[
            "app-token",
            "create",
            "--account",
            "acme-br",
            "--name",
            "Loja backend",
        ],
    )
    .one();
    let token = printed["token"].as_str().unwrap().to_owned();
    let hash = printed["hash"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pat-"));
    assert_eq!(hash, balcao::auth::hash_app_token(&token));
    let listing = ok(&t, "app-token list --account acme-br");
    assert!(
        !listing.stdout.contains(&token),
        "a listing never shows a token"
    );
    assert_eq!(listing.one()["hash"], hash.as_str());
    assert_eq!(visitor_token_status(&app, &token).await, 200);
    assert_eq!(
        admin(
            &t,
            &[
                "app-token",
                "revoke",
                "--account",
                "lojademo",
                "--hash",
                &hash
            ]
        )
        .code,
        1,
        "another account cannot revoke it"
    );
    assert_eq!(visitor_token_status(&app, &token).await, 200);
    ok(
        &t,
        &[
            "app-token",
            "revoke",
            "--account",
            "acme-br",
            "--hash",
            &hash,
        ],
    );
    assert_eq!(visitor_token_status(&app, &token).await, 401);
    assert_eq!(
        admin(
            &t,
            "app-token create --account acme-br --name x --scope admin"
        )
        .code,
        2
    );

    // The tier decides what a token opens: a starter account gets 403 until it is upgraded.
    ok(&t, "account create --id small --name Small");
    let small = ok(&t, "app-token create --account small --name b").one();
    let small_token = small["token"].as_str().unwrap();
    assert_eq!(visitor_token_status(&app, small_token).await, 403);
    ok(&t, "account set-tier --id small --tier enterprise");
    assert_eq!(visitor_token_status(&app, small_token).await, 200);

    // Moderation lists: what the worker builds its account rules from.
    ok(
        &t,
        "moderation block-word --account acme-br --word Concorrente",
    );
    ok(
        &t,
        "moderation block-word --account acme-br --word concorrente",
    );
    ok(
        &t,
        "moderation allow-domain --account acme-br --domain ACME.com.br",
    );
    let shown = ok(&t, "moderation show --account acme-br").one();
    assert_eq!(
        shown["moderation"]["blocked_words"],
        serde_json::json!(["concorrente"])
    );
    assert_eq!(
        shown["moderation"]["allowed_domains"],
        serde_json::json!(["acme.com.br"])
    );
    assert_eq!(
        admin(
            &t,
            "moderation allow-domain --account acme-br --domain https://x.com"
        )
        .code,
        2
    );
    let account = app.store.get_account("acme-br").await.unwrap().unwrap();
    let rules = AccountRules::new(
        &account.moderation.blocked_words,
        &account.moderation.allowed_domains,
    );
    let engine = Engine::new();
    let msg = "compre no concorrente, veja acme.com.br/oferta";
    let found = engine.check(msg, Some(&rules));
    assert!(found.has(Kind::Offensive), "{found:?}");
    assert!(!found.has(Kind::Link), "{found:?}");
    assert!(engine.check(msg, None).has(Kind::Link));
    ok(
        &t,
        "moderation unblock-word --account acme-br --word concorrente",
    );
    let account = app.store.get_account("acme-br").await.unwrap().unwrap();
    assert!(account.moderation.blocked_words.is_empty());
}

#[tokio::test]
async fn usage_errors_write_nothing() {
    if !moto() {
        return;
    }
    let t = table_name();
    ok(&t, "create-table");
    for args in [
        &["account", "create", "--id", "a"][..],
        &[
            "account", "create", "--id", "a", "--name", "A", "--bogus", "x",
        ],
        &["account", "frobnicate"],
        &["nothing"],
        &["seller", "add", "--account"],
    ] {
        let r = admin(&t, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("balcao-admin [--table NAME]"),
            "usage shown"
        );
    }
    assert_eq!(ok(&t, "account list").stdout, "");
    assert_eq!(admin(&t, "seller list --account a").code, 1);
    // An AWS failure names its cause, once.
    let r = admin(&format!("{t}-missing"), "account list");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("ResourceNotFoundException"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("unexpected").count(), 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}
