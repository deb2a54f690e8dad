//! Creating a charge: remember the Idempotency-Key and record the pending charge and its attempt (one
//! committed transaction, before any processor call, so a crash can never lose a charge the processor
//! may have seen), authorize through the connector, then apply the outcome in a second transaction.
//! An unknown outcome leaves the charge pending for the recovery job.

use super::change::{self, AttemptClose, Change, Step};
use super::record::{CHARGE_COLUMNS, ChargeRecord, ChargeWithPricing};
use super::{AUTHENTICATION_TTL_MINUTES, AUTHORIZATION_TTL_DAYS, ChargeError, MadaRule};
use crate::domain::idempotency::{self, KeyUse};
use crate::domain::journal::{self, AuditEntry, Subject};
use crate::domain::pricing;
use crate::domain::processors::{accounts, routing};
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::processors::{AuthorizeOutcome, AuthorizeRequest, Candidate, CardSummary, Connector, Processors};
use paygate_core::authentication;
use paygate_core::charge::{ChargeAction, ChargeAmounts, ChargeStatus, transition};
use paygate_core::decline::DeclineCode;
use paygate_core::id::{AttemptKind, AuditKind, ChargeId, ChargeKind, ProcessorAccountId, RefundId, TokenId};
use paygate_core::ledger::LedgerEvent;
use paygate_core::payment_method::PaymentMethod;
use paygate_core::routing::{Payment, RoutingTable, is_domestic_mada};
use paygate_core::{Amount, Currency};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};

/// A validated request to create a charge.
#[derive(Debug, Clone)]
pub struct NewCharge {
    pub amount: Amount,
    pub currency: Currency,
    pub source: TokenId,
    pub capture: bool,
    pub description: Option<String>,
    pub statement_descriptor: Option<String>,
    pub metadata: Map<String, Value>,
}

/// Everything creation needs besides the request.
pub struct CreateContext<'a> {
    pub pool: &'a PgPool,
    pub processors: &'a Processors,
    pub scope: Scope,
    pub request_id: &'a str,
    pub idempotency_key: &'a str,
    /// SHA-256 (hex) of method, path and body: a different request under the same key is refused.
    pub fingerprint: &'a str,
}

/// Creates the charge, or returns the one this Idempotency-Key already created (`replayed = true`).
pub async fn create(ctx: &CreateContext<'_>, new: &NewCharge) -> Result<(ChargeRecord, bool), ChargeError> {
    let charge_id = new_id::<ChargeKind>();
    let attempt_id = new_id::<AttemptKind>().to_string();
    // The vault is asked what the token holds: a card or a wallet's device card (whose connector call carries a
    // cryptogram and whose amount the customer approved), and for routing rules that look at the card and
    // Mada. A token it cannot describe is not charged: better no charge now than one sent the wrong way.
    let card = {
        let (merchant, mode, token) =
            (ctx.scope.merchant_id.to_string(), ctx.scope.mode.as_str(), new.source.to_string());
        ctx.processors
            .vault
            .describe(&merchant, mode, ctx.request_id, &token)
            .await
            .map_err(|error| ChargeError::VaultUnavailable(error.to_string()))?
    };
    let method = match card.as_ref().and_then(|c| c.wallet.as_ref()) {
        Some(wallet) => {
            // What the customer approved on the device, exactly.
            if wallet.currency != new.currency.code() {
                return Err(ChargeError::WalletMismatch {
                    param: "currency",
                    approved: format!("{} {}", wallet.amount, wallet.currency),
                });
            }
            if wallet.amount != new.amount.minor() {
                return Err(ChargeError::WalletMismatch {
                    param: "amount",
                    approved: format!("{} {}", wallet.amount, wallet.currency),
                });
            }
            PaymentMethod::ApplePay
        }
        None => PaymentMethod::Card,
    };
    // One connection, taken after the vault answered (none is held while it is asked), reads what routing
    // decides from (its table, the merchant's country, the accounts and their sealed credentials: one
    // statement), then records the charge: one hand-out, two round trips.
    let mut conn = ctx.pool.acquire().await?;
    let routing::Inputs { table, country, accounts } = routing::inputs(&mut conn, ctx.scope).await?;
    let mada = is_domestic_mada(country.as_deref(), card.as_ref().map_or(&[], |c| c.brands.as_slice()));
    if mada && !new.capture {
        // Refused before anything is recorded or the token spent.
        return Err(ChargeError::Mada(MadaRule::CaptureRequired));
    }
    let payment = Payment {
        method,
        currency: new.currency,
        amount: new.amount.minor(),
        brands: card.as_ref().map_or(&[], |c| c.brands.as_slice()),
        issuing_country: card.as_ref().and_then(|c| c.issuing_country.as_deref()),
    };
    // Routing decides before the charge is recorded, so the account is on the charge (and its attempts) before
    // any processor sees the request.
    let planned = match plan(ctx, mada, table, &accounts, &payment, attempt_id) {
        Ok(planned) => planned,
        Err(error) => {
            drop(conn);
            // A retry of a request that made its charge answers with that charge, whatever routing says now.
            if idempotency::held(ctx.pool, ctx.scope, ctx.key_use()).await? {
                return replay(ctx).await.map(|charge| (charge, true));
            }
            return Err(error);
        }
    };
    // The way back from a 3-D Secure authentication goes out with the authorization request, before anyone
    // knows whether the issuer will ask for one; only its hash is kept.
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).expect("the operating system's random source is available");
    let reference = authentication::new_reference(random);
    let return_url = authentication::return_url(&ctx.processors.public_url, &reference);
    let recorded = Recording { ctx, new, charge_id, planned: &planned, mada, method, reference: &reference };
    let recorded = recorded.write(&mut conn).await?;
    drop(conn);
    let Some(recorded) = recorded else {
        // Concurrent requests with one key queue on its record; all but the first find it and answer its charge.
        return replay(ctx).await.map(|charge| (charge, true));
    };

    let (charge_text, token) = (charge_id.to_string(), new.source.to_string());
    let candidates: Vec<Candidate<'_>> = planned
        .iter()
        .map(|Planned { attempt_id, connector, .. }| Candidate {
            connector,
            request: AuthorizeRequest {
                attempt_id,
                charge_id: &charge_text,
                token: &token,
                amount: new.amount,
                currency: new.currency,
                capture: new.capture,
                mada,
                method,
                return_url: &return_url,
            },
        })
        .collect();
    let outcomes = ctx
        .processors
        .authorize(&ctx.scope.merchant_id.to_string(), ctx.scope.mode.as_str(), ctx.request_id, &token, &candidates)
        .await;
    // The last call tried decides; those before it certainly never reached their processor.
    let decided = outcomes.len().max(1) - 1;
    let outcome =
        outcomes.into_iter().last().unwrap_or(AuthorizeOutcome::Unknown { detail: "the vault tried nothing".into() });
    let attempt_id = &planned[decided.min(planned.len() - 1)].attempt_id;
    let known =
        Decided { attempt_id, first_choice: decided == 0, alone: planned.len() == 1, recorded: Some(&recorded) };
    apply_decided(ctx.pool, ctx.scope, charge_id, known, outcome).await.map(|charge| (charge, false))
}

/// One account a new charge may be sent to (the first is routing's decision, the rest failover), with the
/// attempt recorded for it and its connector, credentials opened.
struct Planned {
    attempt_id: String,
    account_id: ProcessorAccountId,
    processor: &'static str,
    rule: Option<i32>,
    connector: Connector,
}

/// The accounts routing offers for `payment` (Mada's own when it is a domestic Mada card), those whose connector
/// can send it, at most `FAILOVER_ACCOUNTS_MAX`, each with its connector; never empty.
fn plan(
    ctx: &CreateContext<'_>,
    mada: bool,
    table: Option<RoutingTable>,
    candidates: &[routing::Account],
    payment: &Payment<'_>,
    first_attempt_id: String,
) -> Result<Vec<Planned>, ChargeError> {
    let choices =
        if mada { routing::mada_accounts(candidates) } else { routing::decide(ctx.scope, table, candidates, payment) };
    // Only accounts whose connector can send this kind of payment (an Apple Pay device card is a network token).
    let choices: Vec<_> = choices
        .into_iter()
        .filter(|c| c.account.connector.0.takes(payment.method))
        .take(FAILOVER_ACCOUNTS_MAX)
        .collect();
    if choices.is_empty() {
        return Err(if mada { ChargeError::Mada(MadaRule::NoAccount) } else { ChargeError::NoProcessor });
    }
    let mut planned = Vec::with_capacity(choices.len());
    let mut first_attempt_id = Some(first_attempt_id);
    for choice in choices {
        let account_id = choice.account.id;
        let sealed = candidates.iter().find(|a| a.record.id == account_id).and_then(|a| a.credentials_sealed.clone());
        let keys = &ctx.processors.secrets_keys;
        let connector = accounts::open_connector(keys, ctx.scope, account_id, choice.account.connector.0, sealed)?;
        planned.push(Planned {
            attempt_id: first_attempt_id.take().unwrap_or_else(|| new_id::<AttemptKind>().to_string()),
            account_id,
            processor: choice.account.connector.0.as_str(),
            rule: choice.rule.map(|r| r as i32),
            connector,
        });
    }
    Ok(planned)
}

/// A new charge as it is recorded before any processor is asked: under its Idempotency-Key, `pending`, on
/// routing's first account, with one attempt per planned account (the vault may send any of them, so recovery
/// must be able to ask each account about its own) and its audit row.
struct Recording<'a> {
    ctx: &'a CreateContext<'a>,
    new: &'a NewCharge,
    charge_id: ChargeId,
    planned: &'a [Planned],
    mada: bool,
    method: PaymentMethod,
    reference: &'a str,
}

impl Recording<'_> {
    /// All of it in one statement, which is its own transaction: one round trip, all or nothing, committed when
    /// it answers. The charge as recorded, with its price when a sale's capture needs it; `None`, with nothing
    /// written, when an earlier request holds the key (a concurrent one with the same key waits on its record,
    /// then finds it).
    async fn write(&self, conn: &mut PgConnection) -> Result<Option<ChargeWithPricing>, sqlx::Error> {
        let Recording { ctx, new, charge_id, planned, mada, method, reference } = self;
        let first = &planned[0];
        let actor = crate::domain::actor::current();
        let audit = json!({ "amount": new.amount.minor(), "currency": new.currency.code(), "capture": new.capture,
                            "processor_account": first.account_id.to_string(), "routing_rule": first.rule });
        let statement = format!(
            "WITH claimed AS ({} RETURNING object_id),
             charge AS (
                 INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source, description,
                                      statement_descriptor, metadata, processor, idempotency_key, processor_account_id,
                                      routing_rule, payment_method, mada, return_reference_hash)
                 SELECT $6, $1, $2, 'pending', $8, $9, $10, $11, $12, $13, $14, $15, $3, $16, $17, $18, $19, $20
                 FROM claimed
                 RETURNING *),
             attempts AS (
                 INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
                                              processor_account_id, routing_rule)
                 SELECT t.id, c.id, c.merchant_id, c.mode, 'authorize', $9, 'started', t.processor, t.account, t.rule
                 FROM charge c,
                      unnest($21::text[], $22::text[], $23::text[], $24::int[]) AS t(id, processor, account, rule)),
             audited AS (
                 INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
                 SELECT $25, merchant_id, mode, $26, 'charge.create', 'charge', id, $27, $28 FROM charge)
             SELECT {CHARGE_COLUMNS}, {} AS pricing FROM charge AS charges",
            idempotency::claim_sql(1, "true"),
            // Only a sale is captured in its approval; an authorization's capture reads the price with its claim.
            if new.capture { pricing::CHARGE_PRICING } else { "NULL::bigint[]" }
        );
        sqlx::query_as(sqlx::AssertSqlSafe(statement))
            .bind(ctx.scope.merchant_id)
            .bind(ctx.scope.mode)
            .bind(ctx.idempotency_key)
            .bind(ctx.fingerprint)
            .bind("charge")
            .bind(charge_id.to_string())
            .bind(idempotency::IDEMPOTENCY_TTL_DAYS)
            .bind(new.currency.code())
            .bind(new.amount.minor())
            .bind(new.capture)
            .bind(new.source.to_string())
            .bind(&new.description)
            .bind(&new.statement_descriptor)
            .bind(Value::Object(new.metadata.clone()))
            .bind(first.processor)
            .bind(first.account_id)
            .bind(first.rule)
            .bind(method.as_str())
            .bind(mada)
            .bind(authentication::reference_hash(reference).to_vec())
            .bind(planned.iter().map(|p| p.attempt_id.clone()).collect::<Vec<_>>())
            .bind(planned.iter().map(|p| p.processor).collect::<Vec<_>>())
            .bind(planned.iter().map(|p| p.account_id.to_string()).collect::<Vec<_>>())
            .bind(planned.iter().map(|p| p.rule).collect::<Vec<_>>())
            .bind(new_id::<AuditKind>().to_string())
            .bind(&actor)
            .bind(ctx.request_id)
            .bind(audit)
            .fetch_optional(conn)
            .await
    }
}

/// Which attempt decided a charge, and what its caller knows of the others, so that statements that could
/// change nothing are not sent.
pub struct Decided<'a> {
    pub attempt_id: &'a str,
    /// The first account planned decided: the charge already names it.
    pub first_choice: bool,
    /// No other authorize attempt exists to close.
    pub alone: bool,
    /// The charge as its create recorded it (with its price), before the processor was asked: an approval decided
    /// on it is written in one statement (`approve_in_one_statement`).
    pub recorded: Option<&'a ChargeWithPricing>,
}

/// At most this many accounts are offered for one charge (the first, and failovers).
pub const FAILOVER_ACCOUNTS_MAX: usize = 4;

/// The charge an earlier request with this key created, if the requests are the same.
async fn replay(ctx: &CreateContext<'_>) -> Result<ChargeRecord, ChargeError> {
    let id =
        idempotency::earlier(ctx.pool, ctx.scope, ctx.key_use()).await?.ok_or(ChargeError::IdempotencyKeyReused)?;
    let id = ChargeId::parse(&id)
        .map_err(|_| ChargeError::Database(sqlx::Error::Decode(format!("idempotency record names {id:?}").into())))?;
    super::get(ctx.pool, ctx.scope, id).await
}

impl CreateContext<'_> {
    fn key_use(&self) -> KeyUse<'_> {
        KeyUse { key: self.idempotency_key, fingerprint: self.fingerprint, object_type: "charge" }
    }
}

/// Applies the processor's answer to a pending charge, or to one waiting for its authentication (3-D Secure):
/// one transaction for the status, the attempt, the ledger, the audit row and the events. Also used by the
/// recovery job, the authentication's return and the processors' webhooks.
pub async fn apply_authorization(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    attempt_id: &str,
    outcome: AuthorizeOutcome,
) -> Result<ChargeRecord, ChargeError> {
    // Recovery, webhooks and returns from 3-D Secure know only the attempt: every statement is sent.
    let known = Decided { attempt_id, first_choice: false, alone: false, recorded: None };
    apply_decided(pool, scope, charge_id, known, outcome).await
}

/// `apply_authorization`, for a caller that knows more about the charge's attempts (`Decided`).
pub async fn apply_decided(
    pool: &PgPool,
    scope: Scope,
    charge_id: ChargeId,
    known: Decided<'_>,
    outcome: AuthorizeOutcome,
) -> Result<ChargeRecord, ChargeError> {
    if let Some(charge) = approve_in_one_statement(pool, scope, &known, &outcome).await? {
        return Ok(charge);
    }
    let attempt_id = known.attempt_id;
    let mut tx = pool.begin().await?;
    let select = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1 AND merchant_id = $2 FOR UPDATE");
    let charge: ChargeRecord =
        sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(charge_id).bind(scope.merchant_id).fetch_one(&mut *tx).await?;
    let from = charge.status()?;
    // A charge waiting for its authentication takes only a decision: that it still waits, or cannot tell yet,
    // changes nothing.
    let waiting_answer = matches!(
        outcome,
        AuthorizeOutcome::RequiresAction { .. } | AuthorizeOutcome::Pending { .. } | AuthorizeOutcome::Unknown { .. }
    );
    if from == ChargeStatus::RequiresAction && waiting_answer {
        return Ok(charge);
    }
    if from != ChargeStatus::Pending && from != ChargeStatus::RequiresAction {
        // Another worker (the recovery job, a retry, the processor's webhook) resolved it first; its answer
        // stands. Only the vault knows the card, so what it told us is kept if nobody had it.
        let card = match &outcome {
            AuthorizeOutcome::Approved { card, .. }
            | AuthorizeOutcome::Declined { card, .. }
            | AuthorizeOutcome::Misconfigured { card, .. } => card.as_ref(),
            _ => None,
        };
        if charge.card_last4.is_none() && card.is_some() {
            set_card(&mut tx, scope, charge_id, card).await?;
            tx.commit().await?;
            return super::get(pool, scope, charge_id).await;
        }
        return Ok(charge);
    }
    // The attempt that decides names the account that served the charge (failover may have moved it off the
    // first choice); every later operation goes there. The first choice is the account the charge names already.
    let served = if known.first_choice {
        0
    } else {
        sqlx::query(
            "UPDATE charges c SET processor_account_id = a.processor_account_id, processor = a.processor,
                routing_rule = a.routing_rule
         FROM charge_attempts a WHERE c.id = $1 AND a.id = $2 AND a.charge_id = c.id
           AND c.merchant_id = $3 AND a.merchant_id = c.merchant_id
           AND a.processor_account_id IS DISTINCT FROM c.processor_account_id",
        )
        .bind(charge_id)
        .bind(attempt_id)
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    };
    let charge: ChargeRecord = if served > 0 { read(&mut tx, scope, charge_id).await? } else { charge };
    // The charge as this transaction leaves it, answered without reading it again after the commit: each
    // step's event reads it (`record_event`); a write after the last event clears it.
    let mut latest = Some(charge.clone());
    let amount = charge.amount()?;
    let currency = charge.currency()?;
    let subject = Subject { charge_id: Some(charge_id), refund_id: None };
    let mut response_code: Option<String> = None;
    let mut attempt_closed = false;
    let (attempt_outcome, reference) = match &outcome {
        AuthorizeOutcome::Approved { processor_reference, captured, capture_pending, card } => {
            // Each step is written and announced on its own, so each event carries the charge as it was
            // right after that step (`charge.authorized` says authorized even when capture follows).
            let (status, amounts) = transition(from, ChargeAmounts::default(), ChargeAction::Authorize { amount })?;
            journal::post(&mut tx, scope, currency, LedgerEvent::Authorized { amount }, subject).await?;
            let step = Moved { charge_id, from, to: status, amounts };
            // The attempt is closed by the same statement.
            let close = AttemptClose { id: attempt_id, outcome: "succeeded", reference: Some(processor_reference) };
            let authorized =
                set_status(&mut tx, scope, &step, processor_reference, card.as_ref(), Some(&close)).await?;
            attempt_closed = true;
            latest = Some(record_event_of(&mut tx, scope, authorized, "charge.authorized").await?);
            if *captured {
                let (captured_status, captured_amounts) =
                    transition(status, amounts, ChargeAction::Capture { amount })?;
                let fee = pricing::for_charge(&mut tx, scope, charge_id).await?.fee(amount);
                let captured_event = LedgerEvent::Captured { authorized: amount, captured: amount, fee };
                journal::post(&mut tx, scope, currency, captured_event, subject).await?;
                let step = Moved { charge_id, from: status, to: captured_status, amounts: captured_amounts };
                let captured = set_status(&mut tx, scope, &step, processor_reference, None, None).await?;
                latest = Some(record_event_of(&mut tx, scope, captured, "charge.captured").await?);
            } else if *capture_pending {
                // A sale the processor authorized and captures on its own: claimed as a capture in flight,
                // exactly as if we had asked for it, so recovery (or the processor's webhook) settles it.
                let capture_attempt = new_id::<AttemptKind>().to_string();
                sqlx::query(
                    "UPDATE charges SET pending_operation = 'capture', updated_at = now()
                     WHERE id = $1 AND merchant_id = $2",
                )
                .bind(charge_id)
                .bind(scope.merchant_id)
                .execute(&mut *tx)
                .await?;
                latest = None;
                let processor = charge.processor.clone().unwrap_or_default();
                let attempt = AttemptStart {
                    id: &capture_attempt,
                    charge_id,
                    scope,
                    operation: "capture",
                    amount: amount.minor(),
                    processor: &processor,
                    processor_account_id: charge.processor_account_id,
                    routing_rule: None,
                    refund_id: None,
                };
                start_attempt(&mut tx, &attempt).await?;
                sqlx::query("UPDATE charge_attempts SET outcome = 'pending' WHERE id = $1 AND merchant_id = $2")
                    .bind(&capture_attempt)
                    .bind(scope.merchant_id)
                    .execute(&mut *tx)
                    .await?;
            }
            ("succeeded", Some(processor_reference.clone()))
        }
        AuthorizeOutcome::Declined { code, raw_code, card } => {
            // The card first, so the `charge.failed` event shows which card was declined.
            set_card(&mut tx, scope, charge_id, card.as_ref()).await?;
            latest = Some(fail(&mut tx, scope, charge_id, from, *code, Some(raw_code)).await?);
            response_code = Some(raw_code.clone());
            ("failed", None)
        }
        AuthorizeOutcome::Misconfigured { detail, card } => {
            set_card(&mut tx, scope, charge_id, card.as_ref()).await?;
            if let Some(account) = charge.processor_account_id {
                accounts::record_problem(&mut tx, account, detail).await?;
            }
            tracing::warn!(%charge_id, attempt_id, %detail, "processor account misconfigured");
            latest = Some(fail(&mut tx, scope, charge_id, from, DeclineCode::ProcessorMisconfigured, None).await?);
            ("failed", None)
        }
        AuthorizeOutcome::TokenRejected { .. } => {
            latest = Some(fail(&mut tx, scope, charge_id, from, DeclineCode::TokenUsed, None).await?);
            ("failed", None)
        }
        // Certainly never processed: nothing was authorized, so the charge fails (the token is spent).
        AuthorizeOutcome::NotSent { detail } => {
            tracing::warn!(%charge_id, attempt_id, %detail, "processor not reached");
            latest = Some(fail(&mut tx, scope, charge_id, from, DeclineCode::ProcessingError, Some("not_sent")).await?);
            ("failed", None)
        }
        AuthorizeOutcome::RequiresAction { processor_reference, redirect_url, card } => {
            // Only from pending (checked above): nothing is authorized, so nothing is booked.
            transition(from, ChargeAmounts::default(), ChargeAction::RequireAction)?;
            set_card(&mut tx, scope, charge_id, card.as_ref()).await?;
            sqlx::query(
                "UPDATE charges SET status = 'requires_action', processor_reference = $2, next_action_url = $3,
                        action_expires_at = now() + make_interval(mins => $4), updated_at = now()
                 WHERE id = $1 AND status = 'pending' AND merchant_id = $5",
            )
            .bind(charge_id)
            .bind(processor_reference)
            .bind(redirect_url)
            .bind(AUTHENTICATION_TTL_MINUTES as i32)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            latest = Some(record_event(&mut tx, scope, charge_id, "charge.requires_action").await?);
            ("pending", Some(processor_reference.clone()))
        }
        AuthorizeOutcome::Pending { processor_reference } => {
            tracing::info!(%charge_id, attempt_id, "authorization pending at the processor; left for recovery");
            ("unknown", processor_reference.clone())
        }
        AuthorizeOutcome::Unknown { detail } => {
            tracing::warn!(%charge_id, attempt_id, %detail, "authorization outcome unknown; left for recovery");
            ("unknown", None)
        }
    };
    if !attempt_closed {
        sqlx::query(
            "UPDATE charge_attempts SET outcome = $2, processor_reference = $3, response_code = $4, finished_at = now()
             WHERE id = $1 AND merchant_id = $5",
        )
        .bind(attempt_id)
        .bind(attempt_outcome)
        .bind(reference)
        .bind(response_code)
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
    }
    if attempt_outcome != "unknown" && !known.alone {
        // Decided: the charge's other authorize attempts were never processed (failed over from, or never
        // tried). While it is unknown they stay open, and recovery asks each account.
        sqlx::query(
            "UPDATE charge_attempts SET outcome = 'failed', response_code = 'not_processed', finished_at = now()
             WHERE charge_id = $1 AND operation = 'authorize' AND id <> $2 AND outcome IN ('started', 'unknown')
               AND merchant_id = $3",
        )
        .bind(charge_id)
        .bind(attempt_id)
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
    }
    let charge = match latest {
        Some(charge) => charge,
        None => read(&mut tx, scope, charge_id).await?,
    };
    tx.commit().await?;
    Ok(charge)
}

/// One step of an approved authorization: the charge moves `from` → `to` with `amounts`.
struct Moved {
    charge_id: ChargeId,
    from: ChargeStatus,
    to: ChargeStatus,
    amounts: ChargeAmounts,
}

/// The usual approval of a charge recorded by the caller (`Decided`) with no other account planned, authorized or
/// authorized and captured (a sale): written in one statement (`change`), from the charge as recorded, each step
/// with its posting and its event. `None` when the outcome is another (a sale the processor captures later, a
/// decline...), or when the statement wrote nothing (the charge changed since, or its first posting needs ledger
/// accounts made): the transaction then decides on the charge as it is.
async fn approve_in_one_statement(
    pool: &PgPool,
    scope: Scope,
    known: &Decided<'_>,
    outcome: &AuthorizeOutcome,
) -> Result<Option<ChargeRecord>, ChargeError> {
    let (Some(recorded), true, true) = (known.recorded, known.first_choice, known.alone) else { return Ok(None) };
    let AuthorizeOutcome::Approved { processor_reference, captured, capture_pending: false, card } = outcome else {
        return Ok(None);
    };
    let ChargeWithPricing { charge: recorded, pricing } = recorded;
    let amount = recorded.amount()?;
    let (status, amounts) =
        transition(recorded.status()?, ChargeAmounts::default(), ChargeAction::Authorize { amount })?;
    let mut authorized = recorded.clone();
    authorized.status = status.as_str().to_owned();
    authorized.amount_authorized = amounts.authorized.minor();
    authorized.amount_captured = amounts.captured.minor();
    authorized.processor_reference = Some(processor_reference.clone());
    authorized.authorization_expires = Some(crate::ids::unix_seconds_now() + AUTHORIZATION_TTL_DAYS * 24 * 60 * 60);
    authorized.next_action_url = None;
    authorized.action_expires = None;
    if let Some(card) = card {
        authorized.card_brand = Some(card.brand.clone());
        authorized.card_bin = Some(card.bin.clone());
        authorized.card_last4 = Some(card.last4.clone());
        authorized.card_exp_month = Some(card.exp_month);
        authorized.card_exp_year = Some(card.exp_year);
        authorized.card_fingerprint = Some(card.fingerprint.clone());
    }
    let posting = LedgerEvent::Authorized { amount };
    let mut steps = vec![Step { after: authorized, posting, event_type: "charge.authorized" }];
    if *captured {
        // Each step announced on its own, as the transaction does: `charge.authorized` says authorized.
        let (captured_status, captured_amounts) = transition(status, amounts, ChargeAction::Capture { amount })?;
        let fee = pricing::from_stored(pricing.as_deref())?.fee(amount);
        let mut after = steps[0].after.clone();
        after.status = captured_status.as_str().to_owned();
        after.amount_captured = captured_amounts.captured.minor();
        after.authorization_expires = None;
        let posting = LedgerEvent::Captured { authorized: amount, captured: amount, fee };
        steps.push(Step { after, posting, event_type: "charge.captured" });
    }
    let change = Change {
        scope,
        before: recorded,
        steps,
        attempt: AttemptClose { id: known.attempt_id, outcome: "succeeded", reference: Some(processor_reference) },
    };
    let mut conn = pool.acquire().await?;
    change::write(&mut conn, change).await
}

/// Moves the charge one approved step (and records the card the vault described, and closes the attempt, if
/// given), answering the charge as it now is: the step's event carries it without reading it again.
async fn set_status(
    conn: &mut PgConnection,
    scope: Scope,
    step: &Moved,
    processor_reference: &str,
    card: Option<&CardSummary>,
    close: Option<&AttemptClose<'_>>,
) -> Result<ChargeRecord, ChargeError> {
    let card_columns = match card {
        Some(_) => {
            ", card_brand = $9, card_bin = $10, card_last4 = $11, card_exp_month = $12, card_exp_year = $13,
                      card_fingerprint = $14"
        }
        None => "",
    };
    let next = if card.is_some() { 15 } else { 9 };
    let attempt = match close {
        Some(_) => format!(
            "WITH attempt AS (
                 UPDATE charge_attempts SET outcome = ${}, processor_reference = ${}, response_code = NULL,
                        finished_at = now()
                 WHERE id = ${} AND merchant_id = $8) ",
            next,
            next + 1,
            next + 2
        ),
        None => String::new(),
    };
    let update = format!(
        "{attempt}UPDATE charges SET status = $2, amount_authorized = $3, amount_captured = $4, processor_reference = $5,
                authorization_expires_at = CASE WHEN $2 = 'authorized' THEN now() + make_interval(days => $6) END,
                next_action_url = NULL, action_expires_at = NULL, updated_at = now(){card_columns}
         WHERE id = $1 AND status = $7 AND merchant_id = $8
         RETURNING {CHARGE_COLUMNS}"
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(update))
        .bind(step.charge_id)
        .bind(step.to.as_str())
        .bind(step.amounts.authorized.minor())
        .bind(step.amounts.captured.minor())
        .bind(processor_reference)
        .bind(AUTHORIZATION_TTL_DAYS as i32)
        .bind(step.from.as_str())
        .bind(scope.merchant_id);
    if let Some(card) = card {
        query = query
            .bind(&card.brand)
            .bind(&card.bin)
            .bind(&card.last4)
            .bind(card.exp_month)
            .bind(card.exp_year)
            .bind(&card.fingerprint);
    }
    if let Some(close) = close {
        query = query.bind(close.outcome).bind(close.reference).bind(close.id);
    }
    match query.fetch_optional(&mut *conn).await? {
        Some(charge) => Ok(charge),
        // The charge is locked and was read in `step.from`, so this does not happen; if it did, nothing changed
        // and the event carries the charge as it is.
        None => Ok(read(conn, scope, step.charge_id).await?),
    }
}

async fn fail(
    conn: &mut PgConnection,
    scope: Scope,
    charge_id: ChargeId,
    from: ChargeStatus,
    code: DeclineCode,
    processor_code: Option<&str>,
) -> Result<ChargeRecord, ChargeError> {
    transition(from, ChargeAmounts::default(), ChargeAction::Fail)?;
    let processor_code: Option<String> = processor_code.map(|c| c.chars().take(100).collect());
    sqlx::query(
        "UPDATE charges SET status = 'failed', failure_code = $2, failure_message = $3, failure_processor_code = $4,
                next_action_url = NULL, action_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND status = $5 AND merchant_id = $6",
    )
    .bind(charge_id)
    .bind(code.as_str())
    .bind(code.message())
    .bind(processor_code)
    .bind(from.as_str())
    .bind(scope.merchant_id)
    .execute(&mut *conn)
    .await?;
    record_event(conn, scope, charge_id, "charge.failed").await
}

async fn set_card(
    conn: &mut PgConnection,
    scope: Scope,
    charge_id: ChargeId,
    card: Option<&CardSummary>,
) -> Result<(), sqlx::Error> {
    let Some(card) = card else { return Ok(()) };
    sqlx::query(
        "UPDATE charges SET card_brand = $2, card_bin = $3, card_last4 = $4, card_exp_month = $5, card_exp_year = $6,
                card_fingerprint = $7 WHERE id = $1 AND merchant_id = $8",
    )
    .bind(charge_id)
    .bind(&card.brand)
    .bind(&card.bin)
    .bind(&card.last4)
    .bind(card.exp_month)
    .bind(card.exp_year)
    .bind(&card.fingerprint)
    .bind(scope.merchant_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The audit row and the outbox event of one state change, carrying the charge as it now is.
/// A processor call about to be made, recorded (committed) before it is made.
pub struct AttemptStart<'a> {
    pub id: &'a str,
    pub charge_id: ChargeId,
    pub scope: Scope,
    pub operation: &'static str,
    pub amount: i64,
    pub processor: &'a str,
    pub processor_account_id: Option<ProcessorAccountId>,
    /// The routing rule that chose the account (authorize attempts; `None`: the default or not routed).
    pub routing_rule: Option<i32>,
    /// The refund a refund attempt is for.
    pub refund_id: Option<RefundId>,
}

pub async fn start_attempt(conn: &mut PgConnection, attempt: &AttemptStart<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor, refund_id,
                                      processor_account_id, routing_rule)
         VALUES ($1, $2, $3, $4, $5, $6, 'started', $7, $8, $9, $10)",
    )
    .bind(attempt.id)
    .bind(attempt.charge_id)
    .bind(attempt.scope.merchant_id)
    .bind(attempt.scope.mode)
    .bind(attempt.operation)
    .bind(attempt.amount)
    .bind(attempt.processor)
    .bind(attempt.refund_id)
    .bind(attempt.processor_account_id)
    .bind(attempt.routing_rule)
    .execute(conn)
    .await?;
    Ok(())
}

/// The charge as the current transaction sees it (its changes included).
pub(super) async fn read(
    conn: &mut PgConnection,
    scope: Scope,
    charge_id: ChargeId,
) -> Result<ChargeRecord, sqlx::Error> {
    let select = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1 AND merchant_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(charge_id).bind(scope.merchant_id).fetch_one(conn).await
}

/// Answers the charge as the event carries it, so a caller that ends its transaction here need not read it again.
pub async fn record_event(
    conn: &mut PgConnection,
    scope: Scope,
    charge_id: ChargeId,
    event_type: &str,
) -> Result<ChargeRecord, ChargeError> {
    let charge = read(&mut *conn, scope, charge_id).await?;
    record_event_of(conn, scope, charge, event_type).await
}

/// `record_event` for a caller that holds the charge as the change left it (an `UPDATE … RETURNING`).
pub async fn record_event_of(
    conn: &mut PgConnection,
    scope: Scope,
    charge: ChargeRecord,
    event_type: &str,
) -> Result<ChargeRecord, ChargeError> {
    let charge_id = charge.id;
    let (object, data) = event_parts(&charge);
    let actor = crate::domain::actor::current();
    let entry = AuditEntry {
        actor: &actor,
        action: event_type,
        object_type: "charge",
        object_id: &charge_id.to_string(),
        request_id: None,
        data,
    };
    journal::audit_and_emit(conn, scope, entry, event_type, &charge_id.to_string(), object).await?;
    Ok(charge)
}

/// What a change's event carries (the charge as the API shows it) and what its audit row keeps.
pub(crate) fn event_parts(charge: &ChargeRecord) -> (Value, Value) {
    let object = crate::wire::to_value(&crate::wire::Charge::from(charge));
    (object, json!({ "status": charge.status, "amount_captured": charge.amount_captured }))
}
