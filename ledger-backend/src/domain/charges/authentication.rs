//! A charge waiting for its cardholder's authentication (3-D Secure, status `requires_action`) ends in one of two
//! ways, both here:
//! - **the return**: the processor sends the shopper's browser back to the edge with the charge's single-use
//!   return reference (`paygate_core::authentication`), and the edge tells us. The browser's arrival decides
//!   nothing: we ask the processor how the authentication ended and apply its answer (authorized, maybe captured,
//!   or failed). A reference that is malformed, unknown, another charge's or already used finds nothing.
//! - **the deadline** (`give_up_due`, a job): past `action_expires_at` the processor is asked once more (the
//!   return may have been lost after the shopper finished); still waiting, or unreachable twice, the charge fails
//!   `authentication_abandoned`, and the processor is asked to cancel what it holds.
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
                Ok(_) => {}
                Err(ChargeError::Database(e)) => return Err(e),
                Err(error) => tracing::warn!(charge_id = %id, %error, "authentication expiry left for the next run"),
            }
        }
        Ok(decided)
    })
    .await
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
         ORDER BY id DESC LIMIT 1",
    )
    .bind(charge_id)
    .fetch_optional(pool)
    .await?;
    let (Some(attempt_id), Some(reference)) = (attempt_id, charge.processor_reference.clone()) else {
        // Written together when the charge entered requires_action; one missing is a row changed behind our back.
        return Err(ChargeError::Database(sqlx::Error::Protocol(format!(
            "charge {charge_id} requires action without its pending attempt or processor reference"
        ))));
    };
    let connector = connector_of(pool, processors, &charge).await?;
    let authorization = Authorization { processor_reference: &reference };
    let abandoned = AuthorizeOutcome::Declined {
        code: DeclineCode::AuthenticationAbandoned,
        raw_code: "requires_action".into(),
        card: None,
    };
    let outcome = match (processors.authorization_state(&connector, &authorization).await, deadline) {
        // A sale the processor has authorized but not yet captured (Checkout.com captures just after): the capture
        // is pending, confirmed like any other.
        (AuthorizationLookup::Approved { processor_reference, amount_captured, .. }, _) => AuthorizeOutcome::Approved {
            processor_reference,
            captured: amount_captured > 0,
            capture_pending: charge.capture && amount_captured == 0,
            card: None,
        },
        (AuthorizationLookup::Declined { code, raw_code }, _) => {
            AuthorizeOutcome::Declined { code, raw_code, card: None }
        }
        // Not finished: the shopper may still be on the page (or came back early). Only the deadline ends it.
        (AuthorizationLookup::RequiresAction, Deadline::NotReached) => return Ok(charge),
        (AuthorizationLookup::RequiresAction | AuthorizationLookup::NotFound, Deadline::Passed) => abandoned,
        (AuthorizationLookup::NotFound, Deadline::NotReached) => return Ok(charge),
        (AuthorizationLookup::Unknown { detail }, _) => {
            tracing::warn!(%charge_id, %detail, "processor unreachable while deciding an authentication; asked again later");
            return Ok(charge);
        }
    };
    let gave_up = matches!(&outcome, AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationAbandoned, .. });
    let decided = apply_authorization(pool, scope, charge_id, &attempt_id, outcome).await?;
    if gave_up && decided.status == ChargeStatus::Failed.as_str() {
        // So that an authentication finished after all cannot hold the shopper's money for a failed charge. Best
        // effort: a processor that cannot be reached lets its own authentication session lapse.
        let cancel_id = format!("{attempt_id}_cancel");
        let outcome = processors.operate(&connector, Flow::Void, &authorization, decided.amount()?, &cancel_id).await;
        tracing::info!(%charge_id, ?outcome, "authentication given up; the processor asked to cancel it");
    }
    Ok(decided)
}
