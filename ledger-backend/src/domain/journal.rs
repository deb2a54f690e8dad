//! Writes that accompany every state change, inside the caller's database transaction: the ledger
//! transaction of a business event, the audit row, and the outbox event. Because they share the
//! transaction with the conditional status update, either all of them happen or none does.

use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use paygate_core::Currency;
use paygate_core::id::{AuditKind, ChargeId, EventKind, LedgerTransactionKind, RefundId};
use paygate_core::ledger::{LedgerEvent, PostingError, postings};
use sqlx::PgConnection;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Posting(#[from] PostingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a ledger transaction is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject {
    pub charge_id: Option<ChargeId>,
    pub refund_id: Option<RefundId>,
}

/// Books `event` in `currency` as one balanced journal transaction; returns its id. One statement writes the
/// transaction and its entries, finding each line's account by kind; only a posting to accounts not yet
/// made (the merchant's first in that mode and currency) takes two more, to make them and write the rest.
pub async fn post(
    conn: &mut PgConnection,
    scope: Scope,
    currency: Currency,
    event: LedgerEvent,
    subject: Subject,
) -> Result<String, JournalError> {
    let lines = postings(event)?;
    let id = new_id::<LedgerTransactionKind>().to_string();
    let numbers: Vec<i16> = (0..lines.len() as i16).collect();
    let kinds: Vec<&str> = lines.iter().map(|line| line.account.as_str()).collect();
    let amounts: Vec<i64> = lines.iter().map(|line| line.amount_minor).collect();
    // The entries, each line's account found by kind; a line whose account does not exist yet is left out,
    // and a line already written is skipped (the second pass, below).
    // Each entry carries its account's merchant and mode (its row-level security and, later, its shard; the
    // foreign key to the account holds them equal).
    const ENTRIES: &str =
        "INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
         SELECT $1, t.line, a.id, $4, t.amount, a.merchant_id, a.mode
         FROM unnest($5::smallint[], $6::text[], $7::bigint[]) AS t(line, kind, amount)
         JOIN ledger_accounts a ON a.merchant_id = $2 AND a.mode = $3 AND a.currency = $4 AND a.kind = t.kind
         ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING";
    let entries = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(currency.code())
            .bind(&numbers)
            .bind(&kinds)
            .bind(&amounts)
    };
    let posted = format!(
        "WITH posted AS (
             INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
             VALUES ($1, $2, $3, $8, $9, $10)),
         entries AS ({ENTRIES} RETURNING 1)
         SELECT count(*) FROM entries"
    );
    let row = entries(posted)
        .bind(event.kind())
        .bind(subject.charge_id)
        .bind(subject.refund_id)
        .fetch_one(&mut *conn)
        .await?;
    let written: i64 = sqlx::Row::try_get(&row, 0)?;
    if written as usize == lines.len() {
        return Ok(id);
    }
    // First use of some of these accounts: make what is missing (a racing transaction may make the same
    // ones; the unique constraint makes that a no-op), then write the lines that found no account.
    sqlx::query(
        "INSERT INTO ledger_accounts (merchant_id, mode, currency, kind)
         SELECT $1, $2, $3, kind FROM unnest($4::text[]) AS kind
         ON CONFLICT ON CONSTRAINT ledger_accounts_identity DO NOTHING",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(currency.code())
    .bind(&kinds)
    .execute(&mut *conn)
    .await?;
    let rest = entries(ENTRIES.to_owned()).execute(&mut *conn).await?;
    if written as u64 + rest.rows_affected() != lines.len() as u64 {
        return Err(sqlx::Error::RowNotFound.into());
    }
    Ok(id)
}

pub struct AuditEntry<'a> {
    /// The API key id, or `system:<job>` for background work.
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub request_id: Option<&'a str>,
    pub data: serde_json::Value,
}

pub async fn audit(conn: &mut PgConnection, scope: Scope, entry: AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id::<AuditKind>().to_string())
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_id)
    .bind(entry.request_id)
    .bind(entry.data)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes one outbox event (`charge.captured`, ...) carrying the object as it is after the change.
pub async fn emit(
    conn: &mut PgConnection,
    scope: Scope,
    event_type: &str,
    object_id: &str,
    object: serde_json::Value,
) -> Result<String, sqlx::Error> {
    write_event(conn, scope, None, event_type, object_id, object).await
}

/// The audit row of a change and its outbox event, as `audit` and `emit` write them, in one statement.
pub async fn audit_and_emit(
    conn: &mut PgConnection,
    scope: Scope,
    entry: AuditEntry<'_>,
    event_type: &str,
    object_id: &str,
    object: serde_json::Value,
) -> Result<String, sqlx::Error> {
    write_event(conn, scope, Some(entry), event_type, object_id, object).await
}

/// The event (and the audit row, if given) in one statement, which also answers the endpoints subscribed to
/// it; their deliveries take a second statement only when there are any (the outbox's fan-out, in the same
/// transaction: one delivery per endpoint).
async fn write_event(
    conn: &mut PgConnection,
    scope: Scope,
    audit: Option<AuditEntry<'_>>,
    event_type: &str,
    object_id: &str,
    object: serde_json::Value,
) -> Result<String, sqlx::Error> {
    debug_assert!(
        crate::domain::webhooks::endpoints::is_event_type(event_type),
        "{event_type} is not in the catalogue (endpoints::EVENT_TYPES)"
    );
    let audit_id = audit.as_ref().map(|_| new_id::<AuditKind>().to_string());
    let id = new_id::<EventKind>().to_string();
    let statement = format!(
        "WITH audited AS (
             INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
             SELECT $6, $1, $2, $7, $8, $9, $10, $11, $12 WHERE $6::text IS NOT NULL),
         emitted AS (
             INSERT INTO events (id, merchant_id, mode, type, object_id, data) VALUES ($4, $1, $2, $3, $5, $13))
         {}",
        crate::domain::webhooks::deliveries::SUBSCRIBED
    );
    let endpoints: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(event_type)
        .bind(&id)
        .bind(object_id)
        .bind(audit_id)
        .bind(audit.as_ref().map(|a| a.actor))
        .bind(audit.as_ref().map(|a| a.action))
        .bind(audit.as_ref().map(|a| a.object_type))
        .bind(audit.as_ref().map(|a| a.object_id))
        .bind(audit.as_ref().and_then(|a| a.request_id))
        .bind(audit.map(|a| a.data))
        .bind(serde_json::json!({ "object": object }))
        .fetch_all(&mut *conn)
        .await?;
    crate::domain::webhooks::deliveries::create(conn, scope, &id, &endpoints).await?;
    Ok(id)
}
