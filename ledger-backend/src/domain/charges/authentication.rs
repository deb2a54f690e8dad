//! A charge waiting for its cardholder's authentication (3-D Secure, status `requires_action`) ends in one of two
//! ways, both here:
//! - **the return**: the processor sends the shopper's browser back to the edge with the charge's single-use
//!   return reference (`paygate_core::authentication`), and the edge tells us. The browser's arrival decides
//!   nothing: we ask the processor how the authentication ended and apply its answer (authorized, maybe captured,
//!   or failed). A reference that is malformed, unknown, another charge's or already used finds nothing.
//! - **the deadline** (`give_up_due`, a job): past `action_expires_at` the processor is asked once more (the
//!   return may have been lost after the shopper finished); still waiting, it is asked to cancel, then asked again,
//!   and the charge fails `authentication_abandoned` only when the processor says the authentication cannot
//!   complete any more (cancelled, declined, expired). A processor that cannot cancel a waiting authentication
//!   (Checkout.com) or cannot be reached leaves the charge waiting until a later run hears that it lapsed.
//!
//! No claim is needed: only the processor's state is read, and `apply_authorization` decides under the charge's
//! row lock, re-checking that it still waits, so two deciders (a return and the job, two returns) apply one answer.

use super::{ChargeError, ChargeRecord, apply_authorization, connector_of};
use crate::domain::actor;
use crate::domain::tenancy::{self, Scope};
use crate::processors::{Authorization, AuthorizationLookup, AuthorizeOutcome, Flow, Processors};
use paygate_core::Mode;
use paygate_core::authentication::{is_reference, reference_hash};
use paygate_core::charge::ChargeStatus;
use paygate_core::decline::DeclineCode;
use paygate_core::id::{ChargeId, MerchantId};
use sqlx::PgPool;

/// Charges given up per run.
pub const BATCH_ROWS_MAX: i64 = 100;
/// A charge past its deadline that the processor still holds is asked again this much later.
const RETRY_AFTER_SECONDS: f64 = 60.0;

/// The browser came back with `reference`: the charge it belongs to, as the processor's answer left it (still
/// `requires_action` when the processor says the authentication is not finished); `None` when the reference finds
/// no charge waiting.
pub async fn returned(
    pool: &PgPool,
    processors: &Processors,
    reference: &str,
) -> Result<Option<ChargeRecord>, ChargeError> {
    if !is_reference(reference) {
        return Ok(None);
    }
    let found: Option<(ChargeId, MerchantId, Mode)> =
        sqlx::query_as("SELECT id, merchant_id, mode FROM charge_awaiting_action($1)")
            .bind(reference_hash(reference).to_vec())
            .fetch_optional(pool)
            .await?;
    let Some((charge_id, merchant_id, mode)) = found else { return Ok(None) };
    // From here the work is the merchant's: an API connection sees that merchant's rows only.
    let scope = Scope { merchant_id, mode };
    let work = decide(pool, processors, scope, charge_id, Deadline::NotReached);
    let charge = tenancy::scope(scope, actor::scope("system:authentication_return".into(), work)).await?;
    Ok(Some(charge))
}

/// Gives up the authentications past their deadline; returns how many charges it decided.
pub async fn give_up_due(pool: &PgPool, processors: &Processors) -> Result<usize, sqlx::Error> {
    actor::scope("system:authentication_expiry".into(), async {
        let due: Vec<(ChargeId, MerchantId, Mode)> = sqlx::query_as(
            "SELECT id, merchant_id, mode FROM charges WHERE status = 'requires_action' AND action_expires_at < now()
             ORDER BY action_expires_at LIMIT $1",
        )
        .bind(BATCH_ROWS_MAX)
        .fetch_all(pool)
        .await?;
        let mut decided = 0;
        for (id, merchant_id, mode) in due {
            let scope = Scope { merchant_id, mode };
            match tenancy::scope(scope, decide(pool, processors, scope, id, Deadline::Passed)).await {
                Ok(charge) if charge.status != ChargeStatus::RequiresAction.as_str() => decided += 1,
                // Still waiting (the processor could not cancel it, or not be reached): asked again a minute on, so
                // a batch of such charges cannot keep the newer ones from their turn.
                Ok(_) => {
                    sqlx::query(
                        "UPDATE charges SET action_expires_at = now() + make_interval(secs => $2)
                         WHERE id = $1 AND status = 'requires_action' AND merchant_id = $3",
                    )
                    .bind(id)
                    .bind(RETRY_AFTER_SECONDS)
                    .bind(scope.merchant_id)
                    .execute(pool)
                    .await?;
                }
                Err(ChargeError::Database(e)) => return Err(e),
                Err(error) => tracing::warn!(charge_id = %id, %error, "authentication expiry left for the next run"),
            }
        }
        Ok(decided)
    })
    .await
}

/// Gives up a charge's authentication now (the merchant voided it while it waited): the processor is asked to
/// cancel, then asked again, exactly as at the deadline. The charge as that left it: failed, authorized or captured
/// (approved at the last moment), or still waiting when the processor could not cancel or be reached.
pub async fn give_up(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    charge_id: ChargeId,
) -> Result<ChargeRecord, ChargeError> {
    decide(pool, processors, scope, charge_id, Deadline::Passed).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    NotReached,
    Passed,
}

/// Asks the processor how the charge's authentication ended and applies the answer.
async fn decide(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    charge_id: ChargeId,
    deadline: Deadline,
) -> Result<ChargeRecord, ChargeError> {
    let charge = super::get(pool, scope, charge_id).await?;
    if charge.status()? != ChargeStatus::RequiresAction {
        return Ok(charge);
    }
    let attempt_id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM charge_attempts WHERE charge_id = $1 AND operation = 'authorize' AND outcome = 'pending'
           AND merchant_id = $2
         ORDER BY id DESC LIMIT 1",
    )
    .bind(charge_id)
    .bind(scope.merchant_id)
    .fetch_optional(pool)
    .await?;
    let (Some(attempt_id), Some(reference)) = (attempt_id, charge.processor_reference.clone()) else {
        // The processor's webhook (or recovery) may have decided the charge since it was read: that answer stands.
        let now = super::get(pool, scope, charge_id).await?;
        if now.status()? != ChargeStatus::RequiresAction {
            return Ok(now);
        }
        // Written together when the charge entered requires_action; one missing is a row changed behind our back.
        return Err(ChargeError::Database(sqlx::Error::Protocol(format!(
            "charge {charge_id} requires action without its pending attempt or processor reference"
        ))));
    };
    let connector = connector_of(pool, processors, &charge).await?;
    let authorization = Authorization { processor_reference: &reference };
    let mut lookup = processors.authorization_state(&connector, &authorization).await;
    if deadline == Deadline::Passed
        && matches!(lookup, AuthorizationLookup::RequiresAction | AuthorizationLookup::NotFound)
    {
        // Given up: the processor is asked to cancel first, then asked again. Only its answer fails the charge, so
        // a shopper who approved at the last moment is not failed here while the processor takes their money.
        let cancel_id = format!("{attempt_id}_cancel");
        let cancelled = processors.operate(&connector, Flow::Void, &authorization, charge.amount()?, &cancel_id).await;
        tracing::info!(%charge_id, ?cancelled, "authentication given up; the processor asked to cancel it");
        lookup = processors.authorization_state(&connector, &authorization).await;
    }
    let outcome = match (lookup, deadline) {
        // A sale the processor has authorized but not yet captured (Checkout.com captures just after): the capture
        // is pending, confirmed like any other.
        (AuthorizationLookup::Approved { processor_reference, amount_captured, .. }, _) => AuthorizeOutcome::Approved {
            processor_reference,
            captured: amount_captured > 0,
            capture_pending: charge.capture && amount_captured == 0,
            card: None,
        },
        // After our cancel, whatever the processor calls it, the authentication was abandoned.
        (AuthorizationLookup::Declined { raw_code, .. }, Deadline::Passed) => {
            AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationAbandoned, raw_code, card: None }
        }
        (AuthorizationLookup::Declined { code, raw_code }, Deadline::NotReached) => {
            AuthorizeOutcome::Declined { code, raw_code, card: None }
        }
        // Never received (the processor does not know it): nothing can ever be authorized.
        (AuthorizationLookup::NotFound, Deadline::Passed) => AuthorizeOutcome::Declined {
            code: DeclineCode::AuthenticationAbandoned,
            raw_code: "not_found".into(),
            card: None,
        },
        // Not finished: the shopper may still be on the page (or came back early). Past the deadline, the processor
        // could not cancel it (Checkout.com voids nothing unauthorized): it waits until the processor's own
        // session lapses and says so, and is asked again at the next run.
        (AuthorizationLookup::RequiresAction | AuthorizationLookup::NotFound, _) => {
            if deadline == Deadline::Passed {
                tracing::warn!(%charge_id, "past its deadline, the processor still waits for the authentication");
            }
            return Ok(charge);
        }
        (AuthorizationLookup::Unknown { detail }, _) => {
            tracing::warn!(%charge_id, %detail, "processor unreachable while deciding an authentication; asked again later");
            return Ok(charge);
        }
    };
    apply_authorization(pool, scope, charge_id, &attempt_id, outcome).await
}
