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
pub async fn mada_accounts(conn: &mut PgConnection, scope: Scope) -> Result<Vec<Choice>, sqlx::Error> {
    let accounts = accounts::all(&mut *conn, scope).await?;
    Ok(accounts
        .into_iter()
        .filter(|a| a.enabled && a.connector.0 == paygate_core::processor::ConnectorKind::Checkout)
        .filter(|a| a.settings["mada"] == true)
        .map(|account| Choice { account, rule: None })
        .collect())
}

/// One routing decision: the account and the rule that chose it (`None`: the default).
#[derive(Debug, Clone)]
pub struct Choice {
    pub account: AccountRecord,
    pub rule: Option<usize>,
}

/// The accounts that may take `payment` under `table` (the scope's, read by `get`), in order of preference
/// (the first is the decision, the rest failover). Empty when nothing is configured or enabled.
pub async fn decide(
    conn: &mut PgConnection,
    scope: Scope,
    table: Option<RoutingTable>,
    payment: &Payment<'_>,
) -> Result<Vec<Choice>, sqlx::Error> {
    let accounts = accounts::all(&mut *conn, scope).await?;
    let find = |id: &str| accounts.iter().find(|a| a.id.to_string() == id && a.enabled);
    match table {
        Some(table) => Ok(table
            .candidates(payment, |id| find(id).is_some())
            .into_iter()
            .filter_map(|(rule, id)| find(id).map(|account| Choice { account: account.clone(), rule }))
            .collect()),
        None if scope.mode == Mode::Test => Ok(accounts
            .iter()
            .filter(|a| a.enabled && a.connector.0 == paygate_core::processor::ConnectorKind::Sandbox)
            .map(|account| Choice { account: account.clone(), rule: None })
            .collect()),
        None => Ok(vec![]),
    }
}
