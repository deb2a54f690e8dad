//! Settlement booked, in the run that matched it: the matched rows are claimed in `settlement_postings` (one row
//! per processor row, so none can ever post twice, however often a day is run again), then booked per currency
//! as a handful of journal transactions (core's `LedgerEvent::Settled`, `RefundSettled`, `ProcessorFee`,
//! `PaidOut`) rather than one per row: a million rows are a few postings; a payout the bank returned is booked
//! back (`PayoutFailed`) row by row (they are few). The merchant's share of each capture is
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
    /// Payouts the bank returned, booked back to the merchant's available balance.
    pub payouts_failed: u64,
}

/// Books the rows of the run's `recon` table that matched and no run has booked before. Runs of one account
/// are serialized (`matching::run` holds its lock), so the rows found unbooked here stay so until the claim.
pub async fn book(
    conn: &mut PgConnection,
    scope: Scope,
    account: ProcessorAccountId,
    run: &str,
) -> Result<Booked, MatchError> {
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_converted ON COMMIT DROP AS
         SELECT DISTINCT charge_id FROM recon
         WHERE category IS NULL AND charge_id IS NOT NULL AND presentment_currency <> settlement_currency",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_booked ON COMMIT DROP AS
         SELECT x.report_id, x.line, x.row_key, x.kind, x.charge_id, x.presentment_amount,
                x.settlement_currency AS currency, x.fee, x.net, x.payout,
                CASE WHEN x.kind IN ('capture', 'capture_reversal') THEN 'capture' ELSE x.kind END AS book_as
         FROM recon x
         WHERE x.category IS NULL AND x.kind IN ('capture', 'capture_reversal', 'refund', 'fee')
           AND (x.presentment_currency IS NULL OR x.presentment_currency = x.settlement_currency)
           -- Every row of a payment settled in another currency stays unbooked, its fee lines included.
           AND NOT EXISTS (SELECT 1 FROM recon_converted v WHERE v.charge_id = x.charge_id)
           AND NOT EXISTS (SELECT 1 FROM settlement_postings p
                           WHERE p.processor_account_id = $1 AND p.row_key = x.row_key AND p.merchant_id = $2)",
    )
    .bind(account)
    .bind(scope.merchant_id)
    .execute(&mut *conn)
    .await?;
    let unbooked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recon x
         WHERE x.category IS NULL AND EXISTS (SELECT 1 FROM recon_converted v WHERE v.charge_id = x.charge_id)",
    )
    .fetch_one(&mut *conn)
    .await?;
    // The merchant's share of each capture booked here, once per charge (a capture may be several rows: a
    // Checkout.com fee line beside its gross): what its capture credited to `merchant_pending`.
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_shares ON COMMIT DROP AS
         SELECT b.charge_id, b.currency, b.payout,
                (SELECT -coalesce(sum(e.amount), 0) FROM ledger_transactions t
                 JOIN ledger_entries e ON e.transaction_id = t.id AND e.merchant_id = t.merchant_id
                 JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = e.merchant_id
                                       AND a.kind = 'merchant_pending'
                 WHERE t.charge_id = b.charge_id AND t.kind = 'capture' AND t.merchant_id = $1)::bigint AS share
         FROM (SELECT DISTINCT ON (charge_id) charge_id, currency, payout FROM recon_booked
               WHERE book_as = 'capture' ORDER BY charge_id, presentment_amount IS NULL) b",
    )
    .bind(scope.merchant_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_transactions (currency text, book_as text, transaction_id text) ON COMMIT DROP",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_payouts (payout text, currency text, transaction_id text) ON COMMIT DROP",
    )
    .execute(&mut *conn)
    .await?;
    let sums: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.currency,
                coalesce(sum(b.presentment_amount) FILTER (WHERE b.book_as = 'capture'), 0)::bigint,
                coalesce(sum(b.fee) FILTER (WHERE b.book_as = 'capture'), 0)::bigint,
                coalesce((SELECT sum(s.share) FROM recon_shares s WHERE s.currency = b.currency), 0)::bigint,
                coalesce(-sum(b.presentment_amount) FILTER (WHERE b.kind = 'refund'), 0)::bigint,
                coalesce(-sum(b.net) FILTER (WHERE b.kind = 'fee'), 0)::bigint
         FROM recon_booked b GROUP BY b.currency ORDER BY b.currency",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (code, gross, processor_fee, share, refunded, fees) in sums {
        let currency = Currency::parse(&code).map_err(|e| MatchError::Booking(format!("{code}: {e}")))?;
        // Each event with the rows it settles; a group with nothing to book stays unbooked.
        let mut events: Vec<(LedgerEvent, &str)> = Vec::new();
        // Captures whose fees exceed them (a report no processor would send) are left unbooked for an operator,
        // rather than refusing the whole run.
        if gross > 0 && (0..=gross).contains(&processor_fee) {
            let settled = LedgerEvent::Settled {
                gross: amount(gross)?,
                processor_fee: amount(processor_fee)?,
                payout: amount(share)?,
            };
            events.push((settled, "capture"));
        }
        if refunded > 0 {
            events.push((LedgerEvent::RefundSettled { amount: amount(refunded)? }, "refund"));
        }
        if fees > 0 {
            events.push((LedgerEvent::ProcessorFee { amount: amount(fees)? }, "fee"));
        }
        for (event, book_as) in events {
            let transaction = journal::post(conn, scope, currency, event, Subject::default()).await?;
            sqlx::query("INSERT INTO recon_transactions VALUES ($1, $2, $3)")
                .bind(&code)
                .bind(book_as)
                .bind(&transaction)
                .execute(&mut *conn)
                .await?;
        }
    }
    let payouts = pay_out(conn, scope, account).await?;
    // The claim: one posting row per processor row, naming what booked it. The lock makes a conflict impossible;
    // were one to happen anyway, the counts disagree and the run is rolled back rather than book twice.
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recon_booked b JOIN recon_transactions t ON t.currency = b.currency AND t.book_as = b.book_as",
    )
    .fetch_one(&mut *conn)
    .await?;
    let unbooked = unbooked
        + sqlx::query_scalar::<_, i64>("SELECT count(*) FROM recon_booked").fetch_one(&mut *conn).await?
        - expected;
    let claimed = sqlx::query(
        "INSERT INTO settlement_postings (processor_account_id, row_key, merchant_id, mode, report_id, line, run_id,
                                          transaction_id, payout_transaction_id)
         SELECT $1, b.row_key, $2, $3, b.report_id, b.line, $4, t.transaction_id, p.transaction_id
         FROM recon_booked b
         JOIN recon_transactions t ON t.currency = b.currency AND t.book_as = b.book_as
         LEFT JOIN recon_payouts p ON p.payout = b.payout AND p.currency = b.currency AND b.kind <> 'fee'
         ON CONFLICT (processor_account_id, row_key, merchant_id) DO NOTHING",
    )
    .bind(account)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(run)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed as i64 != expected {
        return Err(MatchError::Booking(format!("{claimed} rows claimed of {expected}: another run booked some")));
    }
    let payouts_failed = fail_payouts(conn, scope, account, run).await?;
    Ok(Booked { rows: claimed + payouts_failed, unbooked: unbooked as u64, payouts, payouts_failed })
}

/// The payouts the bank returned (matched `payout_failure` rows not booked before): each row books the money back
/// to the merchant's available balance, once (its claim in `settlement_postings`), and marks its payout failed
/// with a `payout.failed` event.
async fn fail_payouts(
    conn: &mut PgConnection,
    scope: Scope,
    account: ProcessorAccountId,
    run: &str,
) -> Result<u64, MatchError> {
    // What goes back to the merchant is what its payout paid it (its share; the processor's fees were ours).
    let rows: Vec<(String, i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT x.report_id, x.line, x.row_key, x.payout, x.settlement_currency, po.amount FROM recon x
         JOIN payouts po ON po.processor_account_id = $1 AND po.processor_payout = x.payout
                        AND po.currency = x.settlement_currency AND po.merchant_id = $2
         WHERE x.category IS NULL AND x.kind = 'payout_failure'
           AND NOT EXISTS (SELECT 1 FROM settlement_postings p
                           WHERE p.processor_account_id = $1 AND p.row_key = x.row_key AND p.merchant_id = $2)
         ORDER BY x.report_id, x.line",
    )
    .bind(account)
    .bind(scope.merchant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut count = 0;
    for (report, line, row_key, payout, code, returned) in rows {
        let currency = Currency::parse(&code).map_err(|e| MatchError::Booking(format!("{code}: {e}")))?;
        let event = LedgerEvent::PayoutFailed { amount: amount(returned)? };
        let transaction = journal::post(conn, scope, currency, event, Subject::default()).await?;
        let claimed = sqlx::query(
            "INSERT INTO settlement_postings (processor_account_id, row_key, merchant_id, mode, report_id, line, run_id,
                                              transaction_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (processor_account_id, row_key, merchant_id) DO NOTHING",
        )
        .bind(account)
        .bind(&row_key)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&report)
        .bind(line)
        .bind(run)
        .bind(&transaction)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(MatchError::Booking(format!("payout failure {row_key}: another run booked it")));
        }
        let failed: Option<String> = sqlx::query_scalar(
            "UPDATE payouts SET status = 'failed', updated_at = now()
             WHERE processor_account_id = $1 AND currency = $2 AND status = 'paid'
               AND processor_payout = $3 AND merchant_id = $4
             RETURNING id",
        )
        .bind(account)
        .bind(&code)
        .bind(&payout)
        .bind(scope.merchant_id)
        .fetch_optional(&mut *conn)
        .await?;
        // Matching lets one return per payout through; were a second to come, the run is rolled back rather than
        // give the money back twice.
        let payout_id =
            failed.ok_or_else(|| MatchError::Booking(format!("payout failure {row_key}: no paid payout")))?;
        let record = super::payouts::get_in(conn, scope, &payout_id).await?;
        let object = crate::wire::to_value(&crate::wire::Payout::from(&record));
        journal::emit(conn, scope, "payout.failed", &payout_id, object).await?;
        count += 1;
    }
    Ok(count)
}

fn amount(minor: i64) -> Result<Amount, MatchError> {
    Amount::new(minor).map_err(|e| MatchError::Booking(format!("{minor}: {e}")))
}

/// The payouts the booked rows belong to: each pays out the merchant's share of its captures less its refunds.
async fn pay_out(conn: &mut PgConnection, scope: Scope, account: ProcessorAccountId) -> Result<u64, MatchError> {
    let batches: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT b.payout, b.currency,
                (coalesce((SELECT sum(s.share) FROM recon_shares s WHERE s.payout = b.payout AND s.currency = b.currency), 0)
                 + coalesce(sum(b.presentment_amount) FILTER (WHERE b.kind = 'refund'), 0))::bigint
         FROM recon_booked b
         JOIN recon_transactions t ON t.currency = b.currency AND t.book_as = b.book_as
         WHERE b.payout IS NOT NULL AND b.kind <> 'fee'
         GROUP BY b.payout, b.currency ORDER BY b.payout, b.currency",
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
        sqlx::query("INSERT INTO recon_payouts VALUES ($1, $2, $3)")
            .bind(&payout)
            .bind(&code)
            .bind(&transaction)
            .execute(&mut *conn)
            .await?;
        let id = new_id::<PayoutKind>().to_string();
        let (payout_id, created): (String, bool) = sqlx::query_as(
            "INSERT INTO payouts AS p (id, merchant_id, mode, processor_account_id, processor_payout, currency, amount,
                                       status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'paid')
             ON CONFLICT (processor_account_id, processor_payout, currency, merchant_id)
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
