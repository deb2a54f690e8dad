//! Writes that accompany every state change, inside the caller's database transaction: the ledger
//! transaction of a business event, the audit row, and the outbox event. Because they share the
//! transaction with the conditional status update, either all of them happen or none does.

use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use paygate_core::Currency;
use paygate_core::id::{AuditKind, ChargeId, EventKind, LedgerTransactionKind, RefundId};
use paygate_core::ledger::{AccountKind, LedgerEvent, PostingError, postings};
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

/// Books `event` in `currency` as one balanced journal transaction; returns its id.
pub async fn post(
    conn: &mut PgConnection,
    scope: Scope,
    currency: Currency,
    event: LedgerEvent,
    subject: Subject,
) -> Result<String, JournalError> {
    let lines = postings(event)?;
    let id = new_id::<LedgerTransactionKind>().to_string();
    sqlx::query(
        "INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(event.kind())
    .bind(subject.charge_id)
    .bind(subject.refund_id)
    .execute(&mut *conn)
    .await?;
    let kinds: Vec<AccountKind> = lines.iter().map(|line| line.account).collect();
    let ids = account_ids(conn, scope, currency, &kinds).await?;
    let mut accounts = Vec::with_capacity(lines.len());
    let mut amounts = Vec::with_capacity(lines.len());
    for line in &lines {
        let id = ids.iter().find(|(kind, _)| *kind == line.account.as_str()).map(|(_, id)| *id);
        accounts.push(id.ok_or_else(|| sqlx::Error::RowNotFound)?);
        amounts.push(line.amount_minor);
    }
    let numbers: Vec<i16> = (0..lines.len() as i16).collect();
    sqlx::query(
        "INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount)
         SELECT $1, line, account, $2, amount FROM unnest($3::smallint[], $4::bigint[], $5::bigint[])
             AS t(line, account, amount)",
    )
    .bind(&id)
    .bind(currency.code())
    .bind(&numbers)
    .bind(&accounts)
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The ids of the (merchant, mode, currency, kind) accounts a posting touches, by kind, created on first
/// use. One read in the common case (no lock taken); a concurrent creator makes the insert a no-op and the
/// second read finds its rows.
async fn account_ids(
    conn: &mut PgConnection,
    scope: Scope,
    currency: Currency,
    kinds: &[AccountKind],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    let find = "SELECT kind, id FROM ledger_accounts
                WHERE merchant_id = $1 AND mode = $2 AND currency = $3 AND kind = ANY($4)";
    let query = |sql: &'static str| {
        sqlx::query_as::<_, (String, i64)>(sql)
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(currency.code())
            .bind(&kinds)
    };
    let found = query(find).fetch_all(&mut *conn).await?;
    if kinds.iter().all(|kind| found.iter().any(|(k, _)| k == kind)) {
        return Ok(found);
    }
    // First use of some of these accounts: create what is missing (a racing transaction may create
    // the same ones; the unique constraint makes that a no-op), then read them all.
    let create = "INSERT INTO ledger_accounts (merchant_id, mode, currency, kind)
                  SELECT $1, $2, $3, kind FROM unnest($4::text[]) AS kind
                  ON CONFLICT ON CONSTRAINT ledger_accounts_identity DO NOTHING";
    sqlx::query(create)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(currency.code())
        .bind(&kinds)
        .execute(&mut *conn)
        .await?;
    query(find).fetch_all(&mut *conn).await
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
    debug_assert!(
        crate::domain::webhooks::endpoints::is_event_type(event_type),
        "{event_type} is not in the catalogue (endpoints::EVENT_TYPES)"
    );
    let id = new_id::<EventKind>().to_string();
    sqlx::query("INSERT INTO events (id, merchant_id, mode, type, object_id, data) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(event_type)
        .bind(object_id)
        .bind(serde_json::json!({ "object": object }))
        .execute(&mut *conn)
        .await?;
    // The outbox's fan-out, in the same transaction: one delivery per subscribed endpoint.
    crate::domain::webhooks::deliveries::fan_out(conn, scope, &id, event_type).await?;
    Ok(id)
}
