//! The `paygate-ledger` command: serve the API, migrate, and the operator's merchant and key tasks.

use paygate_core::Mode;
use paygate_core::api_key::KeyKind;
use paygate_core::id::MerchantId;
use paygate_ledger::config::{Config, pepper_from_env};
use paygate_ledger::domain::{api_keys, merchants, pricing};
use paygate_ledger::http::operator;
use paygate_ledger::{Server, db, telemetry};
use std::collections::HashMap;
use std::process::ExitCode;

const USAGE: &str = "usage: paygate-ledger <command> [--flag value ...]

  serve                                   migrate, then serve the API on PAYGATE_LISTEN_ADDR (127.0.0.1:8081)
  work                                    run the background jobs (audit sealing, authorization expiry,
                                          recovery of unknown outcomes, maintenance); any number may run
  migrate                                 apply pending migrations, create partitions ahead, exit
  create-merchant --name NAME [--country CC]
                                          print the new merchant's id; CC is where it trades (SA: Mada rules)
  create-key --merchant ID --mode test|live --kind publishable|secret
                                          print a new API key (shown once; only its hash is stored)
  revoke-key --merchant ID --mode test|live --key KEY_ID
  create-user --merchant ID --email EMAIL --password-env VAR [--role owner|developer|analyst]
                                          a dashboard user in the merchant's team (the password is read from
                                          the environment variable VAR, never from the command line)
  set-pricing --merchant ID --currency CODE|'*' --bps N --fixed MINOR
                                          price per captured charge (N/100 % + MINOR), for charges created
                                          from now on; '*' is the default for currencies without their own
  pricing --merchant ID                   print the merchant's prices, each with when it took effect
  audit                                   seal pending audit rows, then verify the audit chain, the ledger
                                          and every charge against its ledger; exits 1 on any finding
  reconcile --account PA_ID --file PATH [--format FORMAT] [--period TEXT]
                                          import a processor's settlement report for the account (the same
                                          file again is a no-op); FORMAT defaults to the connector's:
                                          stripe_itemized_3, checkout_financial_actions, sandbox_daily, or
                                          adyen_settlement_details; then match its rows against the ledger
                                          and print what was read, refused, matched and found

environment: DATABASE_URL (always); PAYGATE_EDGE_SECRET and PAYGATE_API_KEY_PEPPER (hex, ≥ 32 bytes,
shared with the edge) and PAYGATE_SECRETS_KEYS (1:<64 hex>, sealing webhook secrets at rest) for serve
and work; PAYGATE_API_KEY_PEPPER for create-key; optional
PAYGATE_EDGE_SECRET_PREVIOUS (during a rotation), PAYGATE_EDGE_URL, PAYGATE_SANDBOX_URL,
PAYGATE_PROCESSOR_TIMEOUT_MS, PAYGATE_LISTEN_ADDR, PAYGATE_DB_CONNECTIONS_MAX, PAYGATE_OPERATOR_TOKEN
(≥ 32 characters; enables the operator API under /operator), RUST_LOG";

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let flags = match parse_flags(&args[1..]) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "serve" => serve().await,
        "work" => work().await,
        "migrate" => migrate().await,
        "create-merchant" => create_merchant(&flags).await,
        "create-key" => create_key(&flags).await,
        "create-user" => create_user(&flags).await,
        "revoke-key" => revoke_key(&flags).await,
        "set-pricing" => set_pricing(&flags).await,
        "pricing" => print_pricing(&flags).await,
        "audit" => audit().await,
        "reconcile" => reconcile(&flags).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{command} failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs into a map; anything else is a usage error.
fn parse_flags(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut flags = HashMap::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let name = flag.strip_prefix("--").ok_or(format!("unexpected argument {flag:?}"))?;
        let value = rest.next().ok_or(format!("--{name} needs a value"))?;
        flags.insert(name.to_owned(), value.clone());
    }
    Ok(flags)
}

fn flag<'a>(flags: &'a HashMap<String, String>, name: &str) -> Result<&'a str, AnyError> {
    flags.get(name).map(String::as_str).ok_or_else(|| format!("--{name} is required").into())
}

fn mode_flag(flags: &HashMap<String, String>) -> Result<Mode, AnyError> {
    Mode::parse(flag(flags, "mode")?).ok_or_else(|| "--mode must be test or live".into())
}

async fn pool_from_env(connections: u32) -> Result<sqlx::PgPool, AnyError> {
    let database_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is required")?;
    Ok(db::connect(&database_url, connections, db::Role::Owner).await?)
}

async fn migrate() -> Result<(), AnyError> {
    let pool = pool_from_env(1).await?;
    db::migrate(&pool).await?;
    db::partitions::ensure(&pool, paygate_ledger::ids::unix_seconds_now()).await?;
    tracing::info!("migrations applied, partitions ready");
    Ok(())
}

async fn create_merchant(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    let pool = pool_from_env(1).await?;
    let id = merchants::create_in(&pool, flag(flags, "name")?, flags.get("country").map(String::as_str)).await?;
    println!("{id}");
    Ok(())
}

/// A dashboard user in a merchant's team; the password comes from the environment variable `--password-env`
/// names, so it never shows in the process list or the shell's history.
async fn create_user(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    use paygate_ledger::domain::dashboard::{Role, accounts};
    let merchant = MerchantId::parse(flag(flags, "merchant")?)?;
    let role = Role::parse(flags.get("role").map_or("owner", String::as_str))
        .ok_or("--role must be owner, developer or analyst")?;
    let variable = flag(flags, "password-env")?;
    let password = std::env::var(variable).map_err(|_| format!("{variable} is not set"))?;
    let pool = pool_from_env(1).await?;
    if !merchants::exists(&pool, merchant).await? {
        return Err(format!("no merchant {merchant}").into());
    }
    let user = accounts::create_member(&pool, merchant, flag(flags, "email")?, password, role).await?;
    println!("{user}");
    Ok(())
}

async fn create_key(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    let pepper = pepper_from_env()?;
    let merchant = MerchantId::parse(flag(flags, "merchant")?)?;
    let kind = KeyKind::parse(flag(flags, "kind")?).ok_or("--kind must be publishable or secret")?;
    let pool = pool_from_env(1).await?;
    if !merchants::exists(&pool, merchant).await? {
        return Err(format!("no merchant {merchant}").into());
    }
    let (_, key) = api_keys::issue(&pool, &pepper, merchant, mode_flag(flags)?, kind).await?;
    println!("{}", key.expose());
    Ok(())
}

async fn revoke_key(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    let merchant = MerchantId::parse(flag(flags, "merchant")?)?;
    let pool = pool_from_env(1).await?;
    let key = paygate_core::id::ApiKeyId::parse(flag(flags, "key")?)?;
    if api_keys::revoke(&pool, merchant, mode_flag(flags)?, key).await?.is_none() {
        return Err("no such key for this merchant and mode".into());
    }
    // The edge forgets it when its cache entry expires (at most 30 s); the API's revoke tells it at once.
    Ok(())
}

async fn set_pricing(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    let merchant = MerchantId::parse(flag(flags, "merchant")?)?;
    let integer = |name: &str| -> Result<i64, AnyError> {
        flag(flags, name)?.parse().map_err(|_| format!("--{name} must be an integer").into())
    };
    let (currency, price) = operator::parse_price(flag(flags, "currency")?, integer("bps")?, integer("fixed")?)
        .map_err(|e| e.to_string())?;
    let pool = pool_from_env(1).await?;
    let row = pricing::set(&pool, merchant, currency, price, "operator:cli").await?;
    println!("{}", serde_json::to_string(&row)?);
    Ok(())
}

async fn print_pricing(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    let merchant = MerchantId::parse(flag(flags, "merchant")?)?;
    let pool = pool_from_env(1).await?;
    if !merchants::exists(&pool, merchant).await? {
        return Err(format!("no merchant {merchant}").into());
    }
    for row in pricing::history(&pool, merchant).await? {
        println!("{}", serde_json::to_string(&row)?);
    }
    Ok(())
}

async fn reconcile(flags: &HashMap<String, String>) -> Result<(), AnyError> {
    use paygate_core::settlement::ReportFormat;
    use paygate_ledger::domain::settlement::import::{self, Request, Source};
    use paygate_ledger::domain::settlement::matching;
    let account = paygate_core::id::ProcessorAccountId::parse(flag(flags, "account")?)?;
    let path = std::path::PathBuf::from(flag(flags, "file")?);
    let pool = pool_from_env(2).await?;
    let (scope, connector) = paygate_ledger::domain::processors::accounts::owner(&pool, account)
        .await?
        .ok_or_else(|| format!("no processor account {account}"))?;
    let format = match flags.get("format") {
        Some(name) => ReportFormat::parse(name).ok_or_else(|| format!("unknown --format {name}"))?,
        None => ReportFormat::of_connector(connector),
    };
    let request = Request { account, format, source: Source::File, period: flags.get("period").cloned() };
    let imported =
        import::import(&pool, scope, request, || std::fs::File::open(&path).map(std::io::BufReader::new)).await?;
    if imported.new {
        println!("{}: {} rows read, {} refused", imported.report, imported.rows_read, imported.rows_refused);
    } else {
        println!("{}: imported before ({} rows); matching again", imported.report, imported.rows_read);
    }
    for refusal in &imported.refusals {
        println!("  refused {refusal}");
    }
    if imported.rows_refused > imported.refusals.len() as u64 {
        println!("  … and {} more (settlement_row_errors)", imported.rows_refused - imported.refusals.len() as u64);
    }
    let now = paygate_ledger::ids::unix_seconds_now();
    let summary = matching::run(&pool, scope, account, Some(&imported.report), now).await?;
    let (run, opened, cleared) = (&summary.run, summary.opened, summary.cleared);
    println!(
        "{run}: {} of {} rows matched; {opened} exceptions opened, {cleared} cleared",
        summary.matched, summary.rows
    );
    for (category, count) in &summary.exceptions {
        println!("  {category}: {count}");
    }
    Ok(())
}

async fn audit() -> Result<(), AnyError> {
    let pool = pool_from_env(2).await?;
    paygate_ledger::jobs::audit_seal::seal_all(&pool).await?;
    let findings = paygate_ledger::domain::audit_check::run(&pool).await?;
    for finding in &findings {
        println!("{}", serde_json::to_string(finding)?);
    }
    if findings.is_empty() {
        eprintln!("audit: no findings");
        Ok(())
    } else {
        Err(format!("{} findings", findings.len()).into())
    }
}

async fn work() -> Result<(), AnyError> {
    let config = Config::from_env()?;
    // Four for the jobs, and one the webhook worker listens on for wake-ups.
    let pool = db::connect(&config.database_url, 5, db::Role::Jobs).await?;
    let processors = paygate_ledger::startup::processors(&config);
    let mut senders = paygate_ledger::jobs::webhook_delivery::Senders::new(
        paygate_ledger::jobs::webhook_delivery::TIMEOUT,
        config.secrets_keys.clone(),
    );
    // Only the kill -9 test shortens the claim lease, to see a dead worker's claims come back in seconds.
    if let Some(seconds) = std::env::var("PAYGATE_WEBHOOK_LEASE_SECONDS").ok().and_then(|v| v.parse::<u64>().ok()) {
        senders.lease = std::time::Duration::from_secs(seconds);
    }
    tracing::info!("worker running");
    paygate_ledger::jobs::run(pool, processors, senders, shutdown_signal()).await;
    tracing::info!("worker stopped");
    Ok(())
}

async fn serve() -> Result<(), AnyError> {
    let config = Config::from_env()?;
    {
        // Migrations and partitions are the schema owner's; requests run as `paygate_api`.
        let owner = db::connect(&config.database_url, 1, db::Role::Owner).await?;
        db::migrate(&owner).await?;
        db::partitions::ensure(&owner, paygate_ledger::ids::unix_seconds_now()).await?;
        let sealed =
            paygate_ledger::domain::webhooks::endpoints::seal_plaintext_secrets(&owner, &config.secrets_keys).await?;
        if sealed > 0 {
            tracing::info!(sealed, "sealed the webhook secrets stored before secrets were sealed at rest");
        }
        let filled = paygate_ledger::domain::processors::accounts::backfill(&owner).await?;
        if filled > 0 {
            tracing::info!(filled, "pointed charges made before processor accounts at their sandbox account");
        }
        owner.close().await;
    }
    let pool = db::connect(&config.database_url, config.db_connections_max, db::Role::Api).await?;
    let state = paygate_ledger::startup::app_state(pool, &config);
    let server = Server::bind(config.listen_addr, state).await?;
    tracing::info!(addr = %server.local_addr()?, "serving");
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = interrupt => {}, _ = terminate => {} }
}
