//! Refunds: several partial refunds per charge, never more than was captured. A refund is reserved
//! and booked before the processor is asked, in one transaction that also moves the charge's
//! `amount_refunded` and status through `paygate_core::charge::transition` (the row is locked only for
//! that transaction, never across the network call). If the processor refuses, the refund fails and the
//! reservation is reverted, again through the state machine and the ledger. An unknown answer leaves
//! the refund pending for the recovery job.

use crate::domain::charges::change::Effects;
use crate::domain::charges::{self, ChargeError, ChargeRecord};
use crate::domain::idempotency::{self, KeyUse};
use crate::domain::journal::JournalError;
use crate::domain::journal::{self, AuditEntry, Subject};
use crate::domain::page::Page;
use crate::domain::processors::accounts::{self, AccountError};
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::processors::{Authorization, Connector, Flow, OperationOutcome, Processors};
use crate::wire;
use paygate_core::charge::TransitionError;
use paygate_core::charge::{ChargeAction, transition};
use paygate_core::id::{AttemptKind, ChargeId, MerchantId, RefundId, RefundKind};
use paygate_core::ledger::LedgerEvent;
use paygate_core::{Amount, Mode};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool, Row};

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
    let reserved = match reserve_in_one_statement(ctx, new, refund_id, &attempt_id).await {
        Ok(Reservation::Reserved(reserved)) => *reserved,
        Ok(Reservation::KeyHeld) => return replay(ctx).await,
        Ok(Reservation::NotWritten) => match reserve_locked(ctx, new, refund_id, &attempt_id).await? {
            Some(reserved) => reserved,
            None => return replay(ctx).await,
        },
        Err(error) => {
            // Decided on the charge as read, before the key was claimed: a retry of a request that made its refund
            // (which may have left nothing to refund) answers with that refund.
            if idempotency::held(ctx.pool, ctx.scope, ctx.key).await? {
                return replay(ctx).await;
            }
            return Err(error);
        }
    };
    let Reserved { charge, connector, amount, refund } = reserved;
    let reference = charge.processor_reference.clone().unwrap_or_default();
    let authorization = Authorization { processor_reference: &reference };
    let outcome =
        ctx.processors.operate(&connector, Flow::Refund, &authorization, amount, &refund_id.to_string()).await;
    if let (Some(refund), OperationOutcome::Succeeded { reference }) = (refund, &outcome)
        && let Some(settled) = succeed_in_one_statement(ctx, refund, &attempt_id, reference.as_deref()).await?
    {
        return Ok((settled, false));
    }
    settle(ctx.pool, ctx.scope, refund_id, &attempt_id, outcome).await.map(|refund| (refund, false))
}

/// The processor's success applied to a refund this request reserved, in one statement (`Effects`): the refund
/// succeeded, its attempt closed, its audit row and its event carrying it. It writes only if the refund is still
/// `pending`: nothing else changes a pending refund's columns, so the refund it writes and announces is `refund`
/// as it was reserved, succeeded. `None` when it wrote nothing (recovery got there first, or more endpoints listen
/// than it has ids for): the transaction then settles it as it is.
async fn succeed_in_one_statement(
    ctx: &RefundContext<'_>,
    mut refund: RefundRecord,
    attempt_id: &str,
    reference: Option<&str>,
) -> Result<Option<RefundRecord>, RefundError> {
    refund.status = "succeeded".to_owned();
    let currency = paygate_core::Currency::parse(&refund.currency)
        .map_err(|_| RefundError::Database(sqlx::Error::Decode(format!("refund {}: currency", refund.id).into())))?;
    let mut effects = Effects::new(ctx.scope, currency, refund.charge_id, Some(refund.id));
    let (object, audited) = event_parts(&refund);
    effects.announce("refund.succeeded", "refund", refund.id.to_string(), object, audited, None);
    let settled = "EXISTS (SELECT 1 FROM settled)";
    // $1..$27: what accompanies it (`Effects`, which names the refund `$27`); then the attempt and the reference.
    let statement = format!(
        "WITH settled AS (
             UPDATE refunds SET status = 'succeeded', processor_reference = coalesce($29, processor_reference),
                    updated_at = now()
             WHERE id = $27 AND merchant_id = $1 AND status = 'pending' AND {}
             RETURNING id),
         closed AS (
             UPDATE charge_attempts SET outcome = 'succeeded', finished_at = now()
             WHERE id = $28 AND merchant_id = $1 AND {settled}),
         {}
         SELECT (SELECT count(*) FROM settled), {}",
        Effects::fit(),
        Effects::ctes(settled),
        Effects::checks(settled),
    );
    let mut conn = ctx.pool.acquire().await?;
    let row = effects
        .bind(sqlx::query(sqlx::AssertSqlSafe(statement)))
        .bind(attempt_id)
        .bind(reference)
        .fetch_one(&mut *conn)
        .await?;
    let settled: i64 = row.try_get(0)?;
    Ok((settled == 1).then_some(refund))
}

/// A refund reserved and committed, before the processor is asked: the charge as read, the connector of the
/// account that authorized it (which refunds it), the amount, and the refund as written when the one statement
/// wrote it.
struct Reserved {
    charge: ChargeRecord,
    connector: Connector,
    amount: Amount,
    refund: Option<RefundRecord>,
}

enum Reservation {
    Reserved(Box<Reserved>),
    /// An earlier request holds the Idempotency-Key: nothing was written.
    KeyHeld,
    /// The charge changed since it was read, a ledger account the posting needs is not made yet, or more
    /// endpoints listen than the statement has ids for: nothing was written, and the transaction decides.
    NotWritten,
}

/// The charge read with its account's sealed credentials, the refund decided on it, then all of the reservation
/// in one statement that is its own transaction (`charges::change::Effects`): the Idempotency-Key's claim, the
/// charge's `amount_refunded` and status, the `pending` refund, its attempt, the posting, and the audit rows and
/// events of the refund and of the charge. The statement first locks the charge if it is still at the version
/// read (so nothing can change it before the rest is written), then claims the key, and writes the rest only if
/// it did.
async fn reserve_in_one_statement(
    ctx: &RefundContext<'_>,
    new: &NewRefund,
    refund_id: RefundId,
    attempt_id: &str,
) -> Result<Reservation, RefundError> {
    let mut conn = ctx.pool.acquire().await?;
    let select = format!(
        "SELECT {}, {}, NULL::bigint[] AS pricing FROM charges WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        charges::CHARGE_COLUMNS,
        charges::ACCOUNT_OF_CHARGE
    );
    let charges::ChargeWithAccount { charge, account_connector, account_credentials, .. } =
        sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(new.charge_id)
            .bind(ctx.scope.merchant_id)
            .bind(ctx.scope.mode)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(RefundError::ChargeNotFound)?;
    let amount = new.amount.unwrap_or(charge.amounts()?.refundable());
    let (status, amounts) = transition(charge.status()?, charge.amounts()?, ChargeAction::Refund { amount })?;
    let account = charge.processor_account_id.ok_or(ChargeError::NoProcessor)?;
    let name = account_connector.ok_or(ChargeError::from(AccountError::NotFound))?;
    let connector =
        accounts::connector_from(&ctx.processors.secrets_keys, ctx.scope, account, name, account_credentials)
            .map_err(ChargeError::from)?;
    let currency = charge.currency()?;
    let mut after = charge.clone();
    after.status = status.as_str().to_owned();
    after.amount_refunded = amounts.refunded.minor();
    // The refund as the statement writes it; its `created` is this clock's, like its id's time.
    let refund = RefundRecord {
        id: refund_id,
        charge_id: charge.id,
        merchant_id: charge.merchant_id,
        mode: charge.mode,
        status: "pending".to_owned(),
        currency: currency.code().to_owned(),
        amount: amount.minor(),
        reason: new.reason.clone(),
        metadata: Value::Object(new.metadata.clone()),
        failure_code: None,
        created: crate::ids::unix_seconds_now(),
    };
    let mut effects = Effects::new(ctx.scope, currency, charge.id, Some(refund_id));
    effects.post(LedgerEvent::Refunded { amount })?;
    let (object, audited) = event_parts(&refund);
    effects.announce("refund.created", "refund", refund_id.to_string(), object, audited, Some(ctx.request_id));
    let (object, audited) = charges::event_parts(&after);
    effects.announce("charge.refunded", "charge", charge.id.to_string(), object, audited, None);
    let moved = "EXISTS (SELECT 1 FROM moved)";
    // $1..$27: what accompanies it (`Effects`); then the charge, the refund, its attempt and the key's claim.
    let statement = format!(
        "WITH held AS (
             SELECT id FROM charges WHERE id = $28 AND merchant_id = $1 AND version = $29 AND {} FOR UPDATE),
         claimed AS ({} RETURNING object_id),
         moved AS (
             UPDATE charges SET status = $30, amount_refunded = $31, updated_at = now()
             WHERE id = $28 AND merchant_id = $1 AND EXISTS (SELECT 1 FROM claimed)
             RETURNING id),
         refund AS (
             INSERT INTO refunds (id, charge_id, merchant_id, mode, status, currency, amount, reason, metadata,
                                  idempotency_key, created_at)
             SELECT $27, $28, $1, $2, 'pending', $17, $32, $33, $34, $35, to_timestamp($36::bigint) WHERE {moved}),
         attempt AS (
             INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
                                          refund_id, processor_account_id)
             SELECT $37, $28, $1, $2, 'refund', $32, 'started', $38, $27, $39 WHERE {moved}),
         {}
         SELECT (SELECT count(*) FROM held), (SELECT count(*) FROM claimed), (SELECT count(*) FROM moved), {}",
        Effects::fit(),
        idempotency::claim_sql(40, "EXISTS (SELECT 1 FROM held)"),
        Effects::ctes(moved),
        Effects::checks(moved),
    );
    let row = effects
        .bind(sqlx::query(sqlx::AssertSqlSafe(statement)))
        .bind(charge.id)
        .bind(charge.version)
        .bind(status.as_str())
        .bind(amounts.refunded.minor())
        .bind(amount.minor())
        .bind(&new.reason)
        .bind(Value::Object(new.metadata.clone()))
        .bind(ctx.key.key)
        .bind(refund.created)
        .bind(attempt_id)
        .bind(connector.kind().as_str())
        .bind(account)
        // The key's claim (`idempotency::claim_sql`).
        .bind(ctx.scope.merchant_id)
        .bind(ctx.scope.mode)
        .bind(ctx.key.key)
        .bind(ctx.key.fingerprint)
        .bind(ctx.key.object_type)
        .bind(refund_id.to_string())
        .bind(idempotency::IDEMPOTENCY_TTL_DAYS)
        .fetch_one(&mut *conn)
        .await?;
    let (held, claimed, moved): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    Ok(match (held, claimed, moved) {
        (_, _, 1) => Reservation::Reserved(Box::new(Reserved { charge, connector, amount, refund: Some(refund) })),
        (1, 0, _) => Reservation::KeyHeld,
        _ => Reservation::NotWritten,
    })
}

/// The reservation as one locked transaction: what the one statement does not take (`Reservation::NotWritten`),
/// decided on the charge as it is now. `None`: an earlier request holds the key.
async fn reserve_locked(
    ctx: &RefundContext<'_>,
    new: &NewRefund,
    refund_id: RefundId,
    attempt_id: &str,
) -> Result<Option<Reserved>, RefundError> {
    let mut tx = ctx.pool.begin().await?;
    if !idempotency::claim(&mut tx, ctx.scope, ctx.key, &refund_id.to_string()).await? {
        return Ok(None);
    }
    let charge = lock_charge(&mut tx, ctx.scope, new.charge_id).await?;
    // The account that authorized the charge refunds it.
    let account = charge.processor_account_id.ok_or(ChargeError::NoProcessor)?;
    let connector = accounts::connector(&mut tx, &ctx.processors.secrets_keys, ctx.scope, account)
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
        id: attempt_id,
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
    Ok(Some(Reserved { charge, connector, amount, refund: None }))
}

/// The refund an earlier request with this key created, if the requests are the same.
async fn replay(ctx: &RefundContext<'_>) -> Result<(RefundRecord, bool), RefundError> {
    let id = idempotency::earlier(ctx.pool, ctx.scope, ctx.key).await?.ok_or(RefundError::IdempotencyKeyReused)?;
    let id = RefundId::parse(&id)
        .map_err(|_| RefundError::Database(sqlx::Error::Decode(format!("idempotency record names {id:?}").into())))?;
    get(ctx.pool, ctx.scope, id).await.map(|refund| (refund, true))
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
    let (object, data) = event_parts(&refund);
    let entry = AuditEntry {
        actor: &actor,
        action: event_type,
        object_type: "refund",
        object_id: &refund_id.to_string(),
        request_id,
        data,
    };
    journal::audit_and_emit(conn, scope, entry, event_type, &refund_id.to_string(), object).await?;
    Ok(refund)
}

/// What a refund's event carries (the refund as the API shows it) and what its audit row keeps.
fn event_parts(refund: &RefundRecord) -> (Value, Value) {
    let object = wire::to_value(&wire::Refund::from(refund));
    (object, json!({ "status": refund.status, "amount": refund.amount, "charge": refund.charge_id.to_string() }))
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
