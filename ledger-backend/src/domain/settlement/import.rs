//! A settlement report in: hashed, claimed by (processor account, format, content hash) so the same file twice
//! is a no-op even when two workers race, read row by row (`core::settlement`), streamed into a temporary table
//! with COPY and moved into `settlement_rows` in one statement, so memory stays flat in the file's size. Rows
//! that cannot be read are kept with their line and reason; they never stop the rest.

use crate::domain::processors::accounts::{self, AccountError};
use crate::domain::tenancy::{self, Scope};
use crate::ids::new_id;
use paygate_core::id::ProcessorAccountId;
use paygate_core::settlement::{self, HeaderError, ReportFormat, ReportRow, RowError};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    File,
    Upload,
    Pull,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Upload => "upload",
            Source::Pull => "pull",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("the period {0}")]
    Period(String),
    #[error("the report cannot be read: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub report: String,
    /// False when the same file had been imported before: nothing was read again.
    pub new: bool,
    pub rows_read: u64,
    pub rows_refused: u64,
    /// The first refusals, with their lines (all of them are stored).
    pub refusals: Vec<RowError>,
}

/// How many refusals an answer lists (the database keeps every one).
const REFUSALS_SHOWN: usize = 20;
/// Rows sent to COPY per chunk.
const COPY_CHUNK_BYTES: usize = 256 * 1024;

pub struct Request {
    pub account: ProcessorAccountId,
    pub format: ReportFormat,
    pub source: Source,
    pub period: Option<String>,
}

/// Imports the report that `open` reads (called twice: once to hash the file, once to read it).
pub async fn import<R, F>(pool: &PgPool, scope: Scope, request: Request, open: F) -> Result<Imported, ImportError>
where
    R: Read + Send,
    F: Fn() -> std::io::Result<R>,
{
    if let Some(period) = &request.period {
        paygate_core::text::storable(period, 100).map_err(|e| ImportError::Period(e.to_string()))?;
        if period.trim().is_empty() {
            return Err(ImportError::Period("is empty".into()));
        }
    }
    let sha256 = {
        let mut hasher = Sha256::new();
        std::io::copy(&mut open()?, &mut hasher)?;
        paygate_core::hex::encode(&hasher.finalize())
    };
    // The header is checked before anything is stored: a file of another format is refused whole.
    settlement::read(request.format, open()?)?;
    tenancy::scope(scope, async {
        accounts::get(pool, scope, request.account).await?;
        let mut tx = pool.begin().await?;
        let id = new_id::<paygate_core::id::SettlementReportKind>().to_string();
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO settlement_reports (id, merchant_id, mode, processor_account_id, format, source, period, sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (processor_account_id, format, sha256, merchant_id) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(request.account)
        .bind(request.format.as_str())
        .bind(request.source.as_str())
        .bind(&request.period)
        .bind(&sha256)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = claimed else {
            tx.rollback().await?;
            let (report, rows_read, rows_refused): (String, i32, i32) = sqlx::query_as(
                "SELECT id, rows_read, rows_refused FROM settlement_reports
                 WHERE processor_account_id = $1 AND format = $2 AND sha256 = $3 AND merchant_id = $4",
            )
            .bind(request.account)
            .bind(request.format.as_str())
            .bind(&sha256)
            .bind(scope.merchant_id)
            .fetch_one(pool)
            .await?;
            return Ok(Imported {
                report,
                new: false,
                rows_read: rows_read as u64,
                rows_refused: rows_refused as u64,
                refusals: vec![],
            });
        };
        let rows = settlement::read(request.format, open()?)?;
        let (read, refusals) = stage(&mut tx, rows).await?;
        let moved = sqlx::query(
            "INSERT INTO settlement_rows
               (report_id, line, merchant_id, mode, processor_account_id, row_key, kind, raw_type, presentment_amount,
                presentment_currency, settlement_currency, gross, fee, net, our_charge, our_refund, processor_payment,
                processor_object, payout, occurred_at)
             SELECT $1, line, $2, $3, $4, row_key, kind, raw_type, presentment_amount, presentment_currency,
                    settlement_currency, gross, fee, net, our_charge, our_refund, processor_payment, processor_object,
                    payout, to_timestamp(occurred_at)
             FROM settlement_staging",
        )
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(request.account)
        .execute(&mut *tx)
        .await?;
        debug_assert_eq!(moved.rows_affected(), read);
        let refused = refusals.len() as u64;
        store_refusals(&mut tx, &id, scope, &refusals).await?;
        sqlx::query(
            "UPDATE settlement_reports SET rows_read = $2, rows_refused = $3 WHERE id = $1 AND merchant_id = $4",
        )
        .bind(&id)
        .bind(i32::try_from(read).unwrap_or(i32::MAX))
        .bind(i32::try_from(refused).unwrap_or(i32::MAX))
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(report = %id, account = %request.account, read, refused, "settlement report imported");
        Ok(Imported {
            report: id,
            new: true,
            rows_read: read,
            rows_refused: refused,
            refusals: refusals.into_iter().take(REFUSALS_SHOWN).collect(),
        })
    })
    .await
}

/// Streams the readable rows into a temporary table with COPY (gone at commit); the refusals come back.
async fn stage<R: Read>(
    conn: &mut PgConnection,
    rows: settlement::Rows<R>,
) -> Result<(u64, Vec<RowError>), ImportError> {
    sqlx::query(
        "CREATE TEMPORARY TABLE settlement_staging (
             line bigint, row_key text, kind text, raw_type text, presentment_amount bigint, presentment_currency text,
             settlement_currency text, gross bigint, fee bigint, net bigint, our_charge text, our_refund text,
             processor_payment text, processor_object text, payout text, occurred_at bigint
         ) ON COMMIT DROP",
    )
    .execute(&mut *conn)
    .await?;
    let mut copy = conn.copy_in_raw("COPY settlement_staging FROM STDIN WITH (FORMAT csv)").await?;
    let mut refusals = Vec::new();
    let mut read = 0u64;
    let mut buffer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::with_capacity(COPY_CHUNK_BYTES));
    for row in rows {
        match row.and_then(storable) {
            Ok(row) => {
                read += 1;
                write(&mut buffer, &row).map_err(|e| std::io::Error::other(e.to_string()))?;
                if buffer.get_ref().len() >= COPY_CHUNK_BYTES {
                    let chunk = std::mem::replace(
                        &mut buffer,
                        csv::WriterBuilder::new().has_headers(false).from_writer(Vec::with_capacity(COPY_CHUNK_BYTES)),
                    );
                    copy.send(chunk.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?).await?;
                }
            }
            Err(refusal) => refusals.push(refusal),
        }
    }
    copy.send(buffer.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?).await?;
    copy.finish().await?;
    Ok((read, refusals))
}

/// A row whose text PostgreSQL can store (no NUL, bounded), else refused with its field.
fn storable(row: ReportRow) -> Result<ReportRow, RowError> {
    let texts = [
        ("row_key", Some(&row.row_key)),
        ("type", Some(&row.raw_type)),
        ("our_charge", row.our_charge.as_ref()),
        ("our_refund", row.our_refund.as_ref()),
        ("processor_payment", row.processor_payment.as_ref()),
        ("processor_object", row.processor_object.as_ref()),
        ("payout", row.payout.as_ref()),
    ];
    for (field, text) in texts {
        let limit = if field == "type" { 100 } else { 255 };
        if let Some(text) = text
            && let Err(error) = paygate_core::text::storable(text, limit)
        {
            return Err(RowError { line: row.line, field: Some(field.into()), reason: format!("{field} {error}") });
        }
    }
    Ok(row)
}

fn write(buffer: &mut csv::Writer<Vec<u8>>, row: &ReportRow) -> csv::Result<()> {
    let number = |n: i64| n.to_string();
    let optional = |v: Option<&String>| v.cloned().unwrap_or_default();
    let (presentment_amount, presentment_currency) = match row.presentment {
        Some(p) => (number(p.minor), p.currency.code().to_owned()),
        None => (String::new(), String::new()),
    };
    buffer.write_record([
        number(row.line as i64),
        row.row_key.clone(),
        row.kind.as_str().to_owned(),
        row.raw_type.clone(),
        presentment_amount,
        presentment_currency,
        row.settlement_currency.code().to_owned(),
        number(row.gross),
        number(row.fee),
        number(row.net),
        optional(row.our_charge.as_ref()),
        optional(row.our_refund.as_ref()),
        optional(row.processor_payment.as_ref()),
        optional(row.processor_object.as_ref()),
        optional(row.payout.as_ref()),
        row.occurred_at.map(number).unwrap_or_default(),
    ])
}

async fn store_refusals(
    conn: &mut PgConnection,
    report: &str,
    scope: Scope,
    refusals: &[RowError],
) -> Result<(), sqlx::Error> {
    for chunk in refusals.chunks(1_000) {
        let lines: Vec<i64> = chunk.iter().map(|r| r.line as i64).collect();
        let fields: Vec<Option<String>> = chunk.iter().map(|r| r.field.clone()).collect();
        let reasons: Vec<String> =
            chunk.iter().map(|r| r.reason.replace('\0', "\u{FFFD}").chars().take(500).collect()).collect();
        sqlx::query(
            "INSERT INTO settlement_row_errors (report_id, line, merchant_id, mode, field, reason)
             SELECT $1, line, $2, $3, field, reason FROM unnest($4::bigint[], $5::text[], $6::text[]) AS e(line, field, reason)
             ON CONFLICT DO NOTHING",
        )
        .bind(report)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&lines)
        .bind(&fields)
        .bind(&reasons)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
