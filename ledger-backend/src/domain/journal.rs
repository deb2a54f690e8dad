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
    let lines = Lines::of(event)?;
    let id = new_id::<LedgerTransactionKind>().to_string();
    let ids = vec![id.clone(); lines.numbers.len()];
    let entries = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(currency.code())
            .bind(&lines.numbers)
            .bind(&lines.kinds)
            .bind(&lines.amounts)
    };
    let posted = format!(
        "WITH posted AS (
             INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
             VALUES ($11, $2, $3, $8, $9, $10)),
         entries AS ({} RETURNING 1)
         SELECT count(*) FROM entries",
        entries_sql(1, "true")
    );
    let row = entries(posted)
        .bind(event.kind())
        .bind(subject.charge_id)
        .bind(subject.refund_id)
        .bind(&id)
        .fetch_one(&mut *conn)
        .await?;
    let written: i64 = sqlx::Row::try_get(&row, 0)?;
    if written as usize == lines.numbers.len() {
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
    .bind(&lines.kinds)
    .execute(&mut *conn)
    .await?;
    let rest = entries(entries_sql(1, "true")).execute(&mut *conn).await?;
    if written as u64 + rest.rows_affected() != lines.numbers.len() as u64 {
        return Err(sqlx::Error::RowNotFound.into());
    }
    Ok(id)
}

/// The lines of one or more postings as statements bind them: line numbers (from 0 in each posting), account
/// kinds, amounts (core's `postings`).
#[derive(Default)]
pub(crate) struct Lines {
    pub numbers: Vec<i16>,
    pub kinds: Vec<&'static str>,
    pub amounts: Vec<i64>,
}

impl Lines {
    pub fn of(event: LedgerEvent) -> Result<Self, PostingError> {
        let mut lines = Lines::default();
        lines.add(event)?;
        Ok(lines)
    }

    /// Appends the lines of `event`; how many.
    pub fn add(&mut self, event: LedgerEvent) -> Result<usize, PostingError> {
        let lines = postings(event)?;
        self.numbers.extend(0..lines.len() as i16);
        self.kinds.extend(lines.iter().map(|line| line.account.as_str()));
        self.amounts.extend(lines.iter().map(|line| line.amount_minor));
        Ok(lines.len())
    }

    /// The kinds of account the lines post to, each once.
    pub fn accounts(&self) -> Vec<&'static str> {
        let mut kinds = self.kinds.clone();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }
}

/// The INSERT of postings' entries, each line's account found by kind; a line whose account does not exist yet
/// is left out, and a line already written is skipped (`post`'s second pass), and only where `condition` holds.
/// Its parameters are consecutive from `$first`: each line's ledger transaction id, the merchant, the mode, the
/// currency, then the lines as `Lines` binds them. Each entry carries its account's merchant and mode (its
/// row-level security and, later, its shard; the foreign key to the account holds them equal).
pub(crate) fn entries_sql(first: usize, condition: &str) -> String {
    let [ids, merchant, mode, currency, numbers, kinds, amounts] = std::array::from_fn(|i| first + i);
    format!(
        "INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
         SELECT t.id, t.line, a.id, ${currency}, t.amount, a.merchant_id, a.mode
         FROM unnest(${ids}::text[], ${numbers}::smallint[], ${kinds}::text[], ${amounts}::bigint[])
              AS t(id, line, kind, amount)
         JOIN ledger_accounts a ON a.merchant_id = ${merchant} AND a.mode = ${mode} AND a.currency = ${currency}
                                AND a.kind = t.kind
         WHERE {condition}
         ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING"
    )
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

/// The audit rows and the outbox events of a change, as two named CTEs (`audited`, `emitted`) written only where
/// `condition` holds, one row per element of their arrays. Parameters: `$1` merchant, `$2` mode; the events'
/// types (`$3`), ids (`$4`), objects' ids (`$5`) and data (`$13`); the audit rows' ids (`$6`, none: no audit
/// row), actions (`$8`), objects' types (`$9`), objects' ids (`$10`), request ids (`$11`) and data (`$12`), all
/// by `$7`, the actor. `$1` and `$2` are also those of `deliveries::listens`.
pub(crate) fn audited_and_emitted(condition: &str) -> String {
    format!(
        "audited AS (
             INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
             SELECT a.id, $1, $2, $7, a.action, a.object_type, a.object_id, a.request_id, a.data
             FROM unnest($6::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[])
                  AS a(id, action, object_type, object_id, request_id, data)
             WHERE {condition}),
         emitted AS (
             INSERT INTO events (id, merchant_id, mode, type, object_id, data)
             SELECT v.id, $1, $2, v.type, v.object_id, v.data
             FROM unnest($4::text[], $3::text[], $5::text[], $13::jsonb[]) AS v(id, type, object_id, data)
             WHERE {condition})"
    )
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
        "WITH {} SELECT e.id FROM webhook_endpoints e WHERE {}",
        audited_and_emitted("true"),
        crate::domain::webhooks::deliveries::listens("($3::text[])[1]")
    );
    let endpoints: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(vec![event_type])
        .bind(vec![&id])
        .bind(vec![object_id])
        .bind(Vec::from_iter(audit_id))
        .bind(audit.as_ref().map(|a| a.actor))
        .bind(Vec::from_iter(audit.as_ref().map(|a| a.action)))
        .bind(Vec::from_iter(audit.as_ref().map(|a| a.object_type)))
        .bind(Vec::from_iter(audit.as_ref().map(|a| a.object_id)))
        .bind(Vec::from_iter(audit.as_ref().map(|a| a.request_id)))
        .bind(Vec::from_iter(audit.map(|a| a.data)))
        .bind(vec![serde_json::json!({ "object": object })])
        .fetch_all(&mut *conn)
        .await?;
    crate::domain::webhooks::deliveries::create(conn, scope, &id, &endpoints).await?;
    Ok(id)
}
