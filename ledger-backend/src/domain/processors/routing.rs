//! Where a merchant's payments go: its routing table (core's `routing::RoutingTable`, stored per
//! merchant and mode) over its enabled processor accounts. Without a table, test mode goes to the
//! merchant's sandbox account and live mode has nowhere to go.

use super::accounts::{self, AccountRecord};
use crate::domain::tenancy::Scope;
use paygate_core::Mode;
use paygate_core::routing::{Payment, RoutingTable};
use sqlx::{PgConnection, PgPool};

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("{field} {reason}")]
    Invalid { field: String, reason: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The stored table, if the merchant has one in this mode.
pub async fn get(conn: &mut PgConnection, scope: Scope) -> Result<Option<RoutingTable>, sqlx::Error> {
    let body: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT body FROM routing_tables WHERE merchant_id = $1 AND mode = $2")
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .fetch_optional(&mut *conn)
            .await?;
    decode(body)
}

fn decode(body: Option<serde_json::Value>) -> Result<Option<RoutingTable>, sqlx::Error> {
    body.map(|b| serde_json::from_value(b).map_err(|e| sqlx::Error::Decode(format!("routing table: {e}").into())))
        .transpose()
}

/// Replaces the table after checking it: its rules (core) and that every account it names is one of this
/// merchant's enabled accounts in this mode.
pub async fn replace(pool: &PgPool, scope: Scope, table: RoutingTable) -> Result<RoutingTable, RoutingError> {
    let mut tx = pool.begin().await?;
    let accounts = accounts::all(&mut tx, scope).await?;
    let usable = |id: &str| accounts.iter().any(|a| a.id.to_string() == id && a.enabled);
    table.check(usable).map_err(|e| RoutingError::Invalid { field: e.field, reason: e.reason })?;
    sqlx::query(
        "INSERT INTO routing_tables (merchant_id, mode, body) VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id, mode) DO UPDATE SET body = excluded.body, updated_at = now()",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(serde_json::to_value(&table).expect("a routing table always serializes"))
    .execute(&mut *tx)
    .await?;
    crate::domain::journal::audit(
        &mut tx,
        scope,
        crate::domain::journal::AuditEntry {
            actor: &crate::domain::actor::current(),
            action: "routing.replace",
            object_type: "routing",
            object_id: scope.mode.as_str(),
            request_id: None,
            data: serde_json::to_value(&table).expect("a routing table always serializes"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(table)
}

/// The accounts a domestic Mada payment may go to: the enabled Checkout.com accounts configured for Mada
/// (`settings.mada`), oldest first. The routing table does not apply: Saudi rules decide.
pub fn mada_accounts(accounts: &[Account]) -> Vec<Choice> {
    accounts
        .iter()
        .map(|a| &a.record)
        .filter(|a| a.enabled && a.connector.0 == paygate_core::processor::ConnectorKind::Checkout)
        .filter(|a| a.settings["mada"] == true)
        .map(|account| Choice { account: account.clone(), rule: None })
        .collect()
}

/// One routing decision: the account and the rule that chose it (`None`: the default).
#[derive(Debug, Clone)]
pub struct Choice {
    pub account: AccountRecord,
    pub rule: Option<usize>,
}

/// The accounts that may take `payment` under `table` (the scope's, read by `inputs`), in order of preference
/// (the first is the decision, the rest failover). Empty when nothing is configured or enabled.
pub fn decide(scope: Scope, table: Option<RoutingTable>, accounts: &[Account], payment: &Payment<'_>) -> Vec<Choice> {
    let find = |id: &str| accounts.iter().map(|a| &a.record).find(|a| a.id.to_string() == id && a.enabled);
    match table {
        Some(table) => table
            .candidates(payment, |id| find(id).is_some())
            .into_iter()
            .filter_map(|(rule, id)| find(id).map(|account| Choice { account: account.clone(), rule }))
            .collect(),
        None if scope.mode == Mode::Test => accounts
            .iter()
            .map(|a| &a.record)
            .filter(|a| a.enabled && a.connector.0 == paygate_core::processor::ConnectorKind::Sandbox)
            .map(|account| Choice { account: account.clone(), rule: None })
            .collect(),
        None => vec![],
    }
}

/// An account as routing reads it: the record, and its credentials still sealed (opened only for the accounts
/// a charge is sent to, by `accounts::open_connector`).
#[derive(Debug, sqlx::FromRow)]
pub struct Account {
    #[sqlx(flatten)]
    pub record: AccountRecord,
    pub credentials_sealed: Option<serde_json::Value>,
}

/// All a new charge's routing decides from: the scope's table, the merchant's country (Mada's rule) and its
/// accounts.
pub struct Inputs {
    pub table: Option<RoutingTable>,
    pub country: Option<String>,
    pub accounts: Vec<Account>,
}

#[derive(sqlx::FromRow)]
struct InputsRow {
    routing: Option<serde_json::Value>,
    country: Option<String>,
    #[sqlx(flatten)]
    account: Account,
}

/// `Inputs` in one statement (one round trip on the create's path, where they were four): one row per account,
/// each carrying the table and the country. A scope without accounts (live mode before any is added) reads
/// the table and the country on their own.
pub async fn inputs(conn: &mut PgConnection, scope: Scope) -> Result<Inputs, sqlx::Error> {
    let select = format!(
        "SELECT (SELECT body FROM routing_tables WHERE merchant_id = $1 AND mode = $2) AS routing,
                (SELECT country FROM merchants WHERE id = $1) AS country,
                {}, credentials_sealed
         FROM processor_accounts WHERE merchant_id = $1 AND mode = $2 ORDER BY id",
        accounts::COLUMNS
    );
    let rows: Vec<InputsRow> = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .fetch_all(&mut *conn)
        .await?;
    let Some(first) = rows.first() else {
        let table = get(&mut *conn, scope).await?;
        let country = crate::domain::merchants::country(&mut *conn, scope.merchant_id).await?;
        return Ok(Inputs { table, country, accounts: vec![] });
    };
    let table = decode(first.routing.clone())?;
    let country = first.country.clone();
    Ok(Inputs { table, country, accounts: rows.into_iter().map(|row| row.account).collect() })
}
