//! One change of a charge, decided in Rust on the charge as read, written by one statement that is its own
//! transaction: the charge's new columns, the attempt that decided it closed, the ledger posting, the audit row,
//! the outbox event carrying the charge as it now is, and that event's webhook deliveries. One round trip where a
//! transaction takes six (BEGIN, a locked read, the posting, the update, the event, COMMIT).
//!
//! The statement writes only if the charge is still at the version it was read at (migration 0026: every change
//! of a charge's row makes a new version), so the charge it writes, and the one its event carries, is exactly the
//! one the change was decided on, changed as decided. It writes nothing, and says so, when:
//! - anything changed the charge since it was read (a webhook, recovery, another request);
//! - a ledger account the posting needs does not exist yet (the merchant's first posting in that mode and
//!   currency);
//! - more webhook endpoints listen to the event than delivery ids were made for (`DELIVERY_IDS`).
//!
//! The caller then takes its locked transaction, which handles each of these; a test holds each of them.

use super::ChargeError;
use super::record::ChargeRecord;
use crate::domain::journal::{self, Lines};
use crate::domain::tenancy::Scope;
use crate::domain::webhooks::deliveries::{DUE_CHANNEL, SUBSCRIBED};
use crate::ids::new_id;
use paygate_core::id::{AuditKind, DeliveryKind, EventKind, LedgerTransactionKind};
use paygate_core::ledger::LedgerEvent;
use sqlx::{PgConnection, Row};

/// Delivery ids made for each change: a merchant with more endpoints listening to one event type than this (rare:
/// most have one or two) takes the transaction, whose fan-out has no limit.
pub const DELIVERY_IDS: usize = 8;

/// The attempt a change closes: its outcome, and the processor's reference when it gave one (else the attempt's
/// own is kept).
pub struct AttemptClose<'a> {
    pub id: &'a str,
    pub outcome: &'static str,
    pub reference: Option<&'a str>,
}

/// A change of `before` into `after`, with what accompanies it.
pub struct Change<'a> {
    pub scope: Scope,
    /// The charge as read; the statement writes only if it is still at `before.version`.
    pub before: &'a ChargeRecord,
    /// The charge as the change leaves it: its changeable columns are written from here (status, amounts,
    /// processor reference, pending operation, authorization and action deadlines, card, failure), and the event
    /// carries it. Its other columns must be `before`'s.
    pub after: ChargeRecord,
    pub attempt: AttemptClose<'a>,
    pub posting: LedgerEvent,
    pub event_type: &'static str,
}

/// Writes `change`; the charge as it now is, or `None` when nothing was written (see the module's comment).
pub async fn write(conn: &mut PgConnection, change: Change<'_>) -> Result<Option<ChargeRecord>, ChargeError> {
    let Change { scope, before, after, attempt, posting, event_type } = change;
    debug_assert!(
        crate::domain::webhooks::endpoints::is_event_type(event_type),
        "{event_type} is not in the catalogue (endpoints::EVENT_TYPES)"
    );
    debug_assert_eq!(
        (after.id, after.version, after.amount, &after.currency, &after.processor_account_id),
        (before.id, before.version, before.amount, &before.currency, &before.processor_account_id),
        "a change writes only its changeable columns"
    );
    let lines = Lines::of(posting).map_err(journal::JournalError::from)?;
    let currency = after.currency()?;
    let (object, audit) = super::create::event_parts(&after);
    let delivery_ids: Vec<String> = (0..DELIVERY_IDS).map(|_| new_id::<DeliveryKind>().to_string()).collect();
    let moved = "EXISTS (SELECT 1 FROM moved)";
    // $1..$13: the audit row and the event (`journal::audited_and_emitted`); $14..$20: the posting's entries
    // (`journal::entries_sql`); then the charge, the attempt, the ledger transaction and the deliveries.
    let statement = format!(
        "WITH moved AS (
             UPDATE charges SET status = $22, amount_authorized = $23, amount_captured = $24, amount_refunded = $25,
                    processor_reference = $26, pending_operation = $27,
                    authorization_expires_at = {}, next_action_url = $29, action_expires_at = {},
                    card_brand = $31, card_bin = $32, card_last4 = $33, card_exp_month = $34, card_exp_year = $35,
                    card_fingerprint = $36, failure_code = $37, failure_message = $38, failure_processor_code = $39,
                    updated_at = now()
             WHERE id = $21 AND merchant_id = $1 AND version = $40
               AND (SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = $1 AND a.mode = $2
                        AND a.currency = $17 AND a.kind = ANY($19::text[])) = $41
               AND (SELECT count(*) FROM ({SUBSCRIBED}) s) <= cardinality($42::text[])
             RETURNING id, merchant_id, mode),
         closed AS (
             UPDATE charge_attempts SET outcome = $43, processor_reference = coalesce($44, processor_reference),
                    response_code = NULL, finished_at = now()
             WHERE id = $45 AND merchant_id = $1 AND {moved}),
         posted AS (
             INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id)
             SELECT $14, merchant_id, mode, $46, id FROM moved),
         entries AS ({} RETURNING 1),
         {},
         delivered AS (
             INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
             SELECT ($42::text[])[s.n], $4, s.endpoint, $1, $2, 'pending'
             FROM (SELECT e.id, row_number() OVER () FROM ({SUBSCRIBED}) e) AS s(endpoint, n)
             WHERE {moved}
             RETURNING 1)
         SELECT (SELECT count(*) FROM moved),
                -- Every line found its account (the accounts' count above holds it, and no account is ever
                -- deleted); were one missing, this divides by zero, which undoes the whole statement.
                1 / ((SELECT count(*) FROM entries) = cardinality($18::smallint[]) OR NOT {moved})::int,
                -- Workers waiting for due deliveries are woken at commit (`deliveries::DUE_CHANNEL`).
                (SELECT count(*) FROM (SELECT pg_notify($47, '') FROM delivered LIMIT 1) AS woken)",
        kept_or_set("authorization_expires_at", 28),
        kept_or_set("action_expires_at", 30),
        journal::entries_sql(14, moved),
        journal::audited_and_emitted(moved),
    );
    let actor = crate::domain::actor::current();
    let charge_id = after.id.to_string();
    let row = sqlx::query(sqlx::AssertSqlSafe(statement))
        // The audit row and the event.
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(event_type)
        .bind(new_id::<EventKind>().to_string())
        .bind(&charge_id)
        .bind(new_id::<AuditKind>().to_string())
        .bind(&actor)
        .bind(event_type)
        .bind("charge")
        .bind(&charge_id)
        .bind(None::<&str>)
        .bind(audit)
        .bind(serde_json::json!({ "object": object }))
        // The posting's entries.
        .bind(new_id::<LedgerTransactionKind>().to_string())
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(currency.code())
        .bind(&lines.numbers)
        .bind(&lines.kinds)
        .bind(&lines.amounts)
        // The charge.
        .bind(after.id)
        .bind(&after.status)
        .bind(after.amount_authorized)
        .bind(after.amount_captured)
        .bind(after.amount_refunded)
        .bind(&after.processor_reference)
        .bind(&after.pending_operation)
        .bind(after.authorization_expires)
        .bind(&after.next_action_url)
        .bind(after.action_expires)
        .bind(&after.card_brand)
        .bind(&after.card_bin)
        .bind(&after.card_last4)
        .bind(after.card_exp_month)
        .bind(after.card_exp_year)
        .bind(&after.card_fingerprint)
        .bind(&after.failure_code)
        .bind(&after.failure_message)
        .bind(&after.failure_processor_code)
        .bind(before.version)
        .bind(lines.accounts())
        .bind(&delivery_ids)
        // The attempt, the ledger transaction's kind, the wake-up.
        .bind(attempt.outcome)
        .bind(attempt.reference)
        .bind(attempt.id)
        .bind(posting.kind())
        .bind(DUE_CHANNEL)
        .fetch_one(conn)
        .await?;
    let moved: i64 = row.try_get(0)?;
    // The row as written is `after` at the next version (the trigger's).
    Ok((moved == 1).then(|| ChargeRecord { version: before.version + 1, ..after }))
}

/// A deadline column set to the epoch second in parameter `$n`, or kept to the microsecond when `$n` is the second
/// it already shows (the charge as read shows whole seconds, `CHARGE_COLUMNS`).
fn kept_or_set(column: &str, n: usize) -> String {
    format!(
        "CASE WHEN ${n}::bigint IS NOT DISTINCT FROM extract(epoch FROM {column})::bigint THEN {column}
              ELSE to_timestamp(${n}::bigint) END"
    )
}
