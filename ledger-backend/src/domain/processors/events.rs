//! Processor webhooks in: verified with the account's webhook secret before a byte of the body is parsed,
//! stored once by the processor's event id, and applied through the same code as our own calls' answers
//! (`charges::apply_operation`, `refunds::settle`), so an event and recovery can race and the first wins.
//! What an event cannot be applied to yet (its payment unknown, or not in the state it speaks of) is
//! recorded as such; recovery, which asks the processor, converges on the same truth.

use super::accounts;
use crate::domain::charges::{self, ChargeError, Operation};
use crate::domain::refunds;
use crate::domain::tenancy::{self, Scope};
use crate::processors::events::{EventEffect, ProcessorEvent};
use crate::processors::{OperationOutcome, Processors, checkout, stripe};
use paygate_core::id::{ChargeId, ProcessorAccountId, RefundId};
use paygate_core::processor::ConnectorKind;
use paygate_core::signature::processor::{ProcessorSignatureError, verify_checkout, verify_stripe};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No such processor account (or not of that connector): the same answer either way.
    #[error("no such processor account")]
    NotFound,
    #[error("the processor account has no webhook secret to verify its events with")]
    NoSecret,
    #[error("the signature does not verify: {0}")]
    Signature(ProcessorSignatureError),
    #[error("the event cannot be read: {0}")]
    Malformed(String),
    #[error(transparent)]
    Account(#[from] accounts::AccountError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What receiving an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Applied,
    /// Stored before under the same event id: acknowledged, nothing done.
    Duplicate,
    Ignored,
    Unmatched,
    Deferred,
}

impl Received {
    pub fn as_str(self) -> &'static str {
        match self {
            Received::Applied => "applied",
            Received::Duplicate => "duplicate",
            Received::Ignored => "ignored",
            Received::Unmatched => "unmatched",
            Received::Deferred => "deferred",
        }
    }
}

/// A webhook as the edge forwarded it.
pub struct Incoming<'a> {
    pub connector: ConnectorKind,
    pub account: ProcessorAccountId,
    pub signature: &'a str,
    pub body: &'a [u8],
    /// Unix seconds, for signature timestamps.
    pub now: i64,
}

pub async fn receive(pool: &PgPool, processors: &Processors, incoming: Incoming<'_>) -> Result<Received, EventError> {
    // The account names its owner; everything after runs in that scope (row-level security applies).
    let (scope, connector) = accounts::owner(pool, incoming.account).await?.ok_or(EventError::NotFound)?;
    if connector != incoming.connector {
        return Err(EventError::NotFound);
    }
    let actor = format!("processor:{}", connector.as_str());
    tenancy::scope(scope, crate::domain::actor::scope(actor, receive_in(pool, processors, scope, incoming))).await
}

async fn receive_in(
    pool: &PgPool,
    processors: &Processors,
    scope: Scope,
    incoming: Incoming<'_>,
) -> Result<Received, EventError> {
    let credentials = {
        let mut conn = pool.acquire().await?;
        accounts::credentials(&mut conn, &processors.secrets_keys, scope, incoming.account).await?
    };
    let secret = credentials.as_ref().and_then(|c| c.webhook_secret()).ok_or(EventError::NoSecret)?;
    let verified = match incoming.connector {
        ConnectorKind::Stripe => verify_stripe(secret.expose(), incoming.signature, incoming.body, incoming.now),
        ConnectorKind::Checkout => verify_checkout(secret.expose(), incoming.signature, incoming.body),
        ConnectorKind::Sandbox => return Err(EventError::NotFound),
    };
    verified.map_err(EventError::Signature)?;
    let event = match incoming.connector {
        ConnectorKind::Stripe => stripe::read_event(incoming.body),
        _ => checkout::read_event(incoming.body),
    }
    .map_err(EventError::Malformed)?;
    // The event is claimed by storing it first: a delivery that finds it stored is a duplicate, acknowledged
    // and ignored, so concurrent deliveries apply it once. Applying then records what it did; if applying
    // fails, the claim is withdrawn so the processor's next delivery tries again.
    let claimed = sqlx::query(
        "INSERT INTO processor_events (processor_account_id, merchant_id, mode, connector, event_id, event_type,
                                       payment_reference, object_reference, outcome, reading)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'applying', $9::jsonb)
         ON CONFLICT (processor_account_id, event_id, merchant_id) DO NOTHING",
    )
    .bind(incoming.account)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(incoming.connector.as_str())
    .bind(&event.id)
    .bind(event.event_type.chars().take(100).collect::<String>())
    .bind(event.payment.as_ref().map(|p| p.chars().take(255).collect::<String>()))
    .bind(object_of(&event.effect))
    .bind(serde_json::to_string(&event).map_err(|e| EventError::Malformed(e.to_string()))?)
    .execute(pool)
    .await?;
    if claimed.rows_affected() == 0 && !reclaim_abandoned(pool, scope, incoming.account, &event.id).await? {
        return Ok(Received::Duplicate);
    }
    match apply(pool, scope, &event).await {
        Ok((received, detail)) => {
            record_outcome(pool, scope, incoming.account, &event.id, received, detail).await?;
            // The events about its payment that were waiting come back, whatever this one came to. Applied,
            // they may now apply. Ignored, it may be ignored because our own answer got there first (an
            // approval after we applied the authorization), which is what a waiting capture of a sale waits for:
            // no later event would bring it back. Left waiting itself: the event it waits for may have been
            // applied while this one was still being applied (and so was not brought back then).
            if let Some(payment) = &event.payment {
                apply_waiting(pool, scope, incoming.account, payment).await?;
            }
            Ok(received)
        }
        Err(error) => {
            sqlx::query(
                "DELETE FROM processor_events WHERE processor_account_id = $1 AND event_id = $2 AND merchant_id = $3",
            )
            .bind(incoming.account)
            .bind(&event.id)
            .bind(scope.merchant_id)
            .execute(pool)
            .await?;
            Err(error)
        }
    }
}

/// How long an event may stay `applying` before a redelivery takes it over: applying one takes a few processor
/// and database calls, each with a deadline far below this; only a crashed or cancelled delivery leaves one.
const APPLYING_ABANDONED_AFTER: &str = "5 minutes";

/// A redelivery of an event whose first delivery died while applying it (a crash, a cancelled request) claims
/// it anew: the claim is moving its `received_at`, which only one delivery can do.
async fn reclaim_abandoned(
    pool: &PgPool,
    scope: Scope,
    account: ProcessorAccountId,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    let reclaimed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE processor_events SET received_at = now()
         WHERE processor_account_id = $1 AND event_id = $2 AND outcome = 'applying'
           AND received_at < now() - interval '{APPLYING_ABANDONED_AFTER}' AND merchant_id = $3"
    )))
    .bind(account)
    .bind(event_id)
    .bind(scope.merchant_id)
    .execute(pool)
    .await?;
    Ok(reclaimed.rows_affected() == 1)
}

async fn record_outcome(
    pool: &PgPool,
    scope: Scope,
    account: ProcessorAccountId,
    event_id: &str,
    received: Received,
    detail: Option<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE processor_events SET outcome = $3, detail = $4
         WHERE processor_account_id = $1 AND event_id = $2 AND merchant_id = $5",
    )
    .bind(account)
    .bind(event_id)
    .bind(received.as_str())
    .bind(detail.map(|d| d.chars().take(500).collect::<String>()))
    .bind(scope.merchant_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many waiting events one applied event brings back (a payment has a handful of events in all).
const WAITING_MAX: i64 = 20;

/// The events about `payment` that came too early (unmatched: the payment was not ours to know yet;
/// deferred: the state they speak of was not reached), applied again in the order they came now that an
/// event about it was applied: a `captured` that came before its `authorized` is applied right after it.
/// Each is claimed again by moving it to `applying`, so two events racing here apply it once, and one still
/// being applied by its own delivery is never taken.
async fn apply_waiting(
    pool: &PgPool,
    scope: Scope,
    account: ProcessorAccountId,
    payment: &str,
) -> Result<(), EventError> {
    let waiting: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT event_id, outcome, reading::text FROM processor_events
         WHERE processor_account_id = $1 AND payment_reference = $2 AND outcome IN ('unmatched', 'deferred')
           AND reading IS NOT NULL AND merchant_id = $4
         ORDER BY id LIMIT $3",
    )
    .bind(account)
    .bind(payment)
    .bind(WAITING_MAX)
    .bind(scope.merchant_id)
    .fetch_all(pool)
    .await?;
    for (event_id, was, reading) in waiting {
        let Ok(event) = serde_json::from_str::<ProcessorEvent>(&reading) else {
            tracing::warn!(event = %event_id, "a stored event's reading does not read back");
            continue;
        };
        // The claim: only the caller that moves it out of its waiting outcome applies it.
        let claimed = sqlx::query(
            "UPDATE processor_events SET outcome = 'applying'
             WHERE processor_account_id = $1 AND event_id = $2 AND outcome = $3 AND merchant_id = $4",
        )
        .bind(account)
        .bind(&event_id)
        .bind(&was)
        .bind(scope.merchant_id)
        .execute(pool)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let (received, detail) = match apply(pool, scope, &event).await {
            Ok(done) => done,
            Err(error) => (Received::Deferred, Some(error.to_string())),
        };
        record_outcome(pool, scope, account, &event_id, received, detail).await?;
    }
    Ok(())
}

fn object_of(effect: &EventEffect) -> Option<String> {
    match effect {
        EventEffect::Captured { action } => action.clone(),
        EventEffect::Refunded { reference, action, .. } | EventEffect::RefundDeclined { reference, action, .. } => {
            reference.clone().or_else(|| action.clone())
        }
        _ => None,
    }
    .map(|o| o.chars().take(255).collect())
}

/// The charge whose processor payment is `payment`, in the scope: (id, claim marker, its open attempt).
async fn charge_of(
    pool: &PgPool,
    scope: Scope,
    payment: &str,
) -> Result<Option<(ChargeId, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, pending_operation FROM charges WHERE merchant_id = $1 AND mode = $2 AND processor_reference = $3",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(payment)
    .fetch_optional(pool)
    .await
}

async fn apply(pool: &PgPool, scope: Scope, event: &ProcessorEvent) -> Result<(Received, Option<String>), EventError> {
    let about_authorization =
        matches!(event.effect, EventEffect::Authorized { .. } | EventEffect::AuthorizationDeclined { .. });
    if about_authorization && event.charge.is_some() {
        return authorization(pool, scope, event).await;
    }
    let Some(payment) = event.payment.as_deref() else {
        return Ok((Received::Ignored, Some("the event names no payment".into())));
    };
    let Some((charge_id, marker)) = charge_of(pool, scope, payment).await? else {
        tracing::warn!(event = %event.id, payment, "processor event for a payment we do not know");
        return Ok((Received::Unmatched, Some(format!("no charge for payment {payment}"))));
    };
    let finish = |outcome: OperationOutcome, wants: &'static [&'static str]| {
        let marker = marker.clone();
        async move {
            let Some(marker) = marker.filter(|m| wants.contains(&m.as_str())) else {
                // Not (or no longer) claimed for this: already applied, or it came before our claim.
                return Ok::<_, EventError>((Received::Ignored, Some("no operation of that kind is pending".into())));
            };
            let attempt: Option<(String, i64)> = sqlx::query_as(
                "SELECT id, amount FROM charge_attempts WHERE charge_id = $1 AND operation IN ('capture', 'void')
                   AND outcome IN ('started', 'unknown', 'pending') AND merchant_id = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(charge_id)
            .bind(scope.merchant_id)
            .fetch_optional(pool)
            .await?;
            let Some((attempt_id, amount)) = attempt else {
                return Ok((Received::Deferred, Some("the claim has no open attempt".into())));
            };
            let Some((operation, action)) = Operation::claimed(&marker, amount) else {
                return Ok((Received::Ignored, Some(format!("unexpected claim {marker}"))));
            };
            match charges::apply_operation(pool, scope, charge_id, operation, action, &attempt_id, outcome).await {
                Ok(_) | Err(ChargeError::ProcessorRefused(_)) => Ok((Received::Applied, None)),
                Err(ChargeError::OperationInFlight) => Ok((Received::Ignored, Some("already applied".into()))),
                Err(ChargeError::Database(e)) => Err(EventError::Database(e)),
                Err(error) => Ok((Received::Deferred, Some(error.to_string()))),
            }
        }
    };
    match &event.effect {
        EventEffect::Captured { action } => {
            finish(OperationOutcome::Succeeded { reference: action.clone() }, &["capture"]).await
        }
        EventEffect::CaptureDeclined { code } => {
            finish(OperationOutcome::Failed { code: code.clone() }, &["capture"]).await
        }
        EventEffect::Voided => finish(OperationOutcome::Succeeded { reference: None }, &["void", "expire"]).await,
        EventEffect::VoidDeclined { code } => {
            finish(OperationOutcome::Failed { code: code.clone() }, &["void", "expire"]).await
        }
        EventEffect::Refunded { reference, action, amount } => {
            let outcome = OperationOutcome::Succeeded { reference: action.clone() };
            match settle_refund(pool, scope, charge_id, reference, action, outcome).await? {
                (Received::Ignored, _) => made_at_processor(pool, scope, charge_id, reference, action, *amount).await,
                settled => Ok(settled),
            }
        }
        EventEffect::RefundDeclined { reference, action, code } => {
            settle_refund(pool, scope, charge_id, reference, action, OperationOutcome::Failed { code: code.clone() })
                .await
        }
        EventEffect::RefundedInAll { total, refund } => {
            match refunds::record_processor_refunds(pool, scope, charge_id, *total, refund.as_deref()).await {
                Ok(Some(made)) => Ok((Received::Applied, Some(format!("refund {made} made at the processor")))),
                Ok(None) => Ok((Received::Ignored, Some("no refund beyond those we know".into()))),
                Err(refunds::RefundError::Database(e)) => Err(EventError::Database(e)),
                // More than captured, or the charge not refundable here: the books disagree; reconciliation.
                Err(error) => Ok((Received::Deferred, Some(error.to_string()))),
            }
        }
        EventEffect::DisputeOpened => {
            let mut tx = pool.begin().await?;
            // One `charge.dispute_opened` per charge (a card payment is disputed once): a processor may announce
            // the same dispute with several events (Checkout.com's `dispute_received`, then
            // `dispute_evidence_required`). Under the charge's lock, so two of them at once tell it once.
            let told: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM events WHERE object_id = $1 AND type = 'charge.dispute_opened'
                                   AND merchant_id = $2)
                 FROM charges WHERE id = $1 AND merchant_id = $2 FOR UPDATE",
            )
            .bind(charge_id)
            .bind(scope.merchant_id)
            .fetch_one(&mut *tx)
            .await?;
            if told {
                return Ok((Received::Ignored, Some("the dispute was already told".into())));
            }
            charges::record_event(&mut tx, scope, charge_id, "charge.dispute_opened").await.map_err(|e| match e {
                ChargeError::Database(e) => EventError::Database(e),
                other => EventError::Malformed(other.to_string()),
            })?;
            tx.commit().await?;
            Ok((Received::Applied, None))
        }
        // With our charge id, handled before a payment is looked up (a lost authorization has no processor
        // reference of ours yet); without it there is nothing to settle.
        EventEffect::Authorized { .. } | EventEffect::AuthorizationDeclined { .. } | EventEffect::Nothing => {
            Ok((Received::Ignored, None))
        }
    }
}

/// An authorization's outcome, for a charge still `pending` (its answer was lost, or has not been applied
/// yet) or waiting for its 3-D Secure authentication (the processor may say how it ended before the browser
/// comes back): found by our charge id planted in the payment, applied to the attempt that asked this processor.
async fn authorization(
    pool: &PgPool,
    scope: Scope,
    event: &ProcessorEvent,
) -> Result<(Received, Option<String>), EventError> {
    let Some(charge_id) = event.charge.as_deref().and_then(|c| ChargeId::parse(c).ok()) else {
        return Ok((Received::Ignored, Some("the event names none of our charges".into())));
    };
    let open: Option<(String, bool)> = sqlx::query_as(
        "SELECT a.id, c.capture FROM charges c
         JOIN charge_attempts a ON a.charge_id = c.id AND a.merchant_id = c.merchant_id
         WHERE c.id = $1 AND c.merchant_id = $2 AND c.mode = $3 AND c.status IN ('pending', 'requires_action')
           AND a.operation = 'authorize' AND a.outcome IN ('started', 'unknown', 'pending')
           AND ($4::text IS NULL OR a.id = $4)
         ORDER BY a.id LIMIT 1",
    )
    .bind(charge_id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(event.attempt.as_deref())
    .fetch_optional(pool)
    .await?;
    let Some((attempt_id, capture)) = open else {
        // Already decided (the answer arrived, or recovery asked): the event confirms what we know.
        return Ok((Received::Ignored, Some("the charge is not waiting for its authorization".into())));
    };
    let Some(reference) = event.payment.clone() else {
        return Ok((Received::Ignored, Some("the event names no payment".into())));
    };
    let outcome = match &event.effect {
        EventEffect::Authorized { captured } => crate::processors::AuthorizeOutcome::Approved {
            processor_reference: reference,
            captured: *captured,
            capture_pending: capture && !captured,
            card: None,
        },
        EventEffect::AuthorizationDeclined { code, raw_code } => {
            crate::processors::AuthorizeOutcome::Declined { code: *code, raw_code: raw_code.clone(), card: None }
        }
        _ => return Ok((Received::Ignored, None)),
    };
    match charges::apply_authorization(pool, scope, charge_id, &attempt_id, outcome).await {
        Ok(_) => Ok((Received::Applied, None)),
        Err(ChargeError::Database(e)) => Err(EventError::Database(e)),
        Err(error) => Ok((Received::Deferred, Some(error.to_string()))),
    }
}

/// A pending refund of `charge_id`, found by our refund id or the processor's action id, settled.
async fn settle_refund(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    reference: &Option<String>,
    action: &Option<String>,
    outcome: OperationOutcome,
) -> Result<(Received, Option<String>), EventError> {
    let pending: Option<(RefundId, String)> = sqlx::query_as(
        "SELECT r.id, a.id FROM refunds r JOIN charge_attempts a ON a.refund_id = r.id AND a.merchant_id = r.merchant_id
         WHERE r.charge_id = $1 AND r.status = 'pending' AND (r.id = $2 OR r.processor_reference = $3)
           AND r.merchant_id = $4
         ORDER BY a.id DESC LIMIT 1",
    )
    .bind(charge_id)
    .bind(reference.as_deref().unwrap_or(""))
    .bind(action.as_deref().unwrap_or(""))
    .bind(scope.merchant_id)
    .fetch_optional(pool)
    .await?;
    let Some((refund_id, attempt_id)) = pending else {
        return Ok((Received::Ignored, Some("no such refund is pending".into())));
    };
    match refunds::settle(pool, scope, refund_id, &attempt_id, outcome).await {
        Ok(_) => Ok((Received::Applied, None)),
        Err(refunds::RefundError::Database(e)) => Err(EventError::Database(e)),
        Err(error) => Ok((Received::Deferred, Some(error.to_string()))),
    }
}

/// A refund event that settled none of our pending refunds: if it names none of our refunds at all, the refund was
/// made at the processor itself (Checkout.com's dashboard) and is booked once by the processor's id for it.
async fn made_at_processor(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    reference: &Option<String>,
    action: &Option<String>,
    amount: Option<i64>,
) -> Result<(Received, Option<String>), EventError> {
    let (Some(action), Some(amount)) = (action.as_deref(), amount) else {
        return Ok((Received::Ignored, Some("no such refund is pending".into())));
    };
    let ours: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM refunds WHERE charge_id = $1 AND (id = $2 OR processor_reference = $3)
                                          AND merchant_id = $4)",
    )
    .bind(charge_id)
    .bind(reference.as_deref().unwrap_or(""))
    .bind(action)
    .bind(scope.merchant_id)
    .fetch_one(pool)
    .await?;
    if ours {
        return Ok((Received::Ignored, Some("that refund is already settled".into())));
    }
    match refunds::record_processor_refund(pool, scope, charge_id, amount, action).await {
        Ok(Some(made)) => Ok((Received::Applied, Some(format!("refund {made} made at the processor")))),
        Ok(None) => Ok((Received::Ignored, Some("that refund is already booked".into()))),
        Err(refunds::RefundError::Database(e)) => Err(EventError::Database(e)),
        // More than captured, or the charge not refundable here: the books disagree; reconciliation.
        Err(error) => Ok((Received::Deferred, Some(error.to_string()))),
    }
}

/// A stored processor event as the merchant's list shows it: what came, and what it did.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredEvent {
    /// Our cursor for it: `pev_` and the row's number, zero-padded so the text sorts as the number does.
    pub cursor: String,
    pub event_id: String,
    pub event_type: String,
    pub payment_reference: Option<String>,
    pub object_reference: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    pub received: i64,
}

/// The cursor of a stored event (`pev_` and 19 digits).
pub fn is_cursor(text: &str) -> bool {
    text.strip_prefix("pev_").is_some_and(|digits| digits.len() == 19 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// The outcomes a list may be filtered by.
pub const OUTCOMES: &[&str] = &["applying", "applied", "ignored", "unmatched", "deferred"];

/// An account's events, newest first, optionally only those with `outcome` (`unmatched`: events about
/// payments we do not know, which the merchant should look at).
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    account: ProcessorAccountId,
    outcome: Option<&str>,
    page: &crate::domain::page::Page,
) -> Result<(Vec<StoredEvent>, bool), EventError> {
    // The account must be the caller's: another merchant's account is not found, not an empty list.
    accounts::get(pool, scope, account).await?;
    let cursor_of = "('pev_' || lpad(id::text, 19, '0'))";
    let (cursor, tail) = page.sql(cursor_of, 5);
    let select = format!(
        "SELECT {cursor_of} AS cursor, event_id, event_type, payment_reference, object_reference, outcome, detail,
                extract(epoch FROM received_at)::bigint AS received
         FROM processor_events
         WHERE merchant_id = $1 AND mode = $2 AND processor_account_id = $3 AND ($4::text IS NULL OR outcome = $4)
         {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(account)
        .bind(outcome);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
