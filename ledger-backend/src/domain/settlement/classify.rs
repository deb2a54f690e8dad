//! The matching rules, as one statement: the rows of the run's reports, each joined to its charge (by our id,
//! then by the processor's payment id) and refund (by our id, then by the processor's refund id), the rules
//! applied in order (first match wins), and the per-charge amount and fee checks as window sums over the
//! rows that passed the rules before them. One pass over the rows, no per-row updates: a million rows are a few
//! hash joins and two sorts. The result is the temporary table `recon`, one row per report row with its
//! `category` (NULL: matched), what it is about and the amounts compared.
//!
//! Rules, in order: `duplicate` (a row key seen before: earlier in these reports, or in any report imported
//! before the row's own); `unknown_row_type`; `missing_in_ledger` (a capture or dispute with no charge, a refund with no refund or
//! charge, any adjustment); `status_mismatch` (a refund or chargeback at the processor that we never recorded,
//! a capture of a charge not captured here, a refund whose state differs); `currency_mismatch`;
//! `amount_mismatch` (a refund's amount, or a charge's capture rows not adding up to what we captured);
//! `fee_variance` (a charge's processor fees against the account's contracted fees, when it has some). A payout
//! failure matches the payout it returns: `missing_in_ledger` when we never paid it out, `status_mismatch` when it
//! had failed already, `amount_mismatch` when it returns another amount than the processor's payout row paid.

use crate::domain::processors::accounts::ExpectedFees;
use crate::domain::tenancy::Scope;
use paygate_core::id::ProcessorAccountId;
use sqlx::PgConnection;

/// Builds `recon` for the rows of `reports`; the number of rows.
pub async fn classify(
    conn: &mut PgConnection,
    scope: Scope,
    account: ProcessorAccountId,
    reports: &[String],
    fees: Option<ExpectedFees>,
) -> Result<u64, sqlx::Error> {
    let (basis_points, fixed, tolerance) = match fees {
        Some(f) => (Some(i64::from(f.pricing.basis_points())), f.pricing.fixed().minor(), f.tolerance),
        None => (None, 0, 0),
    };
    let created = sqlx::query(
        "CREATE TEMPORARY TABLE recon ON COMMIT DROP AS
         WITH account_charges AS (
             SELECT id, processor_reference, status, currency, amount_captured FROM charges
             WHERE merchant_id = $1 AND mode = $2 AND processor_account_id = $3),
         account_refunds AS (
             SELECT f.id, f.charge_id, f.processor_reference, f.status, f.currency, f.amount
             FROM refunds f JOIN charges c ON c.id = f.charge_id AND c.merchant_id = f.merchant_id
             WHERE f.merchant_id = $1 AND f.mode = $2 AND c.processor_account_id = $3),
         reported AS (
             SELECT r.report_id, r.line, r.row_key, r.kind, r.presentment_amount, r.presentment_currency,
                    r.settlement_currency, r.gross, r.fee, r.net, r.our_charge, r.our_refund, r.processor_payment,
                    r.processor_object, r.payout,
                    row_number() OVER (PARTITION BY r.row_key ORDER BY r.report_id, r.line) > 1
                        OR EXISTS (SELECT 1 FROM settlement_rows s
                                   WHERE s.processor_account_id = $3 AND s.row_key = r.row_key
                                     AND s.merchant_id = $1
                                     AND s.report_id < r.report_id AND s.report_id <> ALL($4))
                        AS repeated
             FROM settlement_rows r
             WHERE r.processor_account_id = $3 AND r.report_id = ANY($4) AND r.merchant_id = $1),
         resolved AS (
             SELECT w.*, coalesce(c1.id, c2.id) AS row_charge, coalesce(c1.status, c2.status) AS charge_status,
                    coalesce(c1.currency, c2.currency) AS charge_currency,
                    coalesce(c1.amount_captured, c2.amount_captured) AS charge_captured,
                    coalesce(f1.id, f2.id) AS refund_id, coalesce(f1.charge_id, f2.charge_id) AS refund_charge,
                    coalesce(f1.status, f2.status) AS refund_status, coalesce(f1.currency, f2.currency) AS refund_currency,
                    coalesce(f1.amount, f2.amount) AS refund_amount, po.amount AS paid_out, po.status AS payout_status,
                    paid.amount AS processor_paid, paid.in_run AS paid_in_run,
                    EXISTS (SELECT 1 FROM settlement_postings sp
                            WHERE sp.processor_account_id = $3 AND sp.row_key = w.row_key
                              AND sp.merchant_id = $1) AS booked_before
             FROM reported w
             LEFT JOIN account_charges c1 ON c1.id = w.our_charge
             LEFT JOIN account_charges c2 ON c1.id IS NULL AND c2.processor_reference = w.processor_payment
             LEFT JOIN account_refunds f1 ON w.kind IN ('refund', 'refund_failure') AND f1.id = w.our_refund
             LEFT JOIN account_refunds f2 ON w.kind IN ('refund', 'refund_failure') AND f1.id IS NULL
                                          AND f2.processor_reference = w.processor_object
             LEFT JOIN payouts po ON w.kind = 'payout_failure' AND po.processor_account_id = $3
                                  AND po.processor_payout = w.payout AND po.currency = w.settlement_currency
                                  AND po.merchant_id = $1
             -- What the processor's own payout row said it paid (formats without payout rows: NULL, unchecked).
             LEFT JOIN LATERAL (SELECT -sum(pr.net) AS amount, bool_or(pr.report_id = ANY($4)) AS in_run
                                FROM settlement_rows pr
                                WHERE w.kind = 'payout_failure' AND pr.processor_account_id = $3
                                  AND pr.merchant_id = $1
                                  AND pr.kind = 'payout' AND pr.payout = w.payout
                                  AND pr.settlement_currency = w.settlement_currency) paid ON true),
         ruled AS (
             SELECT v.*, coalesce(v.refund_charge, v.row_charge) AS charge_id, CASE
                 WHEN v.repeated THEN 'duplicate'
                 WHEN v.kind = 'unknown' THEN 'unknown_row_type'
                 -- A payout in these same reports is paid out by this run, before its failures are booked.
                 WHEN v.kind = 'payout_failure' AND v.paid_out IS NULL AND v.paid_in_run IS NOT TRUE
                     THEN 'missing_in_ledger'
                 -- Failed before (by another row), or returned twice in these reports: the first return alone counts.
                 WHEN CASE WHEN v.kind = 'payout_failure' AND NOT v.booked_before THEN v.payout_status = 'failed'
                        OR EXISTS (SELECT 1 FROM settlement_rows e
                                   WHERE e.processor_account_id = $3 AND e.report_id = ANY($4)
                                     AND e.merchant_id = $1
                                     AND e.kind = 'payout_failure' AND e.payout = v.payout
                                     AND e.settlement_currency = v.settlement_currency
                                     AND (e.report_id, e.line) < (v.report_id, v.line)) END
                     THEN 'status_mismatch'
                 WHEN v.kind = 'payout_failure' AND v.net <> v.processor_paid THEN 'amount_mismatch'
                 WHEN v.kind = 'adjustment'
                   OR (v.kind IN ('capture', 'capture_reversal', 'dispute', 'dispute_reversal') AND v.row_charge IS NULL)
                   OR (v.kind IN ('refund', 'refund_failure') AND v.refund_id IS NULL AND v.row_charge IS NULL)
                     THEN 'missing_in_ledger'
                 WHEN v.kind IN ('refund', 'refund_failure', 'dispute', 'dispute_reversal') AND v.refund_id IS NULL
                     THEN 'status_mismatch'
                 WHEN v.kind IN ('capture', 'capture_reversal')
                  AND v.charge_status NOT IN ('captured', 'partially_refunded', 'refunded') THEN 'status_mismatch'
                 WHEN v.refund_id IS NOT NULL
                  AND v.refund_status <> CASE WHEN v.kind = 'refund' THEN 'succeeded' ELSE 'failed' END THEN 'status_mismatch'
                 WHEN v.presentment_currency <> coalesce(v.refund_currency, v.charge_currency) THEN 'currency_mismatch'
                 WHEN v.kind = 'refund' AND -v.presentment_amount <> v.refund_amount THEN 'amount_mismatch'
             END AS early
             FROM resolved v),
         captured AS (
             SELECT u.*,
                    sum(u.presentment_amount) FILTER (WHERE u.early IS NULL AND u.kind IN ('capture', 'capture_reversal'))
                        OVER (PARTITION BY u.charge_id) AS charge_reported
             FROM ruled u),
         amounted AS (
             SELECT a.*, coalesce(a.early, CASE WHEN a.kind IN ('capture', 'capture_reversal')
                                                 AND a.charge_reported <> a.charge_captured THEN 'amount_mismatch' END)
                        AS before_fees
             FROM captured a),
         feed AS (
             SELECT b.*,
                    sum(b.fee) FILTER (WHERE b.before_fees IS NULL AND b.kind IN ('capture', 'capture_reversal'))
                        OVER (PARTITION BY b.charge_id) AS charge_fees,
                    bool_and(b.presentment_currency IS NULL OR b.presentment_currency = b.settlement_currency)
                        FILTER (WHERE b.before_fees IS NULL AND b.kind IN ('capture', 'capture_reversal'))
                        OVER (PARTITION BY b.charge_id) AS charge_unconverted,
                    -- `Pricing::fee` in SQL: basis points rounded half up, plus the fixed part, at most the amount.
                    least(b.charge_captured, (b.charge_captured * $5 + 5000) / 10000 + $6) AS expected_fee
             FROM amounted b)
         SELECT f.report_id, f.line, f.row_key, f.kind, f.presentment_amount, f.presentment_currency,
                f.settlement_currency, f.gross, f.fee, f.net, f.payout, f.charge_id, f.refund_id, c.category,
                CASE c.category
                    WHEN 'duplicate' THEN 'the processor reported row ' || f.row_key || ' more than once'
                    WHEN 'unknown_row_type' THEN 'a row type Paygate does not know'
                    WHEN 'missing_in_ledger' THEN CASE WHEN f.kind = 'adjustment'
                        THEN 'a processor adjustment with no Paygate object'
                        WHEN f.kind = 'payout_failure' THEN 'a failed payout that Paygate never paid out'
                        ELSE 'no Paygate ' || CASE WHEN f.kind LIKE 'refund%' THEN 'refund' ELSE 'charge' END
                             || ' for this ' || replace(f.kind, '_', ' ') END
                    WHEN 'status_mismatch' THEN CASE
                        WHEN f.kind = 'payout_failure' THEN 'payout ' || f.payout || ' had failed before'
                        WHEN f.kind IN ('refund', 'refund_failure') AND f.refund_id IS NULL
                            THEN 'a refund at the processor that Paygate never recorded'
                        WHEN f.kind IN ('dispute', 'dispute_reversal')
                            THEN 'a chargeback at the processor that Paygate never recorded'
                        WHEN f.refund_id IS NOT NULL THEN 'refund ' || f.refund_status || ' in Paygate but '
                             || CASE WHEN f.kind = 'refund' THEN 'done' ELSE 'failed' END || ' at the processor'
                        ELSE 'settled at the processor but ' || f.charge_status || ' in Paygate' END
                    WHEN 'currency_mismatch' THEN 'the processor settled ' || f.presentment_currency || ', the '
                        || CASE WHEN f.refund_id IS NULL THEN 'charge' ELSE 'refund' END || ' is in '
                        || coalesce(f.refund_currency, f.charge_currency)
                    WHEN 'amount_mismatch' THEN CASE
                        WHEN f.kind = 'payout_failure' THEN 'the processor returned ' || f.net || ' of payout '
                            || f.payout || ', which paid ' || f.processor_paid
                        WHEN f.kind = 'refund'
                        THEN 'the processor refunded ' || (-f.presentment_amount) || ', Paygate ' || f.refund_amount
                        ELSE 'the processor captured ' || f.charge_reported || ', Paygate ' || f.charge_captured END
                    WHEN 'fee_variance' THEN 'the processor charged a fee of ' || f.charge_fees
                        || ' where its pricing says ' || f.expected_fee
                END AS detail,
                CASE WHEN f.kind = 'payout_failure' THEN f.processor_paid
                     WHEN c.category = 'fee_variance' THEN f.expected_fee
                     WHEN f.refund_id IS NOT NULL THEN -f.refund_amount ELSE f.charge_captured END AS expected,
                CASE WHEN f.kind = 'payout_failure' THEN f.net
                     WHEN c.category = 'fee_variance' THEN f.charge_fees
                     WHEN c.category = 'amount_mismatch' AND f.refund_id IS NULL THEN f.charge_reported
                     ELSE f.presentment_amount END AS actual
         FROM feed f
         CROSS JOIN LATERAL (SELECT coalesce(f.before_fees, CASE
             WHEN $5::bigint IS NOT NULL AND f.kind IN ('capture', 'capture_reversal') AND f.charge_unconverted
              AND abs(f.charge_fees - f.expected_fee) > $7 THEN 'fee_variance' END) AS category) c",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(account)
    .bind(reports)
    .bind(basis_points)
    .bind(fixed)
    .bind(tolerance)
    .execute(&mut *conn)
    .await?;
    sqlx::query("ANALYZE recon").execute(&mut *conn).await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE recon_found (
             category text NOT NULL, subject text NOT NULL, charge_id text, refund_id text, report_id text,
             line bigint, currency text, expected_amount bigint, actual_amount bigint, detail text NOT NULL,
             inputs text NOT NULL
         ) ON COMMIT DROP",
    )
    .execute(&mut *conn)
    .await?;
    // Row exceptions, one per subject: a charge's amounts and fees are one exception for the charge.
    sqlx::query(
        "INSERT INTO recon_found (category, subject, charge_id, refund_id, report_id, line, currency,
                                  expected_amount, actual_amount, detail, inputs)
         SELECT DISTINCT ON (x.category, subject) x.category, subject, x.charge_id, x.refund_id, x.report_id, x.line,
                coalesce(x.presentment_currency, x.settlement_currency), x.expected, x.actual, x.detail,
                md5(concat_ws('|', x.category, x.row_key, x.kind, x.presentment_amount, x.presentment_currency, x.gross,
                              x.fee, x.charge_id, x.refund_id, x.detail))
         FROM recon x
         CROSS JOIN LATERAL (SELECT CASE WHEN x.category IN ('amount_mismatch', 'fee_variance') AND x.refund_id IS NULL
                                          AND x.charge_id IS NOT NULL
                                         THEN 'charge:' || x.charge_id ELSE 'row:' || x.row_key END AS subject) s
         WHERE x.category IS NOT NULL
         ORDER BY x.category, subject, x.report_id, x.line",
    )
    .execute(&mut *conn)
    .await?;
    // A payout's rows add up to the payout (Adyen's MerchantPayout, Checkout.com's and the sandbox's payout
    // lines): settlement level, beside the rows' own matching.
    sqlx::query(
        "INSERT INTO recon_found (category, subject, report_id, line, currency, expected_amount, actual_amount, detail, inputs)
         SELECT DISTINCT ON (p.payout, p.settlement_currency)
                'payout_mismatch', 'payout:' || p.payout || ':' || p.settlement_currency, p.report_id, p.line,
                p.settlement_currency, -p.net, rows.net,
                'payout ' || p.payout || ' is ' || (-p.net) || ' ' || p.settlement_currency || ' but its rows add up to '
                    || rows.net, md5(concat_ws('|', p.payout, p.settlement_currency, p.net, rows.net))
         FROM recon p
         LEFT JOIN (SELECT r.payout, r.settlement_currency, sum(r.net) AS net FROM recon r
                    WHERE r.payout IS NOT NULL AND r.kind NOT IN ('payout', 'payout_failure') AND r.category IS DISTINCT FROM 'duplicate'
                    GROUP BY r.payout, r.settlement_currency) batch
                ON batch.payout = p.payout AND batch.settlement_currency = p.settlement_currency
         CROSS JOIN LATERAL (SELECT coalesce(batch.net, 0) AS net) rows
         WHERE p.kind = 'payout' AND p.category IS NULL AND rows.net <> -p.net
         ORDER BY p.payout, p.settlement_currency, p.report_id, p.line",
    )
    .execute(&mut *conn)
    .await?;
    Ok(created.rows_affected())
}
