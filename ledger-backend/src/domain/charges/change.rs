//! One change of a charge, decided in Rust on the charge as read, written by one statement that is its own
//! transaction: the charge's new columns, the attempt that decided it closed, and for each step of the change (an
//! approval, then the capture of a sale) its ledger posting, its audit row, and its outbox event carrying the
//! charge as that step left it, with the event's webhook deliveries (`Effects`). One round trip where a
//! transaction takes six or more (BEGIN, a locked read, the postings, the updates, the events, COMMIT).
//!
//! The statement writes only if the charge is still at the version it was read at (migration 0026: every change
//! of a charge's row makes a new version), so the charge it writes, and those its events carry, are exactly the
//! one the change was decided on, changed as decided. It writes nothing, and says so, when:
//! - anything changed the charge since it was read (a webhook, recovery, another request);
//! - a ledger account a posting needs does not exist yet (the merchant's first posting in that mode and
//!   currency);
//! - more deliveries are due (endpoints listening, per event) than ids were made for (`DELIVERY_IDS`).
//!
//! The caller then takes its locked transaction, which handles each of these; `tests/api/one_statement.rs` holds
//! each of them. A refund's reservation is written the same way (`refunds`), with the same `Effects`.

use super::ChargeError;
use super::record::ChargeRecord;
use crate::domain::journal::{self, Lines};
use crate::domain::tenancy::Scope;
use crate::domain::webhooks::deliveries::{DUE_CHANNEL, listens};
use crate::ids::new_id;
use paygate_core::id::{AuditKind, ChargeId, DeliveryKind, EventKind, LedgerTransactionKind, RefundId};
use paygate_core::ledger::LedgerEvent;
use serde_json::{Value, json};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, Row};

/// Delivery ids made for each change: a merchant with more endpoints listening to its events than this (rare:
/// most have one or two) takes the transaction, whose fan-out has no limit.
pub const DELIVERY_IDS: usize = 8;

/// The attempt a change closes: its outcome, and the processor's reference when it gave one (else the attempt's
/// own is kept).
pub struct AttemptClose<'a> {
    pub id: &'a str,
    pub outcome: &'static str,
    pub reference: Option<&'a str>,
}

/// One step of a change: the charge as it leaves it (what its event carries), its posting and its event's type.
pub struct Step {
    pub after: ChargeRecord,
    pub posting: LedgerEvent,
    pub event_type: &'static str,
}

/// A change of `before` through `steps`, in order; the last step's charge is the one written.
pub struct Change<'a> {
    pub scope: Scope,
    /// The charge as read; the statement writes only if it is still at `before.version`.
    pub before: &'a ChargeRecord,
    /// At least one. The charge's changeable columns are written from the last (status, amounts, processor
    /// reference, pending operation, authorization and action deadlines, card, failure); its other columns must
    /// be `before`'s.
    pub steps: Vec<Step>,
    pub attempt: AttemptClose<'a>,
}

/// Writes `change`; the charge as it now is, or `None` when nothing was written (see the module's comment).
pub async fn write(conn: &mut PgConnection, change: Change<'_>) -> Result<Option<ChargeRecord>, ChargeError> {
    let Change { scope, before, mut steps, attempt } = change;
    let mut effects = Effects::new(scope, before.currency()?, before.id, None);
    for step in &steps {
        debug_assert_eq!(
            (step.after.id, step.after.version, step.after.amount, &step.after.currency),
            (before.id, before.version, before.amount, &before.currency),
            "a change writes only its changeable columns"
        );
        effects.charge_step(step.posting, step.event_type, &step.after)?;
    }
    // A change without a step has nothing to write here: the caller's transaction decides.
    let Some(Step { after, .. }) = steps.pop() else { return Ok(None) };
    let moved = "EXISTS (SELECT 1 FROM moved)";
    // $1..$27: what accompanies it (`Effects`); then the charge, its version and the attempt.
    let statement = format!(
        "WITH moved AS (
             UPDATE charges SET status = $29, amount_authorized = $30, amount_captured = $31, amount_refunded = $32,
                    processor_reference = $33, pending_operation = $34,
                    authorization_expires_at = {}, next_action_url = $36, action_expires_at = {},
                    card_brand = $38, card_bin = $39, card_last4 = $40, card_exp_month = $41, card_exp_year = $42,
                    card_fingerprint = $43, failure_code = $44, failure_message = $45, failure_processor_code = $46,
                    updated_at = now()
             WHERE id = $28 AND merchant_id = $1 AND version = $47 AND {}
             RETURNING id),
         closed AS (
             UPDATE charge_attempts SET outcome = $48, processor_reference = coalesce($49, processor_reference),
                    response_code = NULL, finished_at = now()
             WHERE id = $50 AND merchant_id = $1 AND {moved}),
         {}
         SELECT (SELECT count(*) FROM moved), {}",
        kept_or_set("authorization_expires_at", 35),
        kept_or_set("action_expires_at", 37),
        Effects::fit(),
        Effects::ctes(moved),
        Effects::checks(moved),
    );
    let row = effects
        .bind(sqlx::query(sqlx::AssertSqlSafe(statement)))
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
        .bind(attempt.outcome)
        .bind(attempt.reference)
        .bind(attempt.id)
        .fetch_one(conn)
        .await?;
    let moved: i64 = row.try_get(0)?;
    // The row as written is the last step's charge at the next version (the trigger's).
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

/// What accompanies a change written in one statement, about one charge (and one refund, for a refund's): per
/// step, a ledger posting, an audit row and an outbox event, and the event's deliveries to the endpoints that
/// listen. Its SQL (`ctes`, `fit`, `checks`) takes parameters `$1`..`$27`, bound by `bind`; the statement's own
/// follow from `$28`.
pub(crate) struct Effects {
    scope: Scope,
    currency: paygate_core::Currency,
    charge_id: ChargeId,
    refund_id: Option<RefundId>,
    actor: String,
    lines: Lines,
    line_transactions: Vec<String>,
    transactions: Vec<String>,
    transaction_kinds: Vec<&'static str>,
    events: Vec<String>,
    types: Vec<&'static str>,
    objects: Vec<String>,
    data: Vec<Value>,
    audits: Vec<String>,
    object_types: Vec<&'static str>,
    request_ids: Vec<Option<String>>,
    audited: Vec<Value>,
    delivery_ids: Vec<String>,
}

impl Effects {
    /// Every account the postings need exists (accounts are never deleted, so they still do at commit), and the
    /// deliveries due fit the ids made: the condition under which the statement may write.
    pub fn fit() -> String {
        format!(
            "(SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = $1 AND a.mode = $2
                 AND a.currency = $17 AND a.kind = ANY($23::text[])) = cardinality($23::text[])
             AND (SELECT count(*) FROM unnest($3::text[]) AS v(type) JOIN webhook_endpoints e ON {})
                 <= cardinality($24::text[])",
            listens("v.type")
        )
    }

    pub fn new(
        scope: Scope,
        currency: paygate_core::Currency,
        charge_id: ChargeId,
        refund_id: Option<RefundId>,
    ) -> Self {
        Effects {
            scope,
            currency,
            charge_id,
            refund_id,
            actor: crate::domain::actor::current(),
            lines: Lines::default(),
            line_transactions: Vec::new(),
            transactions: Vec::new(),
            transaction_kinds: Vec::new(),
            events: Vec::new(),
            types: Vec::new(),
            objects: Vec::new(),
            data: Vec::new(),
            audits: Vec::new(),
            object_types: Vec::new(),
            request_ids: Vec::new(),
            audited: Vec::new(),
            delivery_ids: (0..DELIVERY_IDS).map(|_| new_id::<DeliveryKind>().to_string()).collect(),
        }
    }

    /// A posting about the charge (and the refund), booked as its own ledger transaction.
    pub fn post(&mut self, posting: LedgerEvent) -> Result<(), ChargeError> {
        let transaction = new_id::<LedgerTransactionKind>().to_string();
        let count = self.lines.add(posting).map_err(journal::JournalError::from)?;
        self.line_transactions.extend(std::iter::repeat_n(transaction.clone(), count));
        self.transactions.push(transaction);
        self.transaction_kinds.push(posting.kind());
        Ok(())
    }

    /// An event of `event_type` carrying `object` (the API's JSON of the object as the step left it), and its
    /// audit row keeping `audited`.
    pub fn announce(
        &mut self,
        event_type: &'static str,
        object_type: &'static str,
        object_id: String,
        object: Value,
        audited: Value,
        request_id: Option<&str>,
    ) {
        debug_assert!(
            crate::domain::webhooks::endpoints::is_event_type(event_type),
            "{event_type} is not in the catalogue (endpoints::EVENT_TYPES)"
        );
        self.events.push(new_id::<EventKind>().to_string());
        self.types.push(event_type);
        self.objects.push(object_id);
        self.data.push(json!({ "object": object }));
        self.audits.push(new_id::<AuditKind>().to_string());
        self.object_types.push(object_type);
        self.request_ids.push(request_id.map(str::to_owned));
        self.audited.push(audited);
    }

    /// A step of the charge: its posting, and its event carrying the charge as `after`.
    pub fn charge_step(
        &mut self,
        posting: LedgerEvent,
        event_type: &'static str,
        after: &ChargeRecord,
    ) -> Result<(), ChargeError> {
        self.post(posting)?;
        let (object, audited) = super::create::event_parts(after);
        self.announce(event_type, "charge", after.id.to_string(), object, audited, None);
        Ok(())
    }

    /// The ledger transactions and their entries, the audit rows, the events and their deliveries, as CTEs written
    /// only where `condition` holds (followed by a comma: the statement's final SELECT comes next).
    pub fn ctes(condition: &str) -> String {
        format!(
            "posted AS (
                 INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
                 SELECT t.id, $1, $2, t.kind, $26, $27 FROM unnest($21::text[], $22::text[]) AS t(id, kind)
                 WHERE {condition}),
             entries AS ({} RETURNING 1),
             {},
             delivered AS (
                 INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
                 SELECT ($24::text[])[row_number() OVER ()], v.id, e.id, $1, $2, 'pending'
                 FROM unnest($4::text[], $3::text[]) AS v(id, type) JOIN webhook_endpoints e ON {}
                 WHERE {condition}
                 RETURNING 1)",
            journal::entries_sql(14, condition),
            journal::audited_and_emitted(condition),
            listens("v.type"),
        )
    }

    /// The final SELECT's checks: every line of the postings found its account (`fit` holds it; were one missing,
    /// this divides by zero, which undoes the whole statement), and the workers waiting for due deliveries are
    /// woken at commit (`deliveries::DUE_CHANNEL`).
    pub fn checks(condition: &str) -> String {
        format!(
            "1 / ((SELECT count(*) FROM entries) = cardinality($18::smallint[]) OR NOT {condition})::int,
             (SELECT count(*) FROM (SELECT pg_notify($25, '') FROM delivered LIMIT 1) AS woken)"
        )
    }

    /// Binds `$1`..`$27`.
    pub fn bind<'q>(&'q self, query: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        query
            // The events and their audit rows (`journal::audited_and_emitted`).
            .bind(self.scope.merchant_id)
            .bind(self.scope.mode)
            .bind(&self.types)
            .bind(&self.events)
            .bind(&self.objects)
            .bind(&self.audits)
            .bind(&self.actor)
            .bind(&self.types)
            .bind(&self.object_types)
            .bind(&self.objects)
            .bind(&self.request_ids)
            .bind(&self.audited)
            .bind(&self.data)
            // The postings' entries (`journal::entries_sql`).
            .bind(&self.line_transactions)
            .bind(self.scope.merchant_id)
            .bind(self.scope.mode)
            .bind(self.currency.code())
            .bind(&self.lines.numbers)
            .bind(&self.lines.kinds)
            .bind(&self.lines.amounts)
            // The ledger transactions, the accounts they need, the deliveries' ids, the wake-up, the subject.
            .bind(&self.transactions)
            .bind(&self.transaction_kinds)
            .bind(self.lines.accounts())
            .bind(&self.delivery_ids)
            .bind(DUE_CHANNEL)
            .bind(self.charge_id)
            .bind(self.refund_id)
    }
}
