//! Monthly partitions of the tables that grow without bound, created ahead of time.
//!
//! Those tables are range-partitioned over their typed id (see the charges migration): an id's body
//! is a ULID whose leading characters encode its creation time, so the id of "the first millisecond of
//! a month, zero randomness" is exactly the lower bound of that month's partition.

use paygate_core::id::{
    AttemptKind, AuditKind, ChargeKind, DeliveryKind, EventKind, LedgerTransactionKind, RefundKind,
};
use paygate_core::id::{Id, IdKind};
use paygate_core::time::{date_of_unix, next_month, unix_seconds_of};
use sqlx::{AssertSqlSafe, PgPool};

/// Months of partitions kept ready beyond the current one. The maintenance job runs hourly, so three
/// months leave ample time to notice a job that stopped.
pub const MONTHS_AHEAD: u32 = 3;

/// Serialises partition creation across instances (an arbitrary constant, unique in this codebase).
const ADVISORY_LOCK_KEY: i64 = 0x7061_7274; // "part"

/// A partitioned table and the id prefix of its partition key.
struct Partitioned {
    table: &'static str,
    bound: fn(i64) -> String,
}

fn bound<K: IdKind>(unix_ms: i64) -> String {
    Id::<K>::new(unix_ms as u64, [0; 10]).to_string()
}

const TABLES: &[Partitioned] = &[
    Partitioned { table: "charges", bound: bound::<ChargeKind> },
    Partitioned { table: "charge_attempts", bound: bound::<AttemptKind> },
    Partitioned { table: "refunds", bound: bound::<RefundKind> },
    Partitioned { table: "ledger_transactions", bound: bound::<LedgerTransactionKind> },
    // Entries are partitioned by their transaction's id.
    Partitioned { table: "ledger_entries", bound: bound::<LedgerTransactionKind> },
    Partitioned { table: "audit_log", bound: bound::<AuditKind> },
    Partitioned { table: "events", bound: bound::<EventKind> },
    Partitioned { table: "webhook_deliveries", bound: bound::<DeliveryKind> },
    // By its delivery's id, like ledger_entries by its transaction's.
    Partitioned { table: "webhook_attempts", bound: bound::<DeliveryKind> },
];

/// Every partitioned table's name, for checks.
pub fn tables() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.table)
}

/// Creates the partitions of the current month and `MONTHS_AHEAD` more for every partitioned table,
/// skipping those that exist. Safe to run from several instances at once. Returns the names created.
pub async fn ensure(pool: &PgPool, now_unix_seconds: i64) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Creating a partition is DDL on the parent, which only its owner may do: the jobs' pool acts as
    // `paygate_jobs`, so this transaction steps back to the user it connected as.
    sqlx::query("SET LOCAL ROLE NONE").execute(&mut *tx).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ADVISORY_LOCK_KEY).execute(&mut *tx).await?;
    let mut created = Vec::new();
    let today = date_of_unix(now_unix_seconds);
    let (mut year, mut month) = (today.year, today.month);
    for _ in 0..=MONTHS_AHEAD {
        let (next_year, next_month) = next_month(year, month);
        let from_ms = unix_seconds_of(year, month, 1) * 1_000;
        let to_ms = unix_seconds_of(next_year, next_month, 1) * 1_000;
        for t in TABLES {
            let name = format!("{}_{year:04}_{month:02}", t.table);
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&name).fetch_one(&mut *tx).await?;
            if exists {
                continue;
            }
            // Every part of this statement is ours: table names from the list above, bounds from
            // core's id encoding (lower-case base32), so building it as text is safe.
            let sql = format!(
                "CREATE TABLE {name} PARTITION OF {} FOR VALUES FROM ('{}') TO ('{}')",
                t.table,
                (t.bound)(from_ms),
                (t.bound)(to_ms)
            );
            sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            created.push(name);
        }
        (year, month) = (next_year, next_month);
    }
    tx.commit().await?;
    if !created.is_empty() {
        tracing::info!(partitions = ?created, "created partitions");
    }
    Ok(created)
}
