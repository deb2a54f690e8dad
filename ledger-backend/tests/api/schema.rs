//! The database's own guards, tested by writing to it directly (as a buggy or malicious writer would):
//! ledger transactions must balance per currency, ledger and audit rows are immutable (the audit
//! log allows its one sealing update), charge amounts stay ordered, and partitions exist ahead of time
//! so rows never land in a DEFAULT partition.

use crate::helpers::{insert_merchant, spawn_app};
use paygate_core::id::{AuditKind, ChargeKind, LedgerTransactionKind};
use paygate_ledger::ids::new_id;
use sqlx::PgPool;

async fn account(pool: &PgPool, merchant: &str, currency: &str, kind: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO ledger_accounts (merchant_id, mode, currency, kind) VALUES ($1, 'test', $2, $3) RETURNING id",
    )
    .bind(merchant)
    .bind(currency)
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Writes one journal transaction with the given (account, currency, amount) lines in one database
/// transaction; returns the commit's result.
async fn write_transaction(pool: &PgPool, merchant: &str, lines: &[(i64, &str, i64)]) -> Result<String, sqlx::Error> {
    let id = new_id::<LedgerTransactionKind>().to_string();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO ledger_transactions (id, merchant_id, mode, kind) VALUES ($1, $2, 'test', 'capture')")
        .bind(&id)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    for (line, (account, currency, amount)) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
             VALUES ($1, $2, $3, $4, $5, $6, 'test')",
        )
        .bind(&id)
        .bind(line as i16)
        .bind(account)
        .bind(currency)
        .bind(amount)
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

fn constraint_of(error: &sqlx::Error) -> Option<String> {
    error.as_database_error().and_then(|e| e.constraint().map(str::to_owned))
}

#[tokio::test]
async fn an_unbalanced_ledger_transaction_is_rejected_at_commit() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receivable = account(&app.pool, &merchant, "KWD", "processor_receivable").await;
    let pending = account(&app.pool, &merchant, "KWD", "merchant_pending").await;
    let fees = account(&app.pool, &merchant, "KWD", "fee_revenue").await;

    write_transaction(&app.pool, &merchant, &[(receivable, "KWD", 1_000), (pending, "KWD", -970), (fees, "KWD", -30)])
        .await
        .expect("a balanced transaction commits");
    let error = write_transaction(&app.pool, &merchant, &[(receivable, "KWD", 1_000), (pending, "KWD", -999)])
        .await
        .expect_err("an unbalanced transaction must not commit");
    assert_eq!(constraint_of(&error).as_deref(), Some("ledger_transaction_balanced"), "{error}");

    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_entries").fetch_one(&app.pool).await.unwrap();
    assert_eq!(entries, 3, "nothing of the rejected transaction remains");
}

#[tokio::test]
async fn entries_cannot_be_added_to_a_ledger_transaction_already_committed() {
    // The balance is checked once per ledger transaction, when the database transaction that wrote it commits:
    // lines added later, balanced among themselves or not, would escape that check, so they are refused.
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receivable = account(&app.pool, &merchant, "EUR", "processor_receivable").await;
    let pending = account(&app.pool, &merchant, "EUR", "merchant_pending").await;
    let id = write_transaction(&app.pool, &merchant, &[(receivable, "EUR", 700), (pending, "EUR", -700)])
        .await
        .expect("a balanced transaction commits");
    for lines in [vec![(2_i16, receivable, 50_i64)], vec![(2, receivable, 50), (3, pending, -50)]] {
        let mut tx = app.pool.begin().await.unwrap();
        let mut refused = None;
        for (line, account, amount) in &lines {
            let inserted = sqlx::query(
                "INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
                 VALUES ($1, $2, $3, 'EUR', $4, $5, 'test')",
            )
            .bind(&id)
            .bind(line)
            .bind(account)
            .bind(amount)
            .bind(&merchant)
            .execute(&mut *tx)
            .await;
            if let Err(error) = inserted {
                refused = Some(error);
                break;
            }
        }
        let error = match refused {
            Some(error) => error,
            None => tx.commit().await.expect_err("lines added to a committed ledger transaction must not commit"),
        };
        assert_eq!(constraint_of(&error).as_deref(), Some("ledger_entries_written_with_transaction"), "{error}");
    }
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE transaction_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(lines, 2);
}

#[tokio::test]
async fn balance_is_checked_per_currency_and_against_the_account() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let usd = account(&app.pool, &merchant, "USD", "processor_receivable").await;
    let eur = account(&app.pool, &merchant, "EUR", "merchant_pending").await;
    // Sums to zero overall, but not per currency.
    let error = write_transaction(&app.pool, &merchant, &[(usd, "USD", 500), (eur, "EUR", -500)]).await.unwrap_err();
    assert_eq!(constraint_of(&error).as_deref(), Some("ledger_transaction_balanced"), "{error}");
    // An entry may not claim a currency its account does not hold.
    let error = write_transaction(&app.pool, &merchant, &[(usd, "EUR", 500), (eur, "EUR", -500)]).await.unwrap_err();
    assert!(error.to_string().contains("foreign key"), "{error}");
}

#[tokio::test]
async fn ledger_rows_cannot_be_changed_or_removed() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let a = account(&app.pool, &merchant, "JPY", "processor_receivable").await;
    let b = account(&app.pool, &merchant, "JPY", "merchant_pending").await;
    let id = write_transaction(&app.pool, &merchant, &[(a, "JPY", 500), (b, "JPY", -500)]).await.unwrap();
    for statement in [
        "UPDATE ledger_entries SET amount = amount * 2",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
        "UPDATE ledger_transactions SET kind = 'refund'",
        "DELETE FROM ledger_transactions",
    ] {
        let error = sqlx::query(statement).execute(&app.pool).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    let sum: i64 = sqlx::query_scalar("SELECT sum(abs(amount))::bigint FROM ledger_entries WHERE transaction_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sum, 1_000);
}

#[tokio::test]
async fn audit_rows_are_sealed_once_and_never_changed() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let id = new_id::<AuditKind>().to_string();
    sqlx::query(
        "INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id)
         VALUES ($1, $2, 'test', 'key_x', 'charge.create', 'charge', 'ch_x')",
    )
    .bind(&id)
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    let hash = "a".repeat(64);
    let seal = "UPDATE audit_log SET chain_seq = 1, prev_hash = repeat('0', 64), hash = $2 WHERE id = $1";
    let tamper = "UPDATE audit_log SET action = 'charge.refund' WHERE id = $1";
    let error = sqlx::query(tamper).bind(&id).execute(&app.pool).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
    sqlx::query(seal).bind(&id).bind(&hash).execute(&app.pool).await.expect("sealing is allowed once");
    let error = sqlx::query(seal).bind(&id).bind("b".repeat(64)).execute(&app.pool).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "a sealed row cannot be resealed: {error}");
    let error = sqlx::query("DELETE FROM audit_log").execute(&app.pool).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
}

#[tokio::test]
async fn charge_amounts_must_stay_ordered() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let insert = "INSERT INTO charges (id, merchant_id, mode, status, currency, amount, amount_authorized,
                  amount_captured, amount_refunded, capture, source)
                  VALUES ($1, $2, 'test', 'captured', 'USD', 1000, $3, $4, $5, true, 'tok_x')";
    for (authorized, captured, refunded, ok) in
        [(1000, 800, 800, true), (1000, 800, 801, false), (1000, 1001, 0, false), (1001, 0, 0, false)]
    {
        let result = sqlx::query(insert)
            .bind(new_id::<ChargeKind>().to_string())
            .bind(&merchant)
            .bind(authorized as i64)
            .bind(captured as i64)
            .bind(refunded as i64)
            .execute(&app.pool)
            .await;
        match result {
            Ok(_) => assert!(ok, "{authorized}/{captured}/{refunded} must be refused"),
            Err(error) => {
                assert!(!ok, "{authorized}/{captured}/{refunded}: {error}");
                assert_eq!(constraint_of(&error).as_deref(), Some("charges_amounts_ordered"));
            }
        }
    }
}

#[tokio::test]
async fn partitions_exist_ahead_and_new_rows_never_land_in_the_default() {
    let app = spawn_app().await;
    // spawn_app ran the maintenance once; a second run creates nothing.
    let created =
        paygate_ledger::db::partitions::ensure(&app.pool, paygate_ledger::ids::unix_seconds_now()).await.unwrap();
    assert!(created.is_empty(), "{created:?}");
    for table in paygate_ledger::db::partitions::tables() {
        let partitions: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass")
            .bind(table)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let months = 1 + paygate_ledger::db::partitions::MONTHS_AHEAD as i64;
        assert_eq!(partitions, months + 1, "{table}: {months} monthly partitions and the default");
    }
    let merchant = insert_merchant(&app.pool).await;
    let id = new_id::<ChargeKind>().to_string();
    sqlx::query(
        "INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source)
         VALUES ($1, $2, 'test', 'pending', 'USD', 1000, true, 'tok_x')",
    )
    .bind(&id)
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    let partition: String = sqlx::query_scalar("SELECT tableoid::regclass::text FROM charges WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let today = paygate_core::time::date_of_unix(paygate_ledger::ids::unix_seconds_now());
    assert_eq!(partition, format!("charges_{:04}_{:02}", today.year, today.month));
}

/// Tables that are not distributed by merchant (ARCHITECTURE.md, "Scaling past one database"): reference tables,
/// copied to every node and found before the merchant is known, and tables kept on the coordinator.
const REFERENCE_TABLES: [&str; 5] = ["merchants", "users", "api_keys", "processor_accounts", "invitations"];
const COORDINATOR_TABLES: [&str; 4] = ["settlement_pulls", "dashboard_sessions", "sign_in_failures", "seen_requests"];

/// The tables distributed by merchant: every table with a `merchant_id`, but for those listed above.
pub async fn distributed_tables(pool: &PgPool) -> Vec<String> {
    let not_distributed: Vec<&str> = REFERENCE_TABLES.iter().chain(COORDINATOR_TABLES.iter()).copied().collect();
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'merchant_id')
           AND NOT (c.relname = ANY($1))
         ORDER BY 1",
    )
    .bind(&not_distributed)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_key_of_a_table_distributed_by_merchant_holds_the_merchant() {
    // Citus (or any engine that shards by merchant) needs the distribution column in every primary key, unique
    // key and foreign key between distributed tables. Every table with a merchant_id is distributed unless listed
    // above, so a new table, key or foreign key without the merchant fails here, named.
    let app = spawn_app().await;
    let distributed = distributed_tables(&app.pool).await;
    let keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = 'public'::regnamespace AND NOT c.relispartition AND k.contype IN ('p', 'u', 'f')
           AND c.relname = ANY($1)
           AND NOT (
               -- the key holds merchant_id ...
               (SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'merchant_id') = ANY(k.conkey)
               -- ... and a foreign key to another distributed table pairs it with that table's merchant_id
               AND (k.contype <> 'f' OR (SELECT relname FROM pg_class WHERE oid = k.confrelid) = ANY($2)
                    OR EXISTS (SELECT 1 FROM unnest(k.conkey, k.confkey) AS p(here, there)
                               WHERE here = (SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'merchant_id')
                                 AND there = (SELECT attnum FROM pg_attribute
                                              WHERE attrelid = k.confrelid AND attname = 'merchant_id')))
               -- a foreign key to a reference table (users, merchants, processor accounts) needs no merchant
               OR (k.contype = 'f' AND (SELECT relname FROM pg_class WHERE oid = k.confrelid) = ANY($2)))
         ORDER BY 1, 2",
    )
    .bind(&distributed)
    .bind(&REFERENCE_TABLES[..])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(keys.is_empty(), "keys of distributed tables without merchant_id: {keys:#?}");

    // Unique indexes that back no constraint count too (an ON CONFLICT can name one).
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT x.indexrelid::regclass::text FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
         WHERE x.indisunique AND c.relnamespace = 'public'::regnamespace AND NOT c.relispartition
           AND c.relname = ANY($1)
           AND NOT (SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'merchant_id') = ANY(x.indkey)",
    )
    .bind(&distributed)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(indexes.is_empty(), "unique indexes of distributed tables without merchant_id: {indexes:?}");

    // The growing tables are all there (the check above would pass vacuously for a table without merchant_id).
    for table in [
        "charges",
        "charge_attempts",
        "refunds",
        "ledger_transactions",
        "ledger_entries",
        "audit_log",
        "events",
        "webhook_deliveries",
        "webhook_attempts",
        "idempotency_records",
        "processor_events",
        "settlement_reports",
        "settlement_rows",
        "payouts",
    ] {
        let keyed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a
                              ON a.attrelid = k.conrelid AND a.attname = 'merchant_id' AND a.attnum = ANY(k.conkey)
                            WHERE k.conrelid = $1::regclass AND k.contype = 'p')",
        )
        .bind(table)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(keyed, "{table}'s primary key holds merchant_id");
    }
}
