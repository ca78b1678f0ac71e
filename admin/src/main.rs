//! `balcao-admin`: provisioning of a Balcão deployment (see `usage.txt`).

use std::process::ExitCode;

use balcao::clock::{Clock, SystemClock};
use balcao::store::dynamo::DynamoStore;
use balcao_admin::{run, CliError, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return if args.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let mut table = std::env::var("BALCAO_TABLE").unwrap_or_else(|_| "balcao".into());
    if let Some(i) = args.iter().position(|a| a == "--table") {
        let Some(t) = args.get(i + 1).cloned() else {
            eprintln!("--table needs a value\n\n{USAGE}");
            return ExitCode::from(2);
        };
        table = t;
        args.drain(i..=i + 1);
    }
    let sdk = balcao::config::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let mut out = std::io::stdout().lock();
    match run(&args, &store, SystemClock.now_ms(), &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("{msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(msg)) => {
            eprintln!("balcao-admin: {msg}");
            ExitCode::FAILURE
        }
    }
}
