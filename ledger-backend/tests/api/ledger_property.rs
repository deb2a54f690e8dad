//! A randomized run of thousands of operations through the HTTP API, checked against a model of the
//! charge lifecycle written independently of `paygate_core::charge`: creates with every kind of test
//! card, full and partial captures, voids, expiries, partial and full refunds (some refused by the
//! processor), 3-D Secure challenges approved, failed or abandoned (a charge waiting in `requires_action` takes no
//! operation), over-captures and over-refunds, forbidden transitions, idempotent replays and recovery,
//! up to eight at a time on distinct charges. Every answer must be the one the model predicts; at the end
//! every charge matches the model, the processor's books match ours, each merchant's balance is what the
//! model and its pricing say, and the audit finds nothing.
//!
//! `PROPERTY_SEED` replays a run (the seed is printed); `PROPERTY_OPS` sets its length (default 2,000).

use crate::helpers::Rng;
use crate::helpers::{TestApp, audit_is_clean, insert_merchant, spawn_app};
use paygate_core::authentication::RETURN_INTERNAL_PATH;
use paygate_ledger::domain::charges::authentication;
use paygate_ledger::jobs::{expiry, recovery};
use paygate_ledger::processors::Processors;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    Approve,
    Decline,
    ProcessingError,
    RefundsFail,
    /// 3-D Secure with a challenge, on every processor.
    Challenge,
}

impl Card {
    fn number(self) -> &'static str {
        match self {
            Card::Approve => "4242424242424242",
            Card::Decline => "4000000000009995",
            Card::ProcessingError => "4000000000000119",
            Card::RefundsFail => "4000000000005126",
            Card::Challenge => "4000000000003220",
        }
    }
}

/// What the model knows of one charge.
#[derive(Debug, Clone)]
struct Charge {
    id: String,
    merchant: usize,
    currency: &'static str,
    card: Card,
    /// Served by Stripe (on its fake) rather than the sandbox acquirer.
    stripe: bool,
    /// Served by Checkout.com (on its fake): captures, voids and refunds are accepted first (202, `pending`)
    /// and confirmed when the processor is asked, which the run does between rounds.
    checkout: bool,
    status: &'static str,
    amount: i64,
    captured: i64,
    refunded: i64,
    /// Refunds the API accepted (201), whether the processor then refused them or not.
    refund_requests: usize,
    /// The create request, for idempotent replays: (key, body).
    create: (String, String),
    capture: bool,
    /// While `requires_action`: the processor's authentication page.
    action: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Pricing {
    basis_points: i64,
    fixed: i64,
}

impl Pricing {
    /// Round half up, plus the fixed part, never more than the amount (written out here, not borrowed
    /// from `paygate_core::ledger::Pricing`).
    fn fee(self, amount: i64) -> i64 {
        ((amount * self.basis_points + 5_000) / 10_000 + self.fixed).min(amount)
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create {
        merchant: usize,
        currency: &'static str,
        amount: i64,
        card: Card,
        capture: bool,
    },
    Capture {
        charge: usize,
        amount: Option<i64>,
    },
    Void {
        charge: usize,
    },
    Refund {
        charge: usize,
        amount: Option<i64>,
    },
    Expire {
        charge: usize,
    },
    Replay {
        charge: usize,
    },
    /// A refund made in Stripe's own dashboard, which reaches us only by Stripe's webhook.
    DashboardRefund {
        charge: usize,
        amount: i64,
    },
    /// The shopper decides on the authentication page and comes back (3-D Secure).
    Authenticate {
        charge: usize,
        approve: bool,
    },
    /// The authentication's deadline passes and the job gives it up.
    Abandon {
        charge: usize,
    },
}

/// The model's answer to `op`: (HTTP status, the charge afterwards).
fn predict(charges: &[Charge], op: &Op) -> Option<(u16, Charge)> {
    let next = |index: usize| charges[index].clone();
    Some(match *op {
        Op::Create { .. } => return None,
        Op::Replay { charge } => (200, next(charge)),
        Op::Authenticate { charge, approve } => {
            let mut c = next(charge);
            c.action = None;
            // A Checkout.com sale's capture is confirmed when the processor is asked, between rounds.
            (c.status, c.captured) = match (approve, c.capture) {
                (true, true) => ("captured", c.amount),
                (true, false) => ("authorized", 0),
                (false, _) => ("failed", 0),
            };
            (200, c)
        }
        Op::Abandon { charge } => {
            let mut c = next(charge);
            // Checkout.com cannot cancel a waiting authentication: the charge waits for its session to lapse (ten
            // minutes at the fake, longer than this run). The others cancel, and the charge fails.
            if !c.checkout {
                c.action = None;
                c.status = "failed";
            }
            (200, c)
        }
        Op::DashboardRefund { charge, amount } => {
            let mut c = next(charge);
            c.refund_requests += 1;
            c.refunded += amount;
            c.status = if c.refunded == c.captured { "refunded" } else { "partially_refunded" };
            (200, c)
        }
        Op::Capture { charge, amount } => {
            let mut c = next(charge);
            let amount = amount.unwrap_or(c.amount);
            if c.status != "authorized" {
                (409, c)
            } else if amount > c.amount {
                (400, c)
            } else {
                c.status = "captured";
                c.captured = amount;
                (if c.checkout { 202 } else { 200 }, c)
            }
        }
        Op::Void { charge } | Op::Expire { charge } => {
            let mut c = next(charge);
            // Voiding a charge that waits for its authentication gives it up now (as its deadline would).
            if c.status == "requires_action" && matches!(op, Op::Void { .. }) {
                if !c.checkout {
                    c.action = None;
                    c.status = "failed";
                }
                return Some((200, c));
            }
            if c.status != "authorized" {
                (409, c)
            } else {
                c.status = if matches!(op, Op::Void { .. }) { "voided" } else { "expired" };
                (if c.checkout { 202 } else { 200 }, c)
            }
        }
        Op::Refund { charge, amount } => {
            let mut c = next(charge);
            let refundable = c.captured - c.refunded;
            let amount = amount.unwrap_or(refundable);
            if c.status != "captured" && c.status != "partially_refunded" {
                (409, c)
            } else if amount > refundable {
                (400, c)
            } else {
                c.refund_requests += 1;
                // The sandbox refuses every refund of the refund-failing card: it is reverted. (On Stripe the
                // same number is an ordinary card.)
                if c.card != Card::RefundsFail || c.stripe || c.checkout {
                    c.refunded += amount;
                    c.status = if c.refunded == c.captured { "refunded" } else { "partially_refunded" };
                }
                (201, c)
            }
        }
    })
}

fn choose(rng: &mut Rng, charges: &[Charge], merchants: usize) -> Op {
    let roll = rng.range(0, 99);
    if charges.is_empty() || roll < 30 {
        let card = match rng.range(0, 99) {
            0..=56 => Card::Approve,
            57..=71 => Card::RefundsFail,
            72..=83 => Card::Decline,
            84..=93 => Card::Challenge,
            _ => Card::ProcessingError,
        };
        let amount = if rng.chance(10) { 1 } else { rng.range(1, 200_000) };
        return Op::Create {
            merchant: rng.range(0, merchants as i64 - 1) as usize,
            currency: rng.pick(&["EUR", "JPY", "BHD"]),
            amount,
            card,
            capture: rng.chance(40),
        };
    }
    let charge = rng.range(0, charges.len() as i64 - 1) as usize;
    let c = &charges[charge];
    // Amounts around the limit, so over-captures and over-refunds are tried too.
    let near = |rng: &mut Rng, limit: i64| if rng.chance(30) { None } else { Some(rng.range(1, limit.max(1) + 2)) };
    // A charge waiting for its authentication is usually decided; the other operations on it are refused.
    if c.status == "requires_action" && rng.chance(70) {
        return match rng.range(0, 3) {
            0 | 1 => Op::Authenticate { charge, approve: true },
            2 => Op::Authenticate { charge, approve: false },
            _ => Op::Abandon { charge },
        };
    }
    match roll {
        30..=49 => Op::Capture { charge, amount: near(rng, c.amount) },
        50..=57 => Op::Void { charge },
        // On Stripe, some refunds are made in its dashboard instead (a processor-initiated change).
        58..=87 if c.stripe && c.captured > c.refunded && c.status != "pending" && rng.chance(30) => {
            Op::DashboardRefund { charge, amount: rng.range(1, c.captured - c.refunded) }
        }
        58..=87 => Op::Refund { charge, amount: near(rng, c.captured - c.refunded) },
        88..=92 => Op::Expire { charge },
        _ => Op::Replay { charge },
    }
}

fn sandbox(app: &TestApp) -> std::sync::Arc<Processors> {
    app.processors()
}

/// Runs `op`; returns the new charge for a create, and checks any other answer against the model.
/// The Stripe merchant's secret key at the fake (for refunds made in Stripe's dashboard).
struct Stripe<'a> {
    key: &'a str,
}

async fn run(
    app: &TestApp,
    merchants: &[String],
    stripe: &Stripe<'_>,
    charges: &[Charge],
    op: Op,
    seq: usize,
    seed: u64,
) -> Option<Charge> {
    let context = format!("(seed {seed}, op {seq})");
    let predicted = predict(charges, &op);
    let (status, answer) = match op {
        Op::Create { merchant, currency, amount, card, capture } => {
            let token = app.vault.tokenize(card.number(), &merchants[merchant], "test");
            let body =
                json!({ "amount": amount, "currency": currency, "source": token, "capture": capture }).to_string();
            let key = format!("create-{seq}");
            let (status, answer) =
                app.client(&merchants[merchant], "test").send(Method::POST, "/v1/charges", &body, Some(&key)).await;
            assert_eq!(status, 201, "{context} {answer}");
            let (stripe, checkout) = (is_stripe(merchant), is_checkout(merchant));
            let expected = match card {
                _ if stripe && stripe_refuses(currency, amount) => "failed",
                // Checkout.com's fake does not know this number: an ordinary card there.
                Card::ProcessingError if checkout && capture => "captured",
                Card::ProcessingError if checkout => "authorized",
                Card::Decline => "failed",
                // The sandbox answers this card with a 500 (unknown: recovery decides); Stripe with a 402.
                Card::ProcessingError if stripe => "failed",
                Card::ProcessingError => "pending",
                Card::Approve | Card::RefundsFail if capture => "captured",
                Card::Approve | Card::RefundsFail => "authorized",
                Card::Challenge => "requires_action",
            };
            let connector = if stripe {
                "stripe"
            } else if checkout {
                "checkout"
            } else {
                "sandbox"
            };
            assert_eq!(answer["processor"]["connector"], connector, "{context}");
            // The card is shown whoever settled the authorization (our answer, or the processor's webhook first).
            if expected != "pending" && expected != "failed" {
                assert!(answer["payment_method_details"]["card"]["last4"].is_string(), "{context} {answer}");
            }
            assert_eq!(answer["status"], expected, "{context} {answer}");
            return Some(Charge {
                id: answer["id"].as_str().unwrap().to_owned(),
                merchant,
                currency,
                card,
                stripe,
                checkout,
                status: expected,
                amount,
                captured: if expected == "captured" { amount } else { 0 },
                refunded: 0,
                refund_requests: 0,
                create: (key, body),
                capture,
                action: answer["next_action"]["redirect_url"].as_str().map(str::to_owned),
            });
        }
        Op::DashboardRefund { charge, amount } => {
            let c = &charges[charge];
            let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
                .bind(&c.id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            let key = stripe.key;
            let answer = app
                .client
                .post(format!("{}/v1/refunds", app.stripe_url))
                .bearer_auth(key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("payment_intent={reference}&amount={amount}"))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200, "{context} dashboard refund");
            // Stripe tells us by webhook (sent twice): wait, bounded, for our books to show it.
            let (_, expected) = predicted.as_ref().unwrap();
            for _ in 0..400 {
                let refunded: i64 = sqlx::query_scalar("SELECT amount_refunded FROM charges WHERE id = $1")
                    .bind(&c.id)
                    .fetch_one(&app.pool)
                    .await
                    .unwrap();
                if refunded == expected.refunded {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let (_, answer) = app
                .client(&merchants[c.merchant], "test")
                .send(Method::GET, &format!("/v1/charges/{}", c.id), "", None)
                .await;
            assert_eq!(
                (&answer["status"], &answer["amount_refunded"]),
                (&json!(expected.status), &json!(expected.refunded)),
                "{context} {answer}"
            );
            return None;
        }
        Op::Replay { charge } => {
            let c = &charges[charge];
            app.client(&merchants[c.merchant], "test")
                .send(Method::POST, "/v1/charges", &c.create.1, Some(&c.create.0))
                .await
        }
        Op::Authenticate { charge, approve } => {
            let c = &charges[charge];
            let page = c.action.as_deref().unwrap();
            let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let decision = if approve { "approve" } else { "fail" };
            let decided = browser.post(page).form(&[("decision", decision)]).send().await.unwrap();
            assert_eq!(decided.status().as_u16(), 303, "{context} {page}");
            let back = decided.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
            let reference = back.rsplit('/').next().unwrap();
            let body = json!({ "reference": reference }).to_string();
            let answer = app.signed_as_edge(Method::POST, RETURN_INTERNAL_PATH, &body).send().await.unwrap();
            let answer: Value = match answer.status().as_u16() {
                200 => answer.json().await.unwrap(),
                // Stripe's own webhook (payment_intent.*) may decide the charge before the browser is back; the
                // return then finds no charge waiting (404) and the charge shows what the webhook decided.
                404 if c.stripe => {
                    app.client(&merchants[c.merchant], "test")
                        .expect(200, Method::GET, &format!("/v1/charges/{}", c.id), &Value::Null)
                        .await
                }
                status => panic!("{context}: the return answered {status}"),
            };
            let (_, expected) = predicted.as_ref().unwrap();
            if c.checkout && expected.status == "captured" {
                // The sale's capture is processed at once by this run's Checkout.com, or confirmed between rounds.
                let seen = (answer["status"].as_str(), answer["pending_operation"].as_str());
                assert!(
                    matches!(seen, (Some("captured"), None) | (Some("authorized"), Some("capture"))),
                    "{context} {answer}"
                );
            } else {
                assert_eq!(answer["status"], expected.status, "{context} {answer}");
                assert_eq!(answer["amount_captured"], expected.captured, "{context} {answer}");
            }
            if !approve {
                assert_eq!(answer["failure_code"], "authentication_failed", "{context} {answer}");
            }
            return None;
        }
        Op::Abandon { charge } => {
            let c = &charges[charge];
            sqlx::query("UPDATE charges SET action_expires_at = now() - interval '1 second' WHERE id = $1")
                .bind(&c.id)
                .execute(&app.pool)
                .await
                .unwrap();
            authentication::give_up_due(&app.pool, &sandbox(app)).await.unwrap();
            let (_, answer) = app
                .client(&merchants[c.merchant], "test")
                .send(Method::GET, &format!("/v1/charges/{}", c.id), "", None)
                .await;
            let (_, expected) = predicted.as_ref().unwrap();
            let failure = if expected.status == "failed" { json!("authentication_abandoned") } else { Value::Null };
            assert_eq!(
                (&answer["status"], &answer["failure_code"]),
                (&json!(expected.status), &failure),
                "{context} {answer}"
            );
            return None;
        }
        Op::Capture { charge, amount } => {
            let c = &charges[charge];
            let body = amount.map(|a| json!({ "amount": a }).to_string()).unwrap_or_default();
            let path = format!("/v1/charges/{}/capture", c.id);
            app.client(&merchants[c.merchant], "test").send(Method::POST, &path, &body, None).await
        }
        Op::Void { charge } => {
            let c = &charges[charge];
            app.client(&merchants[c.merchant], "test")
                .send(Method::POST, &format!("/v1/charges/{}/void", c.id), "", None)
                .await
        }
        Op::Refund { charge, amount } => {
            let c = &charges[charge];
            let mut body = json!({ "charge": c.id });
            if let Some(amount) = amount {
                body["amount"] = json!(amount);
            }
            let key = format!("refund-{seq}");
            app.client(&merchants[c.merchant], "test")
                .send(Method::POST, "/v1/refunds", &body.to_string(), Some(&key))
                .await
        }
        Op::Expire { charge } => {
            let c = &charges[charge];
            // Due now: the expiry job voids it if it is still authorized (and only this one is due).
            sqlx::query("UPDATE charges SET authorization_expires_at = now() - interval '1 second' WHERE id = $1 AND status = 'authorized'")
                .bind(&c.id)
                .execute(&app.pool)
                .await
                .unwrap();
            expiry::run_once(&app.pool, &sandbox(app)).await.unwrap();
            if c.checkout {
                // Accepted by Checkout.com: confirmed when the processor is asked, between rounds.
                return None;
            }
            // Another expiry op's job of this round may have selected or claimed this charge (so ours skipped
            // it) and still be at the processor with it: give that job a moment to finish.
            let (_, expected) = predicted.as_ref().unwrap();
            for _ in 0..150 {
                let status: String =
                    sqlx::query_scalar("SELECT status FROM charges WHERE id = $1 AND pending_operation IS NULL")
                        .bind(&c.id)
                        .fetch_optional(&app.pool)
                        .await
                        .unwrap()
                        .unwrap_or_default();
                if status == expected.status {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (_, answer) = app
                .client(&merchants[c.merchant], "test")
                .send(Method::GET, &format!("/v1/charges/{}", c.id), "", None)
                .await;
            assert_eq!(answer["status"], expected.status, "{context} expiry of {}", c.id);
            return None;
        }
    };
    let (expected_status, expected) = predicted.unwrap();
    assert_eq!(status, expected_status, "{context} {answer}");
    if status == 200 && answer["object"] == "charge" {
        assert_eq!(answer["status"], expected.status, "{context} {answer}");
        assert_eq!(answer["amount_captured"], expected.captured, "{context} {answer}");
    }
    if status == 202 {
        // Accepted, to be confirmed: the charge is as it was, with the operation pending.
        assert_eq!(answer["status"], "authorized", "{context} {answer}");
        assert!(answer["pending_operation"].is_string(), "{context} {answer}");
    }
    if status == 201 {
        let refused = expected.card == Card::RefundsFail && !expected.stripe && !expected.checkout;
        let expected = if refused {
            "failed"
        } else if expected.checkout {
            "pending"
        } else {
            "succeeded"
        };
        assert_eq!(answer["status"], expected, "{context} {answer}");
    }
    None
}

/// The model's state after `op` (the HTTP answer was already checked against it).
fn apply(charges: &mut [Charge], op: &Op) {
    if let Some((_, next)) = predict(charges, op) {
        let index = charges.iter().position(|c| c.id == next.id).unwrap();
        charges[index] = next;
    }
}

/// One merchant's payments go to Stripe, one's to Checkout.com (each on its fake), the others' to the sandbox.
const MERCHANTS: usize = 4;
fn is_stripe(merchant: usize) -> bool {
    merchant == MERCHANTS - 2
}
fn is_checkout(merchant: usize) -> bool {
    merchant == MERCHANTS - 1
}

/// What Stripe refuses before any card is looked at (its documented minimums, three-decimal currencies in
/// tens, eight digits at most): the charge fails.
fn stripe_refuses(currency: &str, amount: i64) -> bool {
    let minimum = match currency {
        "EUR" | "JPY" => 50,
        _ => 1,
    };
    amount < minimum || amount > 99_999_999 || (currency == "BHD" && amount % 10 != 0)
}

fn target(op: &Op) -> Option<usize> {
    match *op {
        Op::Create { .. } => None,
        Op::Capture { charge, .. }
        | Op::Void { charge }
        | Op::Refund { charge, .. }
        | Op::Expire { charge }
        | Op::Replay { charge }
        | Op::DashboardRefund { charge, .. }
        | Op::Authenticate { charge, .. }
        | Op::Abandon { charge } => Some(charge),
    }
}

#[tokio::test]
async fn thousands_of_random_operations_keep_the_ledger_and_the_processor_in_agreement() {
    let seed = std::env::var("PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_le_bytes(crate::helpers::random_bytes()[..8].try_into().unwrap()));
    let ops: usize = std::env::var("PROPERTY_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    eprintln!("ledger property run: PROPERTY_SEED={seed} PROPERTY_OPS={ops}");
    let mut rng = Rng(seed);
    let app = spawn_app().await;
    let mut merchants = Vec::new();
    let mut pricing = Vec::new();
    let mut stripe_keys = Vec::new();
    let mut checkout_key = String::new();
    for index in 0..MERCHANTS {
        let merchant = insert_merchant(&app.pool).await;
        if is_stripe(index) {
            let (account, key) = app.route_to_stripe(&merchant, "test").await;
            // Stripe's webhooks reach us (twice each), so refunds made in its dashboard do too.
            let fake = json!({ "webhook_copies": 2, "webhook_delay_ms": 1 });
            app.webhooks_from_fake(&merchant, "stripe", (&account, &key), "whsec_property_run", fake).await;
            stripe_keys.push(key);
        }
        if is_checkout(index) {
            // Actions processed as soon as they are asked for; still answered 202 and confirmed when asked.
            checkout_key = app.route_to_checkout(&merchant, "test", 0).await.1;
        }
        let price = Pricing { basis_points: rng.range(0, 400), fixed: rng.range(0, 60) };
        sqlx::query(
            "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, '*', $2, $3)",
        )
        .bind(&merchant)
        .bind(price.basis_points as i32)
        .bind(price.fixed)
        .execute(&app.pool)
        .await
        .unwrap();
        merchants.push(merchant);
        pricing.push(price);
    }

    let mut charges: Vec<Charge> = Vec::new();
    let mut done = 0;
    while done < ops {
        // A round: up to eight operations at once, each on a charge of its own, so the model can
        // predict every answer exactly (the races themselves are tested elsewhere).
        let mut round = Vec::new();
        let mut busy = HashSet::new();
        for _ in 0..rng.range(1, 8) {
            let op = choose(&mut rng, &charges, merchants.len());
            if let Some(charge) = target(&op)
                && !busy.insert(charge)
            {
                continue;
            }
            round.push(op);
        }
        // An operation on a Checkout.com charge is confirmed only when the processor is asked: this round ends
        // with recovery, so the next round finds it done.
        let asks_checkout = round.iter().any(|op| target(op).is_some_and(|c| charges[c].checkout));
        let snapshot = charges.clone();
        let stripe = Stripe { key: &stripe_keys[0] };
        let futures =
            round.iter().enumerate().map(|(i, op)| run(&app, &merchants, &stripe, &snapshot, *op, done + i, seed));
        let created = futures::future::join_all(futures).await;
        for op in &round {
            apply(&mut charges, op);
        }
        charges.extend(created.into_iter().flatten());
        done += round.len();
        // Between rounds, never during one: recovery of the processing-error charges (a zero settle
        // delay is only safe when nothing is in flight).
        if asks_checkout || rng.chance(10) {
            recovery::run_once(&app.pool, &sandbox(&app), Duration::ZERO).await.unwrap();
            for charge in charges.iter_mut().filter(|c| c.status == "pending") {
                charge.status = "failed";
            }
        }
    }
    recovery::run_once(&app.pool, &sandbox(&app), Duration::ZERO).await.unwrap();
    for charge in charges.iter_mut().filter(|c| c.status == "pending") {
        charge.status = "failed";
    }

    check_charges(&app, &charges, seed).await;
    check_processor(&app, &charges, seed).await;
    check_stripe(&app, &stripe_keys[0], &charges, seed).await;
    check_checkout(&app, &checkout_key, &charges, seed).await;
    check_balances(&app, &merchants, &pricing, &charges, seed).await;
    check_events(&app, &charges, seed).await;
    audit_is_clean(&app).await;
    let statuses: BTreeMap<&str, usize> = charges.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.status).or_default() += 1;
        m
    });
    let dashboard: i64 = sqlx::query_scalar("SELECT count(*) FROM refunds WHERE metadata->>'made_at' = 'processor'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    eprintln!(
        "ledger property run: {} charges, {done} operations, {statuses:?}, {dashboard} refunds made at Stripe",
        charges.len()
    );
}

async fn check_charges(app: &TestApp, charges: &[Charge], seed: u64) {
    for c in charges {
        let (status, captured, refunded, claim): (String, i64, i64, Option<String>) = sqlx::query_as(
            "SELECT status, amount_captured, amount_refunded, pending_operation FROM charges WHERE id = $1",
        )
        .bind(&c.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            (status.as_str(), captured, refunded, claim),
            (c.status, c.captured, c.refunded, None),
            "seed {seed}: {c:?}"
        );
    }
}

/// The sandbox acquirer's books agree with ours, authorization by authorization.
async fn check_processor(app: &TestApp, charges: &[Charge], seed: u64) {
    let authorized = |c: &&Charge| match c.card {
        Card::Approve | Card::RefundsFail => true,
        // Failed challenges are declined there, abandoned ones cancelled: nothing to compare.
        Card::Challenge => c.status != "failed",
        _ => false,
    };
    for c in charges.iter().filter(|c| !c.stripe && !c.checkout).filter(authorized) {
        let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
            .bind(&c.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let at_processor = app.at_processor(&reference).await;
        assert_eq!(at_processor["captured"], c.captured, "seed {seed}: {c:?} {at_processor}");
        assert_eq!(at_processor["refunded"], c.refunded, "seed {seed}: {c:?} {at_processor}");
        assert_eq!(at_processor["voided"], c.status == "voided" || c.status == "expired", "seed {seed}: {c:?}");
    }
}

/// Stripe's books (its fake's PaymentIntents and refunds, read through its API) agree with ours.
async fn check_stripe(app: &TestApp, key: &str, charges: &[Charge], seed: u64) {
    let get = |path: String| {
        let request = app.client.get(format!("{}{path}", app.stripe_url)).bearer_auth(key);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut checked = 0;
    for c in charges.iter().filter(|c| c.stripe && c.status != "failed") {
        let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
            .bind(&c.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let intent = get(format!("/v1/payment_intents/{reference}")).await;
        let refunds = get(format!("/v1/refunds?payment_intent={reference}")).await;
        let refunded: i64 = refunds["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
        assert_eq!(intent["amount_received"], c.captured, "seed {seed}: {c:?} {intent}");
        assert_eq!(refunded, c.refunded, "seed {seed}: {c:?} {refunds}");
        assert_eq!(
            intent["status"] == "canceled",
            c.status == "voided" || c.status == "expired",
            "seed {seed}: {c:?} {intent}"
        );
        checked += 1;
    }
    assert!(
        checked > 0 || charges.iter().all(|c| !c.stripe || c.status == "failed"),
        "seed {seed}: Stripe served nothing"
    );
}

/// Checkout.com's books (its fake's payments, read through its API) agree with ours.
async fn check_checkout(app: &TestApp, key: &str, charges: &[Charge], seed: u64) {
    let mut checked = 0;
    for c in charges.iter().filter(|c| c.checkout && c.status != "failed") {
        let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
            .bind(&c.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let request = app.client.get(format!("{}/payments/{reference}", app.checkout_url)).bearer_auth(key);
        let payment: Value = request.send().await.unwrap().json().await.unwrap();
        let balances = &payment["balances"];
        assert_eq!(balances["total_captured"], c.captured, "seed {seed}: {c:?} {payment}");
        assert_eq!(balances["total_refunded"], c.refunded, "seed {seed}: {c:?} {payment}");
        assert_eq!(
            payment["status"] == "Voided",
            c.status == "voided" || c.status == "expired",
            "seed {seed}: {c:?} {payment}"
        );
        checked += 1;
    }
    assert!(checked > 0, "seed {seed}: Checkout.com served nothing");
}

/// Each merchant's pending balance, per currency: captures less fees, less refunds.
async fn check_balances(app: &TestApp, merchants: &[String], pricing: &[Pricing], charges: &[Charge], seed: u64) {
    for (index, merchant) in merchants.iter().enumerate() {
        let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
        for c in charges.iter().filter(|c| c.merchant == index && c.captured > 0) {
            *expected.entry(c.currency).or_default() += c.captured - pricing[index].fee(c.captured) - c.refunded;
        }
        let (status, balance) = app.client(merchant, "test").send(Method::GET, "/v1/balance", "", None).await;
        assert_eq!(status, 200);
        let got: BTreeMap<&str, i64> = balance["pending"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|line| line["amount"] != 0)
            .map(|line| (line["currency"].as_str().unwrap(), line["amount"].as_i64().unwrap()))
            .collect();
        expected.retain(|_, amount| *amount != 0);
        assert_eq!(got, expected, "seed {seed}: merchant {index} ({:?})", pricing[index]);
        assert!(balance["available"].as_array().unwrap().iter().all(|l| l["amount"] == 0), "{balance}");
    }
}

/// One `charge.captured` per captured charge, and a `refund.created` per accepted refund.
async fn check_events(app: &TestApp, charges: &[Charge], seed: u64) {
    for c in charges {
        let (captured, refunds): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE e.type = 'charge.captured'),
                    (SELECT count(*) FROM refunds r WHERE r.charge_id = $1)
             FROM events e WHERE e.object_id = $1",
        )
        .bind(&c.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(captured, i64::from(c.captured > 0), "seed {seed}: {c:?}");
        assert_eq!(refunds, c.refund_requests as i64, "seed {seed}: {c:?}");
    }
}
