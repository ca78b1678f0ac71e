//! `balcao-admin`: provisioning of a Balcão deployment against its DynamoDB table (any endpoint
//! the AWS SDK accepts). See `usage.txt` for the commands.
//!
//! Every command validates its input before it writes, refuses to overwrite what exists (an
//! account, a seller, an operator) and writes one record per change, so a refused command
//! leaves the table as it was.

use std::io::Write;

use aws_sdk_dynamodb::types::TableStatus;
use balcao::auth::{hash_app_token, new_app_token, SCOPE_VISITOR_TOKENS};
use balcao::clock::Millis;
use balcao::domain::model::{Account, AppToken, ModerationSettings, Operator, Seller, Tier};
use balcao::fixture::Fixture;
use balcao::store::dynamo::DynamoStore;
use balcao::store::Store;
use serde::Serialize;
use serde_json::json;

pub const USAGE: &str = include_str!("usage.txt");

/// The demo fixture the local stack serves (`local/fixtures/demo.json`).
pub const DEMO_FIXTURE: &str = include_str!("../../local/fixtures/demo.json");

/// Scopes an app token may carry.
pub const APP_TOKEN_SCOPES: &[&str] = &[SCOPE_VISITOR_TOKENS];

#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong (exit 2).
    Usage(String),
    /// The command was understood and refused, or the store failed (exit 1).
    Failed(String),
}

impl From<balcao::error::Error> for CliError {
    fn from(e: balcao::error::Error) -> Self {
        CliError::Failed(balcao::http::ErrorChain(&e).to_string())
    }
}

type Result<T> = std::result::Result<T, CliError>;

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

fn refuse(msg: impl Into<String>) -> CliError {
    CliError::Failed(msg.into())
}

/// The options after a command: `--flag value` pairs and bare `--switch`es, each declared.
struct Opts {
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], values: &[&str], switches: &[&str]) -> Result<Opts> {
        let mut out = Opts {
            values: Vec::new(),
            switches: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if values.contains(&a.as_str()) {
                let v = it
                    .next()
                    .ok_or_else(|| usage(format!("{a} needs a value")))?;
                out.values.push((a.clone(), v.clone()));
            } else if switches.contains(&a.as_str()) {
                out.switches.push(a.clone());
            } else {
                return Err(usage(format!("unexpected argument {a:?}")));
            }
        }
        Ok(out)
    }

    fn get(&self, flag: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, flag: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn need(&self, flag: &str) -> Result<&str> {
        match self.get(flag).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(usage(format!("{flag} is required"))),
        }
    }

    fn has(&self, flag: &str) -> bool {
        self.switches.iter().any(|s| s == flag)
    }
}

/// Account and seller ids: 1–64 of `a-z 0-9 - _ .`, as they appear in tokens and URLs.
fn id(flag: &str, v: &str) -> Result<String> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(usage(format!(
            "{flag} {v:?}: use 1 to 64 of a-z, 0-9, '-', '_', '.'"
        )))
    }
}

/// The API's own e-mail parser: the CLI accepts exactly the addresses the API does.
fn email(v: &str) -> Result<String> {
    balcao::domain::input::Email::parse(v)
        .map(|e| e.as_str().to_owned())
        .map_err(|why| {
            usage(format!(
                "--email {:?} is not an e-mail address: {why}",
                v.trim()
            ))
        })
}

fn name(flag: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(usage(format!("{flag}: 1 to 200 printable characters")));
    }
    Ok(v.to_owned())
}

fn tier(v: &str) -> Result<Tier> {
    match v.to_ascii_lowercase().as_str() {
        "starter" => Ok(Tier::Starter),
        "professional" => Ok(Tier::Professional),
        "enterprise" => Ok(Tier::Enterprise),
        _ => Err(usage(format!(
            "--tier {v:?}: starter, professional or enterprise"
        ))),
    }
}

fn yes_no(flag: &str, v: &str) -> Result<bool> {
    match v {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(usage(format!("{flag} {v:?}: yes or no"))),
    }
}

/// A link domain as the moderation allowlist holds it: lowercase host name, no scheme or path.
fn domain(v: &str) -> Result<String> {
    let d = v.trim().trim_end_matches('.').to_lowercase();
    let labels_ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    if d.contains('.') && d.len() <= 253 && labels_ok {
        Ok(d)
    } else {
        Err(usage(format!(
            "--domain {v:?}: a host name such as loja.com.br (no scheme, port or path)"
        )))
    }
}

fn word(v: &str) -> Result<String> {
    let w = v.trim().to_lowercase();
    if w.is_empty() || w.chars().count() > 64 || w.chars().any(|c| c.is_control()) {
        return Err(usage(format!("--word {v:?}: 1 to 64 characters")));
    }
    Ok(w)
}

fn line(out: &mut dyn Write, v: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(v).map_err(|e| refuse(e.to_string()))?;
    writeln!(out, "{text}").map_err(|e| refuse(e.to_string()))
}

fn lines<T: Serialize>(out: &mut dyn Write, items: &[T]) -> Result<()> {
    items.iter().try_for_each(|item| line(out, item))
}

/// The account named by the only option, `--account`.
async fn account_only(args: &[String], store: &dyn Store) -> Result<Account> {
    let o = Opts::parse(args, &["--account"], &[])?;
    account_of(store, o.need("--account")?).await
}

async fn account_of(store: &dyn Store, id: &str) -> Result<Account> {
    store
        .get_account(id)
        .await?
        .ok_or_else(|| refuse(format!("no account {id:?}")))
}

/// Runs one command (`args` without the global `--table`). `now` stamps what it creates.
pub async fn run(
    args: &[String],
    dynamo: &DynamoStore,
    now: Millis,
    out: &mut dyn Write,
) -> Result<()> {
    let store: &dyn Store = dynamo;
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["create-table", ..] => {
            Opts::parse(&args[1..], &[], &[])?;
            let created = match dynamo.table_status().await? {
                Some(_) => false,
                None => {
                    dynamo.create_table().await?;
                    true
                }
            };
            wait_active(dynamo).await?;
            line(out, &json!({"table": dynamo.table(), "created": created}))
        }
        ["load-fixture", ..] => {
            let o = Opts::parse(&args[1..], &["--file"], &[])?;
            let text = match o.get("--file") {
                Some(path) => {
                    std::fs::read_to_string(path).map_err(|e| refuse(format!("{path}: {e}")))?
                }
                None => DEMO_FIXTURE.to_owned(),
            };
            let fixture =
                Fixture::parse(&text).map_err(|e| refuse(format!("not a fixture: {e}")))?;
            for a in &fixture.accounts {
                if store.get_account(&a.id).await?.is_some() {
                    return Err(refuse(format!(
                        "account {:?} exists: the fixture goes into a fresh table",
                        a.id
                    )));
                }
            }
            fixture.load(store, now).await?;
            line(
                out,
                &json!({
                    "accounts": fixture.accounts.len(),
                    "sellers": fixture.sellers.len(),
                    "operators": fixture.operators.len(),
                    "customers": fixture.customers.len(),
                    "app_tokens": fixture.app_tokens.len(),
                    "conversations": fixture.conversations.len(),
                }),
            )
        }
        ["account", action, ..] => account(action, &args[2..], store, out).await,
        ["seller", action, ..] => seller(action, &args[2..], store, out).await,
        ["operator", action, ..] => operator(action, &args[2..], store, out).await,
        ["app-token", action, ..] => app_token(action, &args[2..], store, now, out).await,
        ["moderation", action, ..] => moderation(action, &args[2..], store, out).await,
        [] => Err(usage("a command is required")),
        [cmd, ..] => Err(usage(format!("unknown command {cmd:?}"))),
    }
}

async fn account(
    action: &str,
    args: &[String],
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<()> {
    match action {
        "create" => {
            let o = Opts::parse(args, &["--id", "--name", "--tier"], &[])?;
            let a = Account {
                id: id("--id", o.need("--id")?)?,
                name: name("--name", o.need("--name")?)?,
                tier: tier(o.get("--tier").unwrap_or("starter"))?,
                moderation: ModerationSettings::default(),
            };
            if store.get_account(&a.id).await?.is_some() {
                return Err(refuse(format!("account {:?} exists", a.id)));
            }
            store.put_account(&a).await?;
            line(out, &a)
        }
        "list" => {
            Opts::parse(args, &[], &[])?;
            lines(out, &store.list_accounts().await?)
        }
        "set-tier" => {
            let o = Opts::parse(args, &["--id", "--tier"], &[])?;
            let t = tier(o.need("--tier")?)?;
            let mut a = account_of(store, o.need("--id")?).await?;
            a.tier = t;
            store.put_account(&a).await?;
            line(out, &a)
        }
        _ => Err(usage(format!("unknown action account {action}"))),
    }
}

async fn seller(
    action: &str,
    args: &[String],
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<()> {
    match action {
        "add" => {
            let o = Opts::parse(args, &["--account", "--id", "--name"], &[])?;
            let s = Seller {
                account: account_of(store, o.need("--account")?).await?.id,
                id: id("--id", o.need("--id")?)?,
                name: name("--name", o.need("--name")?)?,
            };
            if store.get_seller(&s.account, &s.id).await?.is_some() {
                return Err(refuse(format!(
                    "seller {:?} exists in {:?}",
                    s.id, s.account
                )));
            }
            store.put_seller(&s).await?;
            line(out, &s)
        }
        "list" => {
            let a = account_only(args, store).await?;
            lines(out, &store.list_sellers(&a.id).await?)
        }
        _ => Err(usage(format!("unknown action seller {action}"))),
    }
}

async fn operator(
    action: &str,
    args: &[String],
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<()> {
    match action {
        "add" => {
            let o = Opts::parse(
                args,
                &["--account", "--email", "--name"],
                &["--televendas", "--admin"],
            )?;
            let op = Operator {
                account: account_of(store, o.need("--account")?).await?.id,
                email: email(o.need("--email")?)?,
                name: name("--name", o.need("--name")?)?,
                televendas: o.has("--televendas"),
                admin: o.has("--admin"),
            };
            if store.get_operator(&op.account, &op.email).await?.is_some() {
                return Err(refuse(format!(
                    "operator {:?} exists in {:?} (use operator set)",
                    op.email, op.account
                )));
            }
            store.put_operator(&op).await?;
            line(out, &op)
        }
        "set" => {
            let o = Opts::parse(
                args,
                &["--account", "--email", "--televendas", "--admin", "--name"],
                &[],
            )?;
            let account = account_of(store, o.need("--account")?).await?.id;
            let e = email(o.need("--email")?)?;
            let televendas = o
                .get("--televendas")
                .map(|v| yes_no("--televendas", v))
                .transpose()?;
            let admin = o.get("--admin").map(|v| yes_no("--admin", v)).transpose()?;
            let new_name = o.get("--name").map(|v| name("--name", v)).transpose()?;
            let mut op = store
                .get_operator(&account, &e)
                .await?
                .ok_or_else(|| refuse(format!("no operator {e:?} in {account:?}")))?;
            op.televendas = televendas.unwrap_or(op.televendas);
            op.admin = admin.unwrap_or(op.admin);
            op.name = new_name.unwrap_or(op.name);
            store.put_operator(&op).await?;
            line(out, &op)
        }
        "list" => {
            let a = account_only(args, store).await?;
            lines(out, &store.list_operators(&a.id).await?)
        }
        _ => Err(usage(format!("unknown action operator {action}"))),
    }
}

async fn app_token(
    action: &str,
    args: &[String],
    store: &dyn Store,
    now: Millis,
    out: &mut dyn Write,
) -> Result<()> {
    match action {
        "create" => {
            let o = Opts::parse(args, &["--account", "--name", "--scope"], &[])?;
            let account = account_of(store, o.need("--account")?).await?.id;
            let token_name = name("--name", o.need("--name")?)?;
            let mut scopes: Vec<String> = Vec::new();
            for s in o.all("--scope") {
                if !APP_TOKEN_SCOPES.contains(&s) {
                    return Err(usage(format!(
                        "--scope {s:?}: one of {}",
                        APP_TOKEN_SCOPES.join(", ")
                    )));
                }
                if !scopes.iter().any(|x| x == s) {
                    scopes.push(s.to_owned());
                }
            }
            if scopes.is_empty() {
                scopes.push(SCOPE_VISITOR_TOKENS.to_owned());
            }
            let token = new_app_token();
            let record = AppToken {
                hash: hash_app_token(&token),
                account,
                name: token_name,
                scopes,
                created_at: now,
            };
            store.put_app_token(&record).await?;
            line(
                out,
                &json!({
                    "token": token,
                    "hash": record.hash,
                    "account": record.account,
                    "name": record.name,
                    "scopes": record.scopes,
                    "created_at": record.created_at,
                }),
            )
        }
        "list" => {
            let a = account_only(args, store).await?;
            lines(out, &store.list_app_tokens(&a.id).await?)
        }
        "revoke" => {
            let o = Opts::parse(args, &["--account", "--hash"], &[])?;
            let account = account_of(store, o.need("--account")?).await?.id;
            let hash = o.need("--hash")?.to_ascii_lowercase();
            if !store.delete_app_token(&account, &hash).await? {
                return Err(refuse(format!("no app token {hash:?} in {account:?}")));
            }
            line(out, &json!({"revoked": hash, "account": account}))
        }
        _ => Err(usage(format!("unknown action app-token {action}"))),
    }
}

async fn moderation(
    action: &str,
    args: &[String],
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<()> {
    let flag = match action {
        "show" => None,
        "block-word" | "unblock-word" => Some("--word"),
        "allow-domain" | "disallow-domain" => Some("--domain"),
        _ => return Err(usage(format!("unknown action moderation {action}"))),
    };
    let mut values = vec!["--account"];
    values.extend(flag);
    let o = Opts::parse(args, &values, &[])?;
    // Validate before reading, so a bad value is a usage error whatever the account.
    let value = match flag {
        Some("--word") => Some(word(o.need("--word")?)?),
        Some(_) => Some(domain(o.need("--domain")?)?),
        None => None,
    };
    let mut a = account_of(store, o.need("--account")?).await?;
    let m = &mut a.moderation;
    let (list, add) = match action {
        "block-word" => (&mut m.blocked_words, true),
        "unblock-word" => (&mut m.blocked_words, false),
        "allow-domain" => (&mut m.allowed_domains, true),
        "disallow-domain" => (&mut m.allowed_domains, false),
        _ => return line(out, &json!({"account": a.id, "moderation": a.moderation})),
    };
    let value = value.unwrap_or_default();
    let present = list.contains(&value);
    if add && !present {
        list.push(value);
    } else if !add && present {
        list.retain(|x| *x != value);
    } else {
        // Nothing to change: say what stands, write nothing.
        return line(out, &json!({"account": a.id, "moderation": a.moderation}));
    }
    store.put_account(&a).await?;
    line(out, &json!({"account": a.id, "moderation": a.moderation}))
}

/// A new table takes a moment in AWS before it accepts writes.
async fn wait_active(dynamo: &DynamoStore) -> Result<()> {
    for _ in 0..120 {
        if dynamo.table_status().await? == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(refuse(format!(
        "table {} is not ACTIVE after two minutes",
        dynamo.table()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_are_declared_or_refused() {
        let o = Opts::parse(&args(&["--id", "a", "--admin"]), &["--id"], &["--admin"]).unwrap();
        assert_eq!(o.need("--id").unwrap(), "a");
        assert!(o.has("--admin"));
        assert!(matches!(
            Opts::parse(&args(&["--idd", "a"]), &["--id"], &[]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            Opts::parse(&args(&["--id"]), &["--id"], &[]),
            Err(CliError::Usage(_))
        ));
        let o = Opts::parse(&args(&["--id", "  "]), &["--id"], &[]).unwrap();
        assert!(matches!(o.need("--id"), Err(CliError::Usage(_))));
    }

    #[test]
    fn values_are_checked() {
        assert!(id("--id", "loja-1.br_x").is_ok());
        for bad in ["", "Loja", "a#b", "a b", &"x".repeat(65)] {
            assert!(id("--id", bad).is_err(), "{bad:?}");
        }
        assert_eq!(email(" Ana@Loja.COM ").unwrap(), "ana@loja.com");
        for bad in [
            "ana",
            "@loja.com",
            "ana@loja",
            "a b@loja.com",
            "a@b@c.com",
            "ana@acme..com",
            ".ana@loja.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(domain("Loja.com.BR.").unwrap(), "loja.com.br");
        for bad in [
            "https://loja.com",
            "loja",
            "loja.com/x",
            "loja.com:443",
            "-a.com",
            "a..com",
        ] {
            assert!(domain(bad).is_err(), "{bad:?}");
        }
        assert_eq!(tier("Enterprise").unwrap(), Tier::Enterprise);
        assert!(tier("gold").is_err());
        assert!(yes_no("--admin", "maybe").is_err());
        assert_eq!(word(" Concorrente ").unwrap(), "concorrente");
        assert!(word(" ").is_err());
        assert!(name("--name", "a\u{7}").is_err());
    }
}
