//! `paygate-ledger audit`: verifies, from the rows alone, that nothing was tampered with or lost.
//! 1. The audit hash chain: sequence numbers contiguous from 1, each row's `prev_hash` the hash before
//!    it, each hash recomputed from the row's content, and the chain head pointing at the last row.
//! 2. The ledger: every journal transaction balances per currency and has entries.
//! 3. Every charge against its ledger: the balance of `processor_receivable` booked for the charge equals
//!    captured − refunded, and the open authorization hold equals the authorized amount while the charge
//!    is authorized (zero otherwise). Balances are always sums of entries, so this recomputes them.
//! 4. Settlement: every settlement, refund settlement, processor fee, payout and payout failure transaction is backed by the
//!    report rows it booked (`settlement_postings`), and every such posting by its report row and its transaction.

use crate::jobs::audit_seal::{AUDIT_ROW_COLUMNS, AuditRow, chain_hash};
use sqlx::PgPool;

/// Rows read per page while walking the chain.
const CHAIN_PAGE_ROWS: i64 = 5_000;

/// A problem found by the audit, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub object: String,
    pub detail: String,
}

pub async fn run(pool: &PgPool) -> Result<Vec<Finding>, sqlx::Error> {
    let mut findings = check_chain(pool).await?;
    findings.extend(check_ledger(pool).await?);
    findings.extend(check_charges(pool).await?);
    findings.extend(check_settlement(pool).await?);
    Ok(findings)
}

async fn check_chain(pool: &PgPool) -> Result<Vec<Finding>, sqlx::Error> {
    let mut findings = Vec::new();
    let finding = |object: &str, detail: String| Finding { check: "audit_chain", object: object.to_owned(), detail };
    let (mut expected_seq, mut prev) = (0i64, "0".repeat(64));
    let select = format!(
        "SELECT {AUDIT_ROW_COLUMNS}, chain_seq, prev_hash, hash FROM audit_log
         WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2"
    );
    loop {
        let page: Vec<AuditRowWithChain> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
            .bind(expected_seq)
            .bind(CHAIN_PAGE_ROWS)
            .fetch_all(pool)
            .await?;
        let done = (page.len() as i64) < CHAIN_PAGE_ROWS;
        for sealed in page {
            expected_seq += 1;
            let id = sealed.row.id.as_str();
            if sealed.chain_seq != expected_seq {
                findings.push(finding(
                    id,
                    format!("chain_seq {}, expected {expected_seq}: rows are missing", sealed.chain_seq),
                ));
                expected_seq = sealed.chain_seq;
            }
            if sealed.prev_hash != prev {
                findings.push(finding(id, "prev_hash does not match the previous row".into()));
            }
            if chain_hash(&sealed.prev_hash, &sealed.row) != sealed.hash {
                findings.push(finding(id, "content does not match its hash: the row was changed".into()));
            }
            prev = sealed.hash;
        }
        if done {
            break;
        }
    }
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT last_seq, last_hash FROM audit_chain_head").fetch_one(pool).await?;
    if head_seq != expected_seq || head_hash != prev {
        findings.push(finding("audit_chain_head", format!("head at {head_seq}, chain ends at {expected_seq}")));
    }
    // The sealer runs every few seconds; rows it left alone this long mean it has stopped.
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE hash IS NULL AND created_at < now() - interval '10 minutes'",
    )
    .fetch_one(pool)
    .await?;
    if stale > 0 {
        findings.push(finding("audit_log", format!("{stale} rows unsealed for over 10 minutes")));
    }
    Ok(findings)
}

#[derive(sqlx::FromRow)]
struct AuditRowWithChain {
    #[sqlx(flatten)]
    row: AuditRow,
    chain_seq: i64,
    prev_hash: String,
    hash: String,
}

async fn check_ledger(pool: &PgPool) -> Result<Vec<Finding>, sqlx::Error> {
    let unbalanced: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT transaction_id, currency, sum(amount)::bigint FROM ledger_entries
         GROUP BY transaction_id, currency HAVING sum(amount) <> 0",
    )
    .fetch_all(pool)
    .await?;
    let empty: Vec<String> = sqlx::query_scalar(
        "SELECT t.id FROM ledger_transactions t
         WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)",
    )
    .fetch_all(pool)
    .await?;
    let mut findings: Vec<Finding> = unbalanced
        .into_iter()
        .map(|(id, currency, sum)| Finding {
            check: "ledger_balanced",
            object: id,
            detail: format!("{currency} sums to {sum}"),
        })
        .collect();
    findings.extend(empty.into_iter().map(|id| Finding {
        check: "ledger_balanced",
        object: id,
        detail: "no entries".into(),
    }));
    Ok(findings)
}

async fn check_settlement(pool: &PgPool) -> Result<Vec<Finding>, sqlx::Error> {
    // Set operations, not a lookup per row: settlement_postings has a row per report row and no index on these.
    let unbacked: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM ledger_transactions WHERE kind IN ('settlement', 'refund_settlement', 'processor_fee', 'payout', 'payout_failure')
         EXCEPT SELECT transaction_id FROM settlement_postings
         EXCEPT SELECT payout_transaction_id FROM settlement_postings WHERE payout_transaction_id IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    let orphaned: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.processor_account_id || ':' || p.row_key,
                CASE WHEN s.row_key IS NULL THEN 'its report row is missing'
                     ELSE 'it names a journal transaction that does not exist' END
         FROM settlement_postings p
         LEFT JOIN settlement_rows s ON s.report_id = p.report_id AND s.line = p.line AND s.row_key = p.row_key
         LEFT JOIN ledger_transactions t ON t.id = p.transaction_id
         LEFT JOIN ledger_transactions o ON o.id = p.payout_transaction_id
         WHERE s.row_key IS NULL OR t.id IS NULL OR (p.payout_transaction_id IS NOT NULL AND o.id IS NULL)",
    )
    .fetch_all(pool)
    .await?;
    let mut findings: Vec<Finding> = unbacked
        .into_iter()
        .map(|id| Finding { check: "settlement", object: id, detail: "no report row backs this posting".into() })
        .collect();
    findings.extend(orphaned.into_iter().map(|(object, detail)| Finding { check: "settlement", object, detail }));
    Ok(findings)
}

async fn check_charges(pool: &PgPool) -> Result<Vec<Finding>, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.id, c.amount_captured - c.amount_refunded, l.receivable,
                CASE WHEN c.status = 'authorized' THEN c.amount_authorized ELSE 0 END, l.hold
         FROM charges c
         CROSS JOIN LATERAL (
             SELECT coalesce(sum(e.amount) FILTER (WHERE a.kind = 'processor_receivable'), 0)::bigint AS receivable,
                    coalesce(sum(e.amount) FILTER (WHERE a.kind = 'authorization_receivable'), 0)::bigint AS hold
             FROM ledger_transactions t
             JOIN ledger_entries e ON e.transaction_id = t.id
             JOIN ledger_accounts a ON a.id = e.account_id
             WHERE t.charge_id = c.id) l
         WHERE l.receivable <> c.amount_captured - c.amount_refunded
            OR l.hold <> CASE WHEN c.status = 'authorized' THEN c.amount_authorized ELSE 0 END",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, expected, receivable, expected_hold, hold)| Finding {
            check: "charge_ledger",
            object: id,
            detail: format!("receivable {receivable} (expected {expected}), hold {hold} (expected {expected_hold})"),
        })
        .collect())
}
