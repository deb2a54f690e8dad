//! Settlement booked, in the run that matched it: the matched rows are claimed in `settlement_postings` (one row
//! per processor row, so none can ever post twice, however often a day is run again), then booked per currency
//! as a handful of journal transactions (core's `LedgerEvent::Settled`, `RefundSettled`, `ProcessorFee`,
//! `PaidOut`) rather than one per row: a million rows are a few postings. The merchant's share of each capture is
//! what its capture credited to `merchant_pending` (the capture less our fee); it moves to `merchant_available`,
//! and out again with the payout that contains it. Rows settled in another currency than the payment's are
//! matched but not booked (their conversion is left to the operator, counted in the summary).

use super::matching::MatchError;
use crate::domain::journal::{self, Subject};
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use paygate_core::Currency;
use paygate_core::id::{PayoutKind, ProcessorAccountId};
use paygate_core::ledger::LedgerEvent;
use paygate_core::money::Amount;
use sqlx::PgConnection;

/// What a run booked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Booked {
    /// Rows claimed and booked by this run.
    pub rows: u64,
    /// Matched rows left unbooked (settled in another currency than the payment's).
    pub unbooked: u64,
    /// Payouts created or added to.
    pub payouts: u64,
}

/// Books the rows of the run's `recon` table that matched and no run has booked before.
pub async fn book(
    conn: &mut PgConnection,
    scope: Scope,
    account: ProcessorAccountId,
    run: &str,
) -> Result<Booked, MatchError> {
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_booked ON COMMIT DROP AS
         WITH candidates AS (
             SELECT x.report_id, x.line, x.row_key, x.kind, x.charge_id, x.presentment_amount,
                    x.settlement_currency AS currency, x.fee, x.net, x.payout
             FROM recon x
             WHERE x.category IS NULL AND x.kind IN ('capture', 'capture_reversal', 'refund', 'fee')
               AND (x.presentment_currency IS NULL OR x.presentment_currency = x.settlement_currency)),
         claimed AS (
             INSERT INTO settlement_postings (processor_account_id, row_key, merchant_id, mode, report_id, line, run_id,
                                              transaction_id)
             SELECT $1, row_key, $2, $3, report_id, line, $4, '' FROM candidates
             ON CONFLICT (processor_account_id, row_key) DO NOTHING RETURNING row_key)
         SELECT c.* FROM candidates c JOIN claimed USING (row_key)",
    )
    .bind(account)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(run)
    .execute(&mut *conn)
    .await?;
    let unbooked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recon WHERE category IS NULL AND presentment_currency <> settlement_currency",
    )
    .fetch_one(&mut *conn)
    .await?;
    // The merchant's share of each capture booked here, once per charge (a capture may be several rows: a
    // Checkout.com fee line beside its gross): what its capture credited to `merchant_pending`.
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_shares ON COMMIT DROP AS
         SELECT b.charge_id, b.currency, b.payout,
                (SELECT -coalesce(sum(e.amount), 0) FROM ledger_transactions t
                 JOIN ledger_entries e ON e.transaction_id = t.id
                 JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'merchant_pending'
                 WHERE t.charge_id = b.charge_id AND t.kind = 'capture')::bigint AS share
         FROM (SELECT DISTINCT ON (charge_id) charge_id, currency, payout FROM recon_booked
               WHERE kind = 'capture' ORDER BY charge_id, presentment_amount IS NULL) b",
    )
    .execute(&mut *conn)
    .await?;
    let sums: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.currency,
                coalesce(sum(b.presentment_amount) FILTER (WHERE b.kind IN ('capture', 'capture_reversal')), 0)::bigint,
                coalesce(sum(b.fee) FILTER (WHERE b.kind IN ('capture', 'capture_reversal')), 0)::bigint,
                coalesce((SELECT sum(s.share) FROM recon_shares s WHERE s.currency = b.currency), 0)::bigint,
                coalesce(-sum(b.presentment_amount) FILTER (WHERE b.kind = 'refund'), 0)::bigint,
                coalesce(-sum(b.net) FILTER (WHERE b.kind = 'fee'), 0)::bigint
                    + coalesce(sum(b.fee) FILTER (WHERE b.kind = 'refund'), 0)::bigint
         FROM recon_booked b GROUP BY b.currency ORDER BY b.currency",
    )
    .fetch_all(&mut *conn)
    .await?;
    let claimed: i64 = sqlx::query_scalar("SELECT count(*) FROM recon_booked").fetch_one(&mut *conn).await?;
    for (code, gross, processor_fee, share, refunded, fees) in sums {
        let currency = Currency::parse(&code).map_err(|e| MatchError::Booking(format!("{code}: {e}")))?;
        // Each event with the row kinds it settles.
        let mut events: Vec<(LedgerEvent, &[&str])> = Vec::new();
        if gross > 0 {
            let settled = LedgerEvent::Settled {
                gross: amount(gross)?,
                processor_fee: amount(processor_fee.max(0))?,
                payout: amount(share)?,
            };
            events.push((settled, &["capture", "capture_reversal"]));
        }
        if refunded > 0 {
            events.push((LedgerEvent::RefundSettled { amount: amount(refunded)? }, &["refund"]));
        }
        if fees > 0 {
            events.push((LedgerEvent::ProcessorFee { amount: amount(fees)? }, &["fee"]));
        }
        for (event, kinds) in events {
            let transaction = journal::post(conn, scope, currency, event, Subject::default()).await?;
            let kinds: Vec<&str> = kinds.to_vec();
            sqlx::query(
                "UPDATE settlement_postings p SET transaction_id = $1
                 FROM recon_booked b
                 WHERE p.processor_account_id = $2 AND p.row_key = b.row_key AND b.currency = $3
                   AND b.kind = ANY($4) AND p.run_id = $5",
            )
            .bind(&transaction)
            .bind(account)
            .bind(&code)
            .bind(&kinds)
            .bind(run)
            .execute(&mut *conn)
            .await?;
        }
    }
    let payouts = pay_out(conn, scope, account, run).await?;
    Ok(Booked { rows: claimed as u64, unbooked: unbooked as u64, payouts })
}

fn amount(minor: i64) -> Result<Amount, MatchError> {
    Amount::new(minor).map_err(|e| MatchError::Booking(format!("{minor}: {e}")))
}

/// The payouts the booked rows belong to: each pays out the merchant's share of its captures less its refunds.
async fn pay_out(
    conn: &mut PgConnection,
    scope: Scope,
    account: ProcessorAccountId,
    run: &str,
) -> Result<u64, MatchError> {
    let batches: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT b.payout, b.currency,
                (coalesce((SELECT sum(s.share) FROM recon_shares s WHERE s.payout = b.payout AND s.currency = b.currency), 0)
                 + coalesce(sum(b.presentment_amount) FILTER (WHERE b.kind = 'refund'), 0))::bigint
         FROM recon_booked b WHERE b.payout IS NOT NULL GROUP BY b.payout, b.currency ORDER BY b.payout, b.currency",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut count = 0;
    for (payout, code, paid) in batches {
        if paid <= 0 {
            // Refunds beyond captures: the processor takes it from the merchant, no money goes out.
            continue;
        }
        let currency = Currency::parse(&code).map_err(|e| MatchError::Booking(format!("{code}: {e}")))?;
        let transaction =
            journal::post(conn, scope, currency, LedgerEvent::PaidOut { amount: amount(paid)? }, Subject::default())
                .await?;
        sqlx::query(
            "UPDATE settlement_postings p SET payout_transaction_id = $1
             FROM recon_booked b
             WHERE p.processor_account_id = $2 AND p.row_key = b.row_key AND b.payout = $3 AND b.currency = $4
               AND p.run_id = $5",
        )
        .bind(&transaction)
        .bind(account)
        .bind(&payout)
        .bind(&code)
        .bind(run)
        .execute(&mut *conn)
        .await?;
        let id = new_id::<PayoutKind>().to_string();
        let (payout_id, created): (String, bool) = sqlx::query_as(
            "INSERT INTO payouts AS p (id, merchant_id, mode, processor_account_id, processor_payout, currency, amount,
                                       status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'paid')
             ON CONFLICT (processor_account_id, processor_payout, currency)
                 DO UPDATE SET amount = p.amount + EXCLUDED.amount, updated_at = now()
             RETURNING p.id, (p.id = $1)",
        )
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(account)
        .bind(&payout)
        .bind(&code)
        .bind(paid)
        .fetch_one(&mut *conn)
        .await?;
        if created {
            let record = super::payouts::get_in(conn, scope, &payout_id).await?;
            let object = crate::wire::to_value(&crate::wire::Payout::from(&record));
            journal::emit(conn, scope, "payout.paid", &payout_id, object).await?;
        }
        count += 1;
    }
    Ok(count)
}
