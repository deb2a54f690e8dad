//! Capture and void of an authorized charge. The operation first claims the charge with a committed
//! `pending_operation` marker and attempt row (racing captures, voids and the expiry job see the claim
//! and step back), then asks the processor, then applies the outcome conditionally on its own claim.
//! An unknown answer keeps the claim for the recovery job: the processor may have acted.

use super::ChargeError;
use super::change::{AttemptClose, Change, Step};
use super::create::{record_event, record_event_of};
use super::record::{CHARGE_COLUMNS, ChargeRecord, ChargeWithPricing};
use crate::domain::journal::{self, Subject};
use crate::domain::pricing;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::processors::{Authorization, Connector, Flow, OperationOutcome, Processors};
use paygate_core::Amount;
use paygate_core::charge::{ChargeAction, ChargeAmounts, ChargeStatus, transition};
use paygate_core::id::{AttemptKind, ChargeId};
use paygate_core::ledger::LedgerEvent;
use sqlx::PgPool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Capture this much (the whole authorization when `None`); the rest is released.
    Capture {
        amount: Option<Amount>,
    },
    Void,
    /// The expiry job's void of an authorization left uncaptured too long.
    Expire,
}

impl Operation {
    /// Its claim marker in `charges.pending_operation`, which also tells recovery what was started.
    pub fn marker(self) -> &'static str {
        match self {
            Operation::Capture { .. } => "capture",
            Operation::Void => "void",
            Operation::Expire => "expire",
        }
    }

    /// The operation a claim marker and its attempt's amount stand for, with its state-machine action (how
    /// recovery and processor events finish a claimed operation); `None` for a marker we never write.
    pub fn claimed(marker: &str, amount: i64) -> Option<(Operation, ChargeAction)> {
        match (marker, Amount::positive(amount)) {
            ("capture", Ok(amount)) => {
                Some((Operation::Capture { amount: Some(amount) }, ChargeAction::Capture { amount }))
            }
            ("void", _) => Some((Operation::Void, ChargeAction::Void)),
            ("expire", _) => Some((Operation::Expire, ChargeAction::Expire)),
            _ => None,
        }
    }

    /// The processor call it makes (an expiry is a void there).
    fn processor_call(self) -> &'static str {
        match self {
            Operation::Capture { .. } => "capture",
            Operation::Void | Operation::Expire => "void",
        }
    }

    /// The state-machine action it asks for on `charge`.
    pub fn action(self, charge: &ChargeRecord) -> Result<ChargeAction, ChargeError> {
        Ok(match self {
            Operation::Capture { amount } => {
                ChargeAction::Capture { amount: amount.unwrap_or(charge.amounts()?.authorized) }
            }
            Operation::Void => ChargeAction::Void,
            Operation::Expire => ChargeAction::Expire,
        })
    }
}

pub async fn operate(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    charge_id: ChargeId,
    operation: Operation,
) -> Result<ChargeRecord, ChargeError> {
    let attempt_id = new_id::<AttemptKind>().to_string();
    let Some(claimed) = claim(pool, processors, scope, charge_id, operation, &attempt_id).await? else {
        // Voiding a charge that waits for its authentication gives the authentication up now, as its deadline
        // would: the processor cancels (or says it was approved after all), then the charge is decided.
        return super::authentication::give_up(pool, processors, scope, charge_id).await;
    };
    let Claimed { charge, action, connector, pricing } = &claimed;
    let reference = charge.processor_reference.clone().unwrap_or_default();
    let authorization = Authorization { processor_reference: &reference };
    let outcome = match *action {
        ChargeAction::Capture { amount } => {
            processors.operate(connector, Flow::Capture, &authorization, amount, &attempt_id).await
        }
        _ => processors.operate(connector, Flow::Void, &authorization, Amount::ZERO, &attempt_id).await,
    };
    if let OperationOutcome::Succeeded { .. } = outcome {
        // Decided on the charge as claimed: one statement, unless something changed it meanwhile.
        let (status, amounts) = transition(charge.status()?, charge.amounts()?, *action)?;
        let (event, event_type) = booked(*action, amounts, pricing.as_deref())?;
        let mut after = charge.clone();
        after.status = status.as_str().to_owned();
        after.amount_captured = amounts.captured.minor();
        after.pending_operation = None;
        after.authorization_expires = None;
        let change = Change {
            scope,
            before: charge,
            steps: vec![Step { after, posting: event, event_type }],
            attempt: AttemptClose { id: &attempt_id, outcome: "succeeded", reference: None },
        };
        let mut conn = pool.acquire().await?;
        if let Some(charge) = super::change::write(&mut conn, change).await? {
            return Ok(charge);
        }
    }
    apply(pool, scope, charge_id, operation, *action, &attempt_id, outcome).await
}

/// The ledger event and the webhook event of an operation that succeeded, leaving the charge's `amounts`.
fn booked(
    action: ChargeAction,
    amounts: ChargeAmounts,
    pricing: Option<&[i64]>,
) -> Result<(LedgerEvent, &'static str), ChargeError> {
    Ok(match action {
        ChargeAction::Capture { amount } => {
            let fee = pricing::from_stored(pricing)?.fee(amount);
            (LedgerEvent::Captured { authorized: amounts.authorized, captured: amount, fee }, "charge.captured")
        }
        ChargeAction::Expire => (LedgerEvent::Released { authorized: amounts.authorized }, "charge.expired"),
        _ => (LedgerEvent::Released { authorized: amounts.authorized }, "charge.voided"),
    })
}

/// An operation marked and its attempt recorded (committed): the charge as the claim left it (marked, at the
/// claim's version), the action, the account's connector, the merchant's price for the charge
/// (`pricing::CHARGE_PRICING`).
struct Claimed {
    charge: ChargeRecord,
    action: ChargeAction,
    connector: Connector,
    pricing: Option<Vec<i64>>,
}

/// Reads the charge (with its account's sealed credentials), refuses what the rules refuse, then sets the marker
/// and records the attempt in one statement, which is its own transaction and writes only if the charge is still
/// authorized with nothing in flight, the state every rule above was checked on. Two round trips on one
/// connection, no lock held between them. Should another operation slip in between, the charge is read and
/// decided again once, so the caller hears what that operation left (captured, voided...) or that it is still
/// in flight. `None`: a void of a charge still waiting for its authentication, which is given up instead.
async fn claim(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    charge_id: ChargeId,
    operation: Operation,
    attempt_id: &str,
) -> Result<Option<Claimed>, ChargeError> {
    let mut conn = pool.acquire().await?;
    let select = format!(
        "SELECT {CHARGE_COLUMNS}, {ACCOUNT_OF_CHARGE}, {} AS pricing FROM charges
         WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        pricing::CHARGE_PRICING
    );
    for _ in 0..2 {
        let ChargeWithAccount { mut charge, account_connector, account_credentials, pricing } =
            sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(charge_id)
                .bind(scope.merchant_id)
                .bind(scope.mode)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(ChargeError::NotFound)?;
        if matches!(operation, Operation::Void) && charge.status()? == ChargeStatus::RequiresAction {
            return Ok(None);
        }
        if charge.mada {
            match operation {
                Operation::Void => return Err(ChargeError::Mada(super::MadaRule::NoVoid)),
                Operation::Capture { .. } => return Err(ChargeError::Mada(super::MadaRule::NoLaterCapture)),
                // A Mada sale is never left authorized for expiry to void.
                Operation::Expire => {}
            }
        }
        let action = operation.action(&charge)?;
        // Refuse what the state machine refuses before anything is claimed or sent; then, an operation still at
        // the processor.
        transition(charge.status()?, charge.amounts()?, action)?;
        if charge.pending_operation.is_some() {
            return Err(ChargeError::OperationInFlight);
        }
        let account = charge.processor_account_id.ok_or(ChargeError::NoProcessor)?;
        let name = account_connector.ok_or(crate::domain::processors::accounts::AccountError::NotFound)?;
        let connector = crate::domain::processors::accounts::connector_from(
            &processors.secrets_keys,
            charge.scope(),
            account,
            name,
            account_credentials,
        )?;
        let amount = match action {
            ChargeAction::Capture { amount } => amount.minor(),
            _ => 0,
        };
        // The marker and the attempt: the attempt is written only if the marker was. The charge's new version
        // comes back, so the outcome can be written on the charge as claimed.
        let claimed: Option<i64> = sqlx::query_scalar(
            "WITH claimed AS (
                 UPDATE charges SET pending_operation = $2, updated_at = now()
                 WHERE id = $1 AND status = 'authorized' AND pending_operation IS NULL AND merchant_id = $3
                 RETURNING id, merchant_id, mode, processor, processor_account_id, version),
             attempt AS (
                 INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
                                              processor_account_id)
                 SELECT $4, id, merchant_id, mode, $5, $6, 'started', coalesce(processor, 'sandbox'),
                        processor_account_id
                 FROM claimed)
             SELECT version FROM claimed",
        )
        .bind(charge.id)
        .bind(operation.marker())
        .bind(scope.merchant_id)
        .bind(attempt_id)
        .bind(operation.processor_call())
        .bind(amount)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(version) = claimed {
            charge.version = version;
            charge.pending_operation = Some(operation.marker().to_owned());
            return Ok(Some(Claimed { charge, action, connector, pricing }));
        }
    }
    Err(ChargeError::OperationInFlight)
}

/// The account's connector name and sealed credentials, beside the charge's columns (`ChargeWithAccount`): the
/// claim opens them without a statement of its own. Outer columns are named by table, as the subqueries have
/// their own `id`.
pub(crate) const ACCOUNT_OF_CHARGE: &str = "
    (SELECT a.connector FROM processor_accounts a WHERE a.id = charges.processor_account_id
        AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode) AS account_connector,
    (SELECT a.credentials_sealed FROM processor_accounts a WHERE a.id = charges.processor_account_id
        AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode) AS account_credentials";

#[derive(sqlx::FromRow)]
pub(crate) struct ChargeWithAccount {
    #[sqlx(flatten)]
    pub charge: ChargeRecord,
    pub account_connector: Option<String>,
    pub account_credentials: Option<serde_json::Value>,
    pub pricing: Option<Vec<i64>>,
}

/// Applies the processor's answer under our own claim. Also used by the recovery job.
pub async fn apply(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    operation: Operation,
    action: ChargeAction,
    attempt_id: &str,
    outcome: OperationOutcome,
) -> Result<ChargeRecord, ChargeError> {
    let mut tx = pool.begin().await?;
    // The merchant's pricing comes with the charge, for a capture's fee.
    let select = format!(
        "SELECT {CHARGE_COLUMNS}, {} AS pricing FROM charges
         WHERE id = $1 AND pending_operation = $2 AND merchant_id = $3 FOR UPDATE",
        pricing::CHARGE_PRICING
    );
    let ChargeWithPricing { charge, pricing } = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(charge_id)
        .bind(operation.marker())
        .bind(scope.merchant_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ChargeError::OperationInFlight)?;
    let attempt = |outcome: &'static str| {
        sqlx::query("UPDATE charge_attempts SET outcome = $2, finished_at = now() WHERE id = $1 AND merchant_id = $3")
            .bind(attempt_id)
            .bind(outcome)
            .bind(scope.merchant_id)
    };
    let release = "UPDATE charges SET pending_operation = NULL, updated_at = now() WHERE id = $1 AND merchant_id = $2";
    match outcome {
        OperationOutcome::Succeeded { .. } => {
            let (status, amounts) = transition(charge.status()?, charge.amounts()?, action)?;
            let currency = charge.currency()?;
            let subject = Subject { charge_id: Some(charge_id), refund_id: None };
            let (event, event_type) = booked(action, amounts, pricing.as_deref())?;
            journal::post(&mut tx, scope, currency, event, subject).await?;
            // The attempt's outcome rides on the charge's update.
            let update = format!(
                "WITH attempt AS (
                     UPDATE charge_attempts SET outcome = 'succeeded', finished_at = now()
                     WHERE id = $5 AND merchant_id = $4)
                 UPDATE charges SET status = $2, amount_captured = $3, pending_operation = NULL,
                        authorization_expires_at = NULL, updated_at = now()
                 WHERE id = $1 AND status = 'authorized' AND merchant_id = $4
                 RETURNING {CHARGE_COLUMNS}"
            );
            // Locked with our marker above, so the update finds it, and its row is the event's. (Were it not
            // authorized any more, nothing would change and the event would carry the charge as it is.)
            let updated: Option<ChargeRecord> = sqlx::query_as(sqlx::AssertSqlSafe(update))
                .bind(charge_id)
                .bind(status.as_str())
                .bind(amounts.captured.minor())
                .bind(scope.merchant_id)
                .bind(attempt_id)
                .fetch_optional(&mut *tx)
                .await?;
            let charge = match updated {
                Some(charge) => charge,
                None => super::create::read(&mut tx, scope, charge_id).await?,
            };
            let charge = record_event_of(&mut tx, scope, charge, event_type).await?;
            tx.commit().await?;
            Ok(charge)
        }
        OperationOutcome::Failed { code } => {
            // A capture the processor had accepted (pending) and then declined is news to the merchant, who
            // was told "accepted": the charge stays authorized and says so in an event.
            let was_pending: bool = sqlx::query_scalar(
                "SELECT outcome = 'pending' FROM charge_attempts WHERE id = $1 AND merchant_id = $2",
            )
            .bind(attempt_id)
            .bind(scope.merchant_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(release).bind(charge_id).bind(scope.merchant_id).execute(&mut *tx).await?;
            attempt("failed").execute(&mut *tx).await?;
            if was_pending && matches!(operation, Operation::Capture { .. }) {
                record_event(&mut tx, scope, charge_id, "charge.capture_failed").await?;
            }
            tx.commit().await?;
            Err(ChargeError::ProcessorRefused(code))
        }
        OperationOutcome::Pending { reference } => {
            // Accepted, not done: the claim stays (the charge shows the operation pending) until the processor
            // says how it ended (recovery asks; its webhook tells).
            sqlx::query(
                "UPDATE charge_attempts SET outcome = 'pending', processor_reference = $2
                 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(attempt_id)
            .bind(reference)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            super::get(pool, scope, charge_id).await
        }
        OperationOutcome::Unknown { detail } => {
            // Keep the claim: the processor may have acted, and only asking it can tell.
            attempt("unknown").execute(&mut *tx).await?;
            tx.commit().await?;
            tracing::warn!(%charge_id, attempt_id, %detail, "{} outcome unknown; left for recovery", operation.marker());
            Err(ChargeError::ProcessorUnknown(detail))
        }
    }
}

/// The connector of the account that authorized `charge`, credentials opened: capture, void, refund,
/// expiry and recovery always go back to that account, whatever the routing says now.
pub async fn connector_of(
    pool: &PgPool,
    processors: &Processors,
    charge: &ChargeRecord,
) -> Result<Connector, ChargeError> {
    let account = charge.processor_account_id.ok_or(ChargeError::NoProcessor)?;
    let mut conn = pool.acquire().await?;
    Ok(crate::domain::processors::accounts::connector(&mut conn, &processors.secrets_keys, charge.scope(), account)
        .await?)
}

impl ChargeRecord {
    /// The scope this stored charge belongs to.
    pub fn scope(&self) -> Scope {
        Scope { merchant_id: self.merchant_id, mode: self.mode }
    }
}
