//! Refunds: several partial refunds per charge, never more than was captured. A refund is reserved
//! and booked before the processor is asked, in one transaction that also moves the charge's
//! `amount_refunded` and status through `paygate_core::charge::transition` (the row is locked only for
//! that transaction, never across the network call). If the processor refuses, the refund fails and the
//! reservation is reverted, again through the state machine and the ledger. An unknown answer leaves
//! the refund pending for the recovery job.

use crate::domain::charges::{self, ChargeError, ChargeRecord};
use crate::domain::idempotency::{self, KeyUse};
use crate::domain::journal::JournalError;
use crate::domain::journal::{self, AuditEntry, Subject};
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::processors::{Authorization, Flow, OperationOutcome, Processors};
use crate::wire;
use paygate_core::charge::TransitionError;
use paygate_core::charge::{ChargeAction, transition};
use paygate_core::id::{AttemptKind, ChargeId, MerchantId, RefundId, RefundKind};
use paygate_core::ledger::LedgerEvent;
use paygate_core::{Amount, Mode};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};

const REFUND_COLUMNS: &str =
    "id, charge_id, merchant_id, mode, status, currency, amount, reason, metadata, failure_code,
    extract(epoch FROM created_at)::bigint AS created";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRecord {
    pub id: RefundId,
    pub charge_id: ChargeId,
    pub merchant_id: MerchantId,
    pub mode: Mode,
    pub status: String,
    pub currency: String,
    pub amount: i64,
    pub reason: Option<String>,
    pub metadata: Value,
    pub failure_code: Option<String>,
    pub created: i64,
}

/// Why a refund could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// The charge named in the request does not exist for this caller.
    #[error("no such charge")]
    ChargeNotFound,
    #[error("no such refund")]
    NotFound,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// The charge's state does not allow it (not captured, or more than is left).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The charge behind it could not be read or changed (a corrupt row, the ledger, the database).
    #[error(transparent)]
    Charge(ChargeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<ChargeError> for RefundError {
    fn from(error: ChargeError) -> Self {
        match error {
            ChargeError::NotFound => RefundError::ChargeNotFound,
            ChargeError::Transition(e) => RefundError::Transition(e),
            ChargeError::Database(e) => RefundError::Database(e),
            other => RefundError::Charge(other),
        }
    }
}

impl From<JournalError> for RefundError {
    fn from(error: JournalError) -> Self {
        RefundError::Charge(ChargeError::Journal(error))
    }
}

/// A validated refund request.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub charge_id: ChargeId,
    /// The whole refundable remainder when `None`.
    pub amount: Option<Amount>,
    pub reason: Option<String>,
    pub metadata: Map<String, Value>,
}

pub struct RefundContext<'a> {
    pub pool: &'a PgPool,
    pub processors: &'a Processors,
    pub scope: Scope,
    pub request_id: &'a str,
    pub key: KeyUse<'a>,
}

/// Creates the refund, or returns the one this Idempotency-Key already created (`replayed = true`).
pub async fn create(ctx: &RefundContext<'_>, new: &NewRefund) -> Result<(RefundRecord, bool), RefundError> {
    let refund_id = new_id::<RefundKind>();
    let attempt_id = new_id::<AttemptKind>().to_string();
    let mut tx = ctx.pool.begin().await?;
    if !idempotency::claim(&mut tx, ctx.scope, ctx.key, &refund_id.to_string()).await? {
        drop(tx);
        let id = idempotency::earlier(ctx.pool, ctx.scope, ctx.key).await?.ok_or(RefundError::IdempotencyKeyReused)?;
        let id = RefundId::parse(&id).map_err(|_| {
            RefundError::Database(sqlx::Error::Decode(format!("idempotency record names {id:?}").into()))
        })?;
        return get(ctx.pool, ctx.scope, id).await.map(|refund| (refund, true));
    }
    let charge = lock_charge(&mut tx, ctx.scope, new.charge_id).await?;
    // The account that authorized the charge refunds it.
    let account = charge.processor_account_id.ok_or(ChargeError::NoProcessor)?;
    let connector =
        crate::domain::processors::accounts::connector(&mut tx, &ctx.processors.secrets_keys, ctx.scope, account)
            .await
            .map_err(ChargeError::from)?;
    let amount = new.amount.unwrap_or(charge.amounts()?.refundable());
    let currency = reserve(&mut tx, &charge, amount).await?;
    sqlx::query(
        "INSERT INTO refunds (id, charge_id, merchant_id, mode, status, currency, amount, reason, metadata, idempotency_key)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
    )
    .bind(refund_id)
    .bind(charge.id)
    .bind(charge.merchant_id)
    .bind(charge.mode)
    .bind(currency.code())
    .bind(amount.minor())
    .bind(&new.reason)
    .bind(Value::Object(new.metadata.clone()))
    .bind(ctx.key.key)
    .execute(&mut *tx)
    .await?;
    let attempt = charges::AttemptStart {
        id: &attempt_id,
        charge_id: charge.id,
        scope: charge.scope(),
        operation: "refund",
        amount: amount.minor(),
        processor: connector.kind().as_str(),
        processor_account_id: Some(account),
        routing_rule: None,
        refund_id: Some(refund_id),
    };
    charges::start_attempt(&mut tx, &attempt).await?;
    let subject = Subject { charge_id: Some(charge.id), refund_id: Some(refund_id) };
    journal::post(&mut tx, ctx.scope, currency, LedgerEvent::Refunded { amount }, subject).await?;
    record(&mut tx, ctx.scope, "refund.created", refund_id, Some(ctx.request_id)).await?;
    charges::record_event(&mut tx, ctx.scope, charge.id, "charge.refunded").await?;
    tx.commit().await?;

    let reference = charge.processor_reference.clone().unwrap_or_default();
    let authorization = Authorization { processor_reference: &reference };
    let outcome =
        ctx.processors.operate(&connector, Flow::Refund, &authorization, amount, &refund_id.to_string()).await;
    settle(ctx.pool, ctx.scope, refund_id, &attempt_id, outcome).await.map(|refund| (refund, false))
}

/// Applies the processor's answer to a pending refund. Also used by the recovery job.
pub async fn settle(
    pool: &PgPool,
    scope: Scope,
    refund_id: RefundId,
    attempt_id: &str,
    outcome: OperationOutcome,
) -> Result<RefundRecord, RefundError> {
    let mut tx = pool.begin().await?;
    let attempt = |outcome: &'static str| {
        sqlx::query("UPDATE charge_attempts SET outcome = $2, finished_at = now() WHERE id = $1 AND merchant_id = $3")
            .bind(attempt_id)
            .bind(outcome)
            .bind(scope.merchant_id)
    };
    let pending: Option<(ChargeId, i64)> = sqlx::query_as(
        "SELECT charge_id, amount FROM refunds WHERE id = $1 AND status = 'pending' AND merchant_id = $2 FOR UPDATE",
    )
    .bind(refund_id)
    .bind(scope.merchant_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((charge_id, amount)) = pending else {
        // Already settled by someone else (the recovery job); that answer stands.
        return get(pool, scope, refund_id).await;
    };
    // The refund as this transaction leaves it, answered without a read after the commit: its event reads it.
    let mut latest = None;
    match outcome {
        OperationOutcome::Succeeded { reference } => {
            // The processor's id for the refund is what its reports name it by (reconciliation).
            sqlx::query(
                "UPDATE refunds SET status = 'succeeded', processor_reference = coalesce($2, processor_reference),
                        updated_at = now()
                 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(refund_id)
            .bind(reference)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            attempt("succeeded").execute(&mut *tx).await?;
            latest = Some(record(&mut tx, scope, "refund.succeeded", refund_id, None).await?);
        }
        OperationOutcome::Failed { code } => {
            let charge = lock_charge(&mut tx, scope, charge_id).await?;
            let amount = Amount::new(amount).map_err(|_| {
                RefundError::Database(sqlx::Error::Decode(format!("refund {refund_id}: stored amount {amount}").into()))
            })?;
            let (status, amounts) =
                transition(charge.status()?, charge.amounts()?, ChargeAction::RevertRefund { amount })?;
            sqlx::query(
                "UPDATE charges SET status = $2, amount_refunded = $3, updated_at = now()
                 WHERE id = $1 AND merchant_id = $4",
            )
            .bind(charge_id)
            .bind(status.as_str())
            .bind(amounts.refunded.minor())
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE refunds SET status = 'failed', failure_code = $2, updated_at = now()
                 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(refund_id)
            .bind(&code)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            let subject = Subject { charge_id: Some(charge_id), refund_id: Some(refund_id) };
            journal::post(&mut tx, scope, charge.currency()?, LedgerEvent::RefundReverted { amount }, subject).await?;
            attempt("failed").execute(&mut *tx).await?;
            latest = Some(record(&mut tx, scope, "refund.failed", refund_id, None).await?);
            charges::record_event(&mut tx, scope, charge_id, "charge.refund_reverted").await?;
        }
        OperationOutcome::Pending { reference } => {
            // Accepted by the processor, to be confirmed: the refund stays pending, its amount reserved.
            sqlx::query(
                "UPDATE charge_attempts SET outcome = 'pending', processor_reference = $2
                 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(attempt_id)
            .bind(&reference)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE refunds SET processor_reference = coalesce($2, processor_reference)
                 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(refund_id)
            .bind(reference)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
        }
        OperationOutcome::Unknown { detail } => {
            attempt("unknown").execute(&mut *tx).await?;
            tracing::warn!(%refund_id, attempt_id, %detail, "refund outcome unknown; left for recovery");
        }
    }
    let refund = match latest {
        Some(refund) => refund,
        None => {
            let select = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1 AND merchant_id = $2");
            sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(refund_id)
                .bind(scope.merchant_id)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(refund)
}

async fn lock_charge(conn: &mut PgConnection, scope: Scope, charge_id: ChargeId) -> Result<ChargeRecord, ChargeError> {
    let select = format!(
        "SELECT {} FROM charges WHERE id = $1 AND merchant_id = $2 AND mode = $3 FOR UPDATE",
        charges::CHARGE_COLUMNS
    );
    sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(charge_id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .fetch_optional(conn)
        .await?
        .ok_or(ChargeError::NotFound)
}

/// A refund made at the processor itself (its dashboard), learned from its events: the processor says it has
/// refunded `processor_total` of the charge in all. What exceeds what we know of (our refunds, pending ones
/// included) is booked as one refund, done, through the same state machine and ledger as ours; nothing when
/// the processor's total is not ahead of ours (our own refunds report that too). Returns the refund it made.
pub async fn record_processor_refunds(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    processor_total: i64,
    processor_reference: Option<&str>,
) -> Result<Option<RefundId>, RefundError> {
    let mut tx = pool.begin().await?;
    let charge = lock_charge(&mut tx, scope, charge_id).await?;
    let known = charge.amounts()?.refunded.minor();
    let Some(delta) = processor_total.checked_sub(known).filter(|d| *d > 0) else {
        return Ok(None);
    };
    let made = book_processor_refund(&mut tx, scope, &charge, delta, processor_reference).await?;
    tx.commit().await?;
    Ok(Some(made))
}

/// One refund made at the processor itself, learned from an event that names its amount and the processor's id
/// for it (Checkout.com's `payment_refunded` for a refund we never asked for): booked once per processor id,
/// through the same state machine and ledger as ours. `None` when that id is booked already.
pub async fn record_processor_refund(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    amount: i64,
    processor_reference: &str,
) -> Result<Option<RefundId>, RefundError> {
    let mut tx = pool.begin().await?;
    let charge = lock_charge(&mut tx, scope, charge_id).await?;
    // Under the charge's lock, so two deliveries of the same refund cannot both book it.
    let booked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM refunds WHERE charge_id = $1 AND processor_reference = $2 AND merchant_id = $3)",
    )
    .bind(charge_id)
    .bind(processor_reference)
    .bind(scope.merchant_id)
    .fetch_one(&mut *tx)
    .await?;
    if booked {
        return Ok(None);
    }
    let made = book_processor_refund(&mut tx, scope, &charge, amount, Some(processor_reference)).await?;
    tx.commit().await?;
    Ok(Some(made))
}

/// Books `amount` of the locked `charge` as a refund done at the processor: refund row, ledger, audit, events.
async fn book_processor_refund(
    tx: &mut PgConnection,
    scope: Scope,
    charge: &ChargeRecord,
    amount: i64,
    processor_reference: Option<&str>,
) -> Result<RefundId, RefundError> {
    let amount = Amount::new(amount)
        .map_err(|_| RefundError::Database(sqlx::Error::Decode(format!("processor refund amount {amount}").into())))?;
    // A total beyond what was captured is refused by the state machine: the books disagree, and
    // reconciliation is where that is resolved, never a silent over-refund.
    let currency = reserve(tx, charge, amount).await?;
    let refund_id = new_id::<RefundKind>();
    sqlx::query(
        "INSERT INTO refunds (id, charge_id, merchant_id, mode, status, currency, amount, metadata, processor_reference)
         VALUES ($1, $2, $3, $4, 'succeeded', $5, $6, $7, $8)",
    )
    .bind(refund_id)
    .bind(charge.id)
    .bind(charge.merchant_id)
    .bind(charge.mode)
    .bind(currency.code())
    .bind(amount.minor())
    .bind(json!({ "made_at": "processor" }))
    .bind(processor_reference)
    .execute(&mut *tx)
    .await?;
    let subject = Subject { charge_id: Some(charge.id), refund_id: Some(refund_id) };
    journal::post(&mut *tx, scope, currency, LedgerEvent::Refunded { amount }, subject).await?;
    record(&mut *tx, scope, "refund.created", refund_id, None).await?;
    record(&mut *tx, scope, "refund.succeeded", refund_id, None).await?;
    charges::record_event(&mut *tx, scope, charge.id, "charge.refunded").await?;
    Ok(refund_id)
}

/// Moves `amount` of the locked `charge` into refunded through the state machine (which refuses more than is
/// left); answers the charge's currency, which the refund is in.
async fn reserve(
    conn: &mut PgConnection,
    charge: &ChargeRecord,
    amount: Amount,
) -> Result<paygate_core::Currency, RefundError> {
    let (status, amounts) = transition(charge.status()?, charge.amounts()?, ChargeAction::Refund { amount })?;
    sqlx::query(
        "UPDATE charges SET status = $2, amount_refunded = $3, updated_at = now() WHERE id = $1 AND merchant_id = $4",
    )
    .bind(charge.id)
    .bind(status.as_str())
    .bind(amounts.refunded.minor())
    .bind(charge.merchant_id)
    .execute(conn)
    .await?;
    Ok(charge.currency()?)
}

/// The audit row and outbox event of a refund's change, carrying the refund as it now is (and answered).
async fn record(
    conn: &mut PgConnection,
    scope: Scope,
    event_type: &str,
    refund_id: RefundId,
    request_id: Option<&str>,
) -> Result<RefundRecord, RefundError> {
    let select = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1 AND merchant_id = $2");
    let refund: RefundRecord = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(refund_id)
        .bind(scope.merchant_id)
        .fetch_one(&mut *conn)
        .await?;
    let actor = crate::domain::actor::current();
    let entry = AuditEntry {
        actor: &actor,
        action: event_type,
        object_type: "refund",
        object_id: &refund_id.to_string(),
        request_id,
        data: json!({ "status": refund.status, "amount": refund.amount, "charge": refund.charge_id.to_string() }),
    };
    let object = wire::to_value(&wire::Refund::from(&refund));
    journal::audit_and_emit(conn, scope, entry, event_type, &refund_id.to_string(), object).await?;
    Ok(refund)
}

pub async fn get(pool: &PgPool, scope: Scope, id: paygate_core::id::RefundId) -> Result<RefundRecord, RefundError> {
    crate::domain::scoped::find(pool, scope, "refunds", REFUND_COLUMNS, id).await?.ok_or(RefundError::NotFound)
}

/// A page of one charge's refunds (newest first, like every list) and whether more exist.
pub async fn of_charge(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    page: &Page,
) -> Result<(Vec<RefundRecord>, bool), RefundError> {
    let (cursor, tail) = page.sql("id", 4);
    let select = format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE charge_id = $1 AND merchant_id = $2 AND mode = $3 {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(charge_id).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

/// A page of all the merchant's refunds in the scope (the dashboard's list), newest first.
pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<RefundRecord>, bool), RefundError> {
    let (cursor, tail) = page.sql("id", 3);
    let select = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND mode = $2 {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
