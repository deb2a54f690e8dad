//! Finishes processor calls whose outcome is not known: the processor answered neither yes nor no
//! (timeout, 5xx), or this process died between recording the attempt and applying the answer. Three
//! kinds are left behind, each with its committed attempt row:
//!
//! - a `pending` charge (authorize): asks the processor what it knows under the attempt id;
//! - a charge still claimed by a capture, void or expiry (`pending_operation`): asks the processor for
//!   the authorization's state and sees whether the operation took effect;
//! - a `pending` refund: looks it up by our refund id (planted in the processor's records); one the
//!   processor never received is sent again under the same idempotency key, so it is made at most once.
//!
//! Each answer is applied through the same code path as a live one, conditionally on the claim or
//! status still being there, so two workers recovering the same object apply it once.
//!
//! Attempts younger than `SETTLE_AFTER` are left alone: they may still be in flight in another
//! process, or still being processed by the processor, whose "not found" is only final once no request
//! of ours can still arrive. `SETTLE_AFTER` must therefore exceed the longest a request can take to
//! land; should a processor ever act later than that, the settlement report shows what the ledger
//! lacks, and reconciliation raises it.

use crate::domain::charges::{self, ChargeError, Operation};
use crate::domain::refunds;
use crate::domain::tenancy::Scope;
use crate::processors::{
    Authorization, AuthorizationLookup, AuthorizeOutcome, Connector, Flow, OperationLookup, OperationOutcome,
    Processors,
};
use paygate_core::charge::ChargeAction;
use paygate_core::decline::DeclineCode;
use paygate_core::id::ProcessorAccountId;
use paygate_core::id::{ChargeId, MerchantId, RefundId};
use paygate_core::{Amount, ErrorCode, Mode};
use sqlx::PgPool;
use std::time::Duration;

pub const BATCH_ROWS_MAX: i64 = 100;
/// Longer than any processor timeout, so an attempt this old is not still in flight.
pub const SETTLE_AFTER: Duration = Duration::from_secs(30);

/// What one run resolved, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub authorizations: usize,
    pub operations: usize,
    pub refunds: usize,
}

impl Recovered {
    pub fn total(&self) -> usize {
        self.authorizations + self.operations + self.refunds
    }
}

/// Resolves what it can of each kind.
pub async fn run_once(
    pool: &PgPool,
    processors: &Processors,
    settle_after: Duration,
) -> Result<Recovered, sqlx::Error> {
    crate::domain::actor::scope("system:recovery".into(), async {
        Ok(Recovered {
            authorizations: authorizations(pool, processors, settle_after).await?,
            operations: operations(pool, processors, settle_after).await?,
            refunds: pending_refunds(pool, processors, settle_after).await?,
        })
    })
    .await
}

/// Charges still `pending` at the processor. A charge may have several open authorize attempts (routing's
/// failover: the vault may have sent any of them), so each account is asked about its own attempt: an
/// approval or a decline anywhere decides; "never received" decides only when every account says so.
async fn authorizations(pool: &PgPool, processors: &Processors, settle_after: Duration) -> Result<usize, sqlx::Error> {
    type Row = (ChargeId, MerchantId, Mode, Vec<String>, Vec<Option<String>>);
    let stuck: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.merchant_id, c.mode, array_agg(a.id ORDER BY a.id), array_agg(a.processor_account_id ORDER BY a.id)
         FROM charges c JOIN charge_attempts a ON a.charge_id = c.id
         WHERE c.status = 'pending' AND a.operation = 'authorize' AND a.outcome IN ('started', 'unknown')
         GROUP BY c.id, c.merchant_id, c.mode
         HAVING max(a.created_at) < now() - make_interval(secs => $1)
         ORDER BY c.id LIMIT $2",
    )
    .bind(settle_after.as_secs_f64())
    .bind(BATCH_ROWS_MAX)
    .fetch_all(pool)
    .await?;
    let mut resolved = 0;
    'charges: for (charge_id, merchant_id, mode, attempts, accounts) in stuck {
        let scope = Scope { merchant_id, mode };
        let mut decided = None;
        for (attempt_id, account) in attempts.iter().zip(accounts) {
            let account = account.and_then(|a| ProcessorAccountId::parse(&a).ok());
            let Some(connector) = connector_for(pool, processors, scope, account, &charge_id.to_string()).await? else {
                continue 'charges;
            };
            match processors.find_authorization(&connector, attempt_id, &charge_id.to_string()).await {
                AuthorizationLookup::Approved { processor_reference, amount_captured, .. } => {
                    let outcome = AuthorizeOutcome::Approved {
                        processor_reference,
                        captured: amount_captured > 0,
                        capture_pending: false,
                        card: None,
                    };
                    decided = Some((attempt_id.clone(), outcome));
                    break;
                }
                AuthorizationLookup::Declined { code, raw_code } => {
                    decided = Some((attempt_id.clone(), AuthorizeOutcome::Declined { code, raw_code, card: None }));
                    break;
                }
                // The processor wants the cardholder authenticated, but the answer that said where never reached us,
                // so nobody was sent there. Nothing is decided while the processor could still authorize it: the
                // charge fails at a later run, once the processor says it lapsed (Stripe and Checkout.com expire
                // an unanswered authentication; the sandbox's waits until its authorization is voided).
                AuthorizationLookup::RequiresAction => {
                    tracing::warn!(%charge_id, "an authentication nobody was sent to; waiting for the processor to end it");
                    continue 'charges;
                }
                AuthorizationLookup::NotFound => {}
                AuthorizationLookup::Unknown { detail } => {
                    tracing::warn!(%charge_id, %detail, "processor still unreachable; retrying next run");
                    continue 'charges;
                }
            }
        }
        // No account ever received it: nothing was authorized, so the charge fails.
        let (attempt_id, outcome) = decided.unwrap_or_else(|| {
            let outcome = AuthorizeOutcome::Declined {
                code: DeclineCode::ProcessingError,
                raw_code: "not_found".into(),
                card: None,
            };
            (attempts[0].clone(), outcome)
        });
        match charges::apply_authorization(pool, scope, charge_id, &attempt_id, outcome).await {
            Ok(_) => resolved += 1,
            Err(ChargeError::Database(e)) => return Err(e),
            Err(error) => tracing::warn!(%charge_id, %error, "recovery left for the next run"),
        }
    }
    Ok(resolved)
}

/// Charges claimed by a capture, void or expiry whose answer was lost.
async fn operations(pool: &PgPool, processors: &Processors, settle_after: Duration) -> Result<usize, sqlx::Error> {
    type Row = (ChargeId, MerchantId, Mode, String, Option<String>, String, i64, Option<ProcessorAccountId>, String);
    let stuck: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.merchant_id, c.mode, c.pending_operation, c.processor_reference, a.id, a.amount,
                c.processor_account_id, a.outcome
         FROM charges c
         JOIN LATERAL (
             SELECT id, amount, created_at, outcome FROM charge_attempts
             WHERE charge_id = c.id AND operation IN ('capture', 'void')
               AND outcome IN ('started', 'unknown', 'pending')
             ORDER BY id DESC LIMIT 1
         ) a ON true
         WHERE c.pending_operation IS NOT NULL AND a.created_at < now() - make_interval(secs => $1)
         ORDER BY c.id LIMIT $2",
    )
    .bind(settle_after.as_secs_f64())
    .bind(BATCH_ROWS_MAX)
    .fetch_all(pool)
    .await?;
    let mut resolved = 0;
    for (charge_id, merchant_id, mode, marker, reference, attempt_id, amount, account, attempt_outcome) in stuck {
        let scope = Scope { merchant_id, mode };
        let Some((operation, action)) = Operation::claimed(&marker, amount) else {
            tracing::error!(%charge_id, %marker, amount, "claimed charge with an unexpected attempt; left alone");
            continue;
        };
        let Some(connector) = connector_for(pool, processors, scope, account, &charge_id.to_string()).await? else {
            continue;
        };
        let authorization = Authorization { processor_reference: reference.as_deref().unwrap_or_default() };
        let flow = if matches!(action, ChargeAction::Capture { .. }) { Flow::Capture } else { Flow::Void };
        // Where the processor keeps actions (Checkout.com), ours is looked up by our attempt id; elsewhere the
        // authorization's state says whether the operation took effect.
        let outcome = match processors.find_operation(&connector, flow, &authorization, &attempt_id).await {
            Some(found) => match found {
                OperationLookup::Succeeded { reference } => OperationOutcome::Succeeded { reference: Some(reference) },
                OperationLookup::Failed { code } => OperationOutcome::Failed { code },
                // Accepted and not processed yet: ask again next run.
                OperationLookup::NotFound | OperationLookup::Pending if attempt_outcome == "pending" => continue,
                // Never received (older than the settle time and not among the actions): the claim goes.
                OperationLookup::NotFound => {
                    OperationOutcome::Failed { code: ErrorCode::ProcessingError.as_str().into() }
                }
                OperationLookup::Pending => continue,
                OperationLookup::Unknown { detail } => {
                    tracing::warn!(%charge_id, %detail, "processor still unreachable; retrying next run");
                    continue;
                }
            },
            None => match (processors.authorization_state(&connector, &authorization).await, action) {
                (AuthorizationLookup::Approved { amount_captured, .. }, ChargeAction::Capture { amount })
                    if amount_captured == amount.minor() =>
                {
                    OperationOutcome::Succeeded { reference: None }
                }
                (
                    AuthorizationLookup::Approved { amount_captured: 0, voided: true, .. },
                    ChargeAction::Void | ChargeAction::Expire,
                ) => OperationOutcome::Succeeded { reference: None },
                // The processor holds the authorization untouched: our call never took effect, so the
                // claim is released and the charge is as it was (capturable, voidable, or expirable again).
                (AuthorizationLookup::Approved { amount_captured: 0, voided: false, .. }, _) => {
                    OperationOutcome::Failed { code: ErrorCode::ProcessingError.as_str().into() }
                }
                (AuthorizationLookup::Unknown { detail }, _) => {
                    tracing::warn!(%charge_id, %detail, "processor still unreachable; retrying next run");
                    continue;
                }
                (other, _) => {
                    // The processor's books disagree with ours (another amount captured, voided when we
                    // captured, or no such authorization): no automatic answer is safe. Reconciliation and
                    // an operator decide; the claim stays so nothing else moves the charge meanwhile.
                    tracing::error!(%charge_id, ?other, "processor state contradicts the claimed operation; left for an operator");
                    continue;
                }
            },
        };
        match charges::apply_operation(pool, scope, charge_id, operation, action, &attempt_id, outcome).await {
            // A released claim comes back as the processor's refusal: resolved all the same.
            Ok(_) | Err(ChargeError::ProcessorRefused(_)) => resolved += 1,
            // Someone else applied it meanwhile.
            Err(ChargeError::OperationInFlight) => {}
            Err(ChargeError::Database(e)) => return Err(e),
            Err(error) => tracing::warn!(%charge_id, %error, "recovery left for the next run"),
        }
    }
    Ok(resolved)
}

/// Refunds still `pending` at the processor.
async fn pending_refunds(pool: &PgPool, processors: &Processors, settle_after: Duration) -> Result<usize, sqlx::Error> {
    type Row = (RefundId, MerchantId, Mode, i64, Option<String>, String, Option<ProcessorAccountId>);
    let stuck: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.merchant_id, r.mode, r.amount, c.processor_reference, a.id, c.processor_account_id
         FROM refunds r
         JOIN charges c ON c.id = r.charge_id
         JOIN charge_attempts a ON a.refund_id = r.id AND a.outcome IN ('started', 'unknown', 'pending')
         WHERE r.status = 'pending' AND a.created_at < now() - make_interval(secs => $1)
         ORDER BY r.id LIMIT $2",
    )
    .bind(settle_after.as_secs_f64())
    .bind(BATCH_ROWS_MAX)
    .fetch_all(pool)
    .await?;
    let mut resolved = 0;
    for (refund_id, merchant_id, mode, amount, reference, attempt_id, account) in stuck {
        let Ok(amount) = Amount::positive(amount) else {
            tracing::error!(%refund_id, amount, "refund with a stored amount that is not positive; left for an operator");
            continue;
        };
        let scope = Scope { merchant_id, mode };
        let Some(connector) = connector_for(pool, processors, scope, account, &refund_id.to_string()).await? else {
            continue;
        };
        let authorization = Authorization { processor_reference: reference.as_deref().unwrap_or_default() };
        let found = processors.find_operation(&connector, Flow::Refund, &authorization, &refund_id.to_string()).await;
        let outcome = match found.unwrap_or(OperationLookup::NotFound) {
            OperationLookup::Succeeded { reference } => OperationOutcome::Succeeded { reference: Some(reference) },
            OperationLookup::Failed { code } => OperationOutcome::Failed { code },
            // Never received: send it now (the same idempotency key, so it cannot be made twice).
            OperationLookup::NotFound => {
                processors.operate(&connector, Flow::Refund, &authorization, amount, &refund_id.to_string()).await
            }
            OperationLookup::Pending => {
                tracing::info!(%refund_id, "refund still pending at the processor; asking again next run");
                continue;
            }
            OperationLookup::Unknown { detail } => OperationOutcome::Unknown { detail },
        };
        match &outcome {
            OperationOutcome::Unknown { detail } => {
                tracing::warn!(%refund_id, %detail, "processor still unreachable; retrying next run");
                continue;
            }
            // Sent again and accepted again: still to be processed.
            OperationOutcome::Pending { .. } => continue,
            _ => {}
        }
        match refunds::settle(pool, scope, refund_id, &attempt_id, outcome).await {
            Ok(_) => resolved += 1,
            Err(refunds::RefundError::Database(e)) => return Err(e),
            Err(error) => tracing::warn!(%refund_id, %error, "recovery left for the next run"),
        }
    }
    Ok(resolved)
}

/// The connector of the account the charge went to, or `None` (logged) when it cannot be opened: that
/// needs an operator (a missing account, credentials sealed under a key no longer configured).
async fn connector_for(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    account: Option<ProcessorAccountId>,
    object: &str,
) -> Result<Option<Connector>, sqlx::Error> {
    let Some(account) = account else {
        tracing::error!(object, "no processor account recorded; left for an operator");
        return Ok(None);
    };
    let mut conn = pool.acquire().await?;
    match crate::domain::processors::accounts::connector(&mut conn, &processors.secrets_keys, scope, account).await {
        Ok(connector) => Ok(Some(connector)),
        Err(crate::domain::processors::accounts::AccountError::Database(e)) => Err(e),
        Err(error) => {
            tracing::error!(object, %error, "processor account unusable; left for an operator");
            Ok(None)
        }
    }
}
