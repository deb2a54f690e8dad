//! How much SQL the charge path sends, counted (never timed) by `pg_stat_statements`, which the test cluster
//! loads (`scripts/test.sh`). A change that adds a statement, a transaction or a connection hand-out to a
//! create, a capture or a refund fails here until its budget below is raised on purpose, with the benchmark's word
//! that it was worth it (BENCHMARKS.md, `make bench WHAT=statements`).

use crate::helpers::{TestApp, insert_merchant, spawn_app, statements_of};
use reqwest::Method;
use serde_json::{Value, json};

/// Statements of one create (`capture: false`, sandbox, no webhook endpoints) and its capture, besides
/// BEGIN/COMMIT and the statement that scopes each connection hand-out; the balance check each posting runs at
/// commit counts too. 35 on 2026-11-30; 27 since a posting and an audited event are one statement each; 23 since
/// the capture's claim reads the account's credentials with the charge and writes its marker and attempt in one
/// statement, and its outcome reads the price with the charge and closes the attempt with the status; 20 since
/// the create records its key, charge, attempts and audit row in one statement; 19 since the approval closes its
/// attempt with the charge's update; 13 since the approval and the capture's outcome are one statement each
/// (`charges::change`); 10 since routing's inputs (table, country, accounts with their sealed credentials) are
/// one read (the listing in a failure shows which).
const STATEMENTS_MAX: i64 = 10;
/// Connections handed out from the pool, each scoped by one `set_config` statement. 7 until the create's routing
/// reads and its first transaction shared one connection; 5 since the replay guard's insert takes an unscoped
/// connection (`db::unscoped`), which needs no statement when it is handed out.
const HAND_OUTS_MAX: i64 = 4;
/// Transactions opened with BEGIN: none. Each of the four transactions is one statement: the create's record and
/// the capture's claim before the processor, the approval and the capture's outcome after it. (2 until
/// 2026-12-01: the two after the processor were BEGIN … COMMIT.) A change that falls back to its locked
/// transaction on the usual path fails here.
const TRANSACTIONS: i64 = 0;

/// Statements of a refund of a sale (sandbox, no webhook endpoints), counted as above: the replay guard's insert,
/// the charge read with its account, the reservation (key, charge, refund, attempt, posting, two events) as one
/// statement with its balance check at commit, and the processor's success as one more (2026-12-01). Before the
/// reservation and the success became one statement each they were two transactions of 18 statements (counted
/// from the code).
const REFUND_STATEMENTS_MAX: i64 = 5;
/// The read and the reservation share one hand-out; the success takes another.
const REFUND_HAND_OUTS_MAX: i64 = 2;

async fn create_and_capture(app: &TestApp, merchant: &str) {
    let token = app.vault.tokenize("4242424242424242", merchant, "test");
    let body = json!({ "amount": 2_500, "currency": "EUR", "source": token, "capture": false });
    let (status, charge) = app.post_with_key(merchant, "/v1/charges", &body, &format!("order-{token}")).await;
    assert_eq!((status, charge["status"].as_str()), (201, Some("authorized")), "{charge}");
    let path = format!("/v1/charges/{}/capture", charge["id"].as_str().unwrap());
    let (status, captured) = app.client(merchant, "test").call(Method::POST, &path, &Value::Null).await;
    assert_eq!((status, captured["status"].as_str()), (200, Some("captured")), "{captured}");
}

/// The statements (normalized by `pg_stat_statements`, with their calls) of one create and its capture, after a
/// first pair made the merchant's ledger accounts.
async fn charge_path_statements(app: &TestApp) -> Vec<(String, i64)> {
    let merchant = insert_merchant(&app.pool).await;
    // The merchant's first postings create its ledger accounts: count an operation like every later one.
    create_and_capture(app, &merchant).await;
    statements_of(app, create_and_capture(app, &merchant)).await.1
}

/// Statements (besides BEGIN/COMMIT and the hand-outs' scoping), hand-outs, BEGINs, and the listing.
fn counted(statements: Vec<(String, i64)>) -> (i64, i64, i64, String) {
    let (mut counted, mut scopes, mut new_connections, mut begins) = (0, 0, 0, 0);
    let mut listing = String::new();
    for (words, calls) in statements {
        listing.push_str(&format!("{calls:>3} {}\n", words.chars().take(140).collect::<String>()));
        match words.as_str() {
            w if w.starts_with("SELECT set_config('role', 'paygate_api'") => scopes += calls,
            w if w.starts_with("SET plan_cache_mode") => new_connections += calls,
            "BEGIN" => begins += calls,
            "COMMIT" | "ROLLBACK" => {}
            _ => counted += calls,
        }
    }
    // A connection opened for a request is scoped when it opens and again when handed out.
    (counted, scopes - new_connections, begins, listing)
}

#[tokio::test]
async fn a_create_and_its_capture_stay_within_their_statement_budget() {
    let app = spawn_app().await;
    let (statements, hand_outs, begins, listing) = counted(charge_path_statements(&app).await);
    assert!(statements <= STATEMENTS_MAX, "{statements} statements (budget {STATEMENTS_MAX}):\n{listing}");
    assert!(hand_outs <= HAND_OUTS_MAX, "{hand_outs} hand-outs (budget {HAND_OUTS_MAX}):\n{listing}");
    assert_eq!(begins, TRANSACTIONS, "transactions:\n{listing}");
}

#[tokio::test]
async fn a_refund_stays_within_its_statement_budget() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The merchant's first postings create its ledger accounts, then a sale to refund.
    create_and_capture(&app, &merchant).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 2_500, "currency": "EUR", "source": token, "capture": true });
    let (status, sale) = app.post_with_key(&merchant, "/v1/charges", &body, "sale").await;
    assert_eq!((status, sale["status"].as_str()), (201, Some("captured")), "{sale}");
    let refund = async {
        let body = json!({ "charge": sale["id"], "amount": 1_000 });
        let (status, refund) = app.post_with_key(&merchant, "/v1/refunds", &body, "refund").await;
        assert_eq!((status, refund["status"].as_str()), (201, Some("succeeded")), "{refund}");
    };
    let (statements, hand_outs, begins, listing) = counted(statements_of(&app, refund).await.1);
    assert!(
        statements <= REFUND_STATEMENTS_MAX,
        "{statements} statements (budget {REFUND_STATEMENTS_MAX}):\n{listing}"
    );
    assert!(hand_outs <= REFUND_HAND_OUTS_MAX, "{hand_outs} hand-outs (budget {REFUND_HAND_OUTS_MAX}):\n{listing}");
    assert_eq!(begins, 0, "transactions:\n{listing}");
}

#[tokio::test]
async fn every_statement_of_the_charge_path_on_a_distributed_table_names_the_merchant() {
    // A textual check, not a parser: a statement that mentions a distributed table and never `merchant_id` (in
    // its WHERE, its join or the columns it inserts) is one a merchant-sharded database could not route.
    let app = spawn_app().await;
    // The tables a sharded database spreads by merchant (ARCHITECTURE.md, "Scaling past one database").
    let distributed = crate::schema::distributed_tables(&app.pool).await;
    assert!(distributed.iter().any(|t| t == "charges"), "{distributed:?}");
    let unrouted: Vec<String> = charge_path_statements(&app)
        .await
        .into_iter()
        .map(|(words, _)| words)
        .filter(|words| {
            let mentions =
                |table: &str| words.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|word| word == table);
            distributed.iter().any(|table| mentions(table)) && !words.contains("merchant_id")
        })
        .collect();
    assert!(unrouted.is_empty(), "statements on distributed tables without merchant_id: {unrouted:#?}");
}
