//! One charge's story for its dashboard page, merged in time order from everything that records it: the
//! processor calls (attempts: operation, amount, outcome, the processor's code; never a request body), the
//! processor's own events about its payment, our events with every delivery attempt of each, the ledger's
//! transactions, and the audit rows. All of it read in the charge's scope.

use crate::domain::tenancy::Scope;
use paygate_core::id::ChargeId;
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Item {
    /// Unix milliseconds (several steps of one request happen within a second; their order matters).
    pub at: i64,
    /// `processor`, `processor_event`, `event`, `delivery`, `ledger`, `audit`.
    pub kind: String,
    pub title: String,
    pub detail: String,
}

/// The timeline of `charge` (and its refunds), oldest first.
pub async fn of_charge(pool: &PgPool, scope: Scope, charge: ChargeId) -> Result<Vec<Item>, sqlx::Error> {
    sqlx::query_as(
        "WITH subjects AS (
             SELECT $1::text AS id
             UNION ALL SELECT id FROM refunds WHERE charge_id = $1 AND merchant_id = $2 AND mode = $3),
         reference AS (SELECT processor_reference FROM charges WHERE id = $1 AND merchant_id = $2 AND mode = $3)
         SELECT at, kind, title, detail FROM (
             SELECT (extract(epoch FROM a.created_at) * 1000)::bigint AS at, 'processor' AS kind,
                    a.operation || ' ' || a.amount || ': ' || a.outcome AS title,
                    concat_ws(' · ', a.processor, a.response_code, a.processor_reference) AS detail, a.id AS tiebreak
             FROM charge_attempts a WHERE a.charge_id = $1 AND a.merchant_id = $2 AND a.mode = $3
             UNION ALL
             SELECT (extract(epoch FROM p.received_at) * 1000)::bigint, 'processor_event', p.event_type,
                    concat_ws(' · ', p.outcome, p.detail), p.id::text
             FROM processor_events p
             WHERE p.merchant_id = $2 AND p.mode = $3 AND p.payment_reference = (SELECT processor_reference FROM reference)
             UNION ALL
             SELECT (extract(epoch FROM e.created_at) * 1000)::bigint, 'event', e.type, e.id, e.id
             FROM events e WHERE e.object_id IN (SELECT id FROM subjects) AND e.merchant_id = $2 AND e.mode = $3
             UNION ALL
             SELECT (extract(epoch FROM w.attempted_at) * 1000)::bigint, 'delivery',
                    e.type || ' → ' || coalesce('HTTP ' || w.status_code, w.error, 'no answer'),
                    concat_ws(' · ', d.endpoint_id, 'attempt ' || w.attempt, w.latency_ms || ' ms'), d.id || w.attempt
             FROM events e
             JOIN webhook_deliveries d ON d.event_id = e.id AND d.merchant_id = e.merchant_id AND d.mode = e.mode
             JOIN webhook_attempts w ON w.delivery_id = d.id AND w.merchant_id = d.merchant_id
             WHERE e.object_id IN (SELECT id FROM subjects) AND e.merchant_id = $2 AND e.mode = $3
             UNION ALL
             SELECT (extract(epoch FROM t.created_at) * 1000)::bigint, 'ledger', t.kind, t.id, t.id
             FROM ledger_transactions t WHERE t.charge_id = $1 AND t.merchant_id = $2 AND t.mode = $3
             UNION ALL
             SELECT (extract(epoch FROM l.created_at) * 1000)::bigint, 'audit', l.action, l.actor, l.id
             FROM audit_log l WHERE l.object_id IN (SELECT id FROM subjects) AND l.merchant_id = $2 AND l.mode = $3
         ) items ORDER BY at, tiebreak
         LIMIT 500",
    )
    .bind(charge.to_string())
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_all(pool)
    .await
}

/// One line of a ledger transaction of the charge.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerLine {
    pub transaction_id: String,
    pub transaction_kind: String,
    pub account: String,
    pub currency: String,
    /// Debits positive, credits negative.
    pub amount: i64,
}

/// The ledger lines the charge (and its refunds) posted, oldest first.
pub async fn ledger_of_charge(pool: &PgPool, scope: Scope, charge: ChargeId) -> Result<Vec<LedgerLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id AS transaction_id, t.kind AS transaction_kind, a.kind AS account, e.currency, e.amount
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id AND e.merchant_id = t.merchant_id
         JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = e.merchant_id
         WHERE t.charge_id = $1 AND t.merchant_id = $2 AND t.mode = $3
         ORDER BY t.id, e.line
         LIMIT 500",
    )
    .bind(charge.to_string())
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_all(pool)
    .await
}
