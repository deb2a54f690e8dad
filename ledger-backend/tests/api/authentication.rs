//! 3-D Secure through the API and the edge's internal return route, against each processor that does it (the
//! sandbox acquirer, the fake Stripe and the fake Checkout.com): a charge that requires the cardholder's authentication waits in
//! `requires_action` with nothing booked; the shopper decides on the processor's authentication page; the return
//! (by its single-use reference) makes the backend ask the processor, never trust the browser; an abandoned
//! authentication fails at its deadline and is cancelled at the processor. Frictionless cards go straight through.

use crate::connectors::{TARGETS, Target};
use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_core::authentication::RETURN_INTERNAL_PATH;
use paygate_ledger::domain::charges::authentication;
use reqwest::Method;
use serde_json::{Value, json};

/// Both processors' documented test cards: a challenge, and 3-D Secure without one.
const CHALLENGE: &str = "4000000000003220";
const FRICTIONLESS: &str = "4000000000003055";
/// The fake Checkout.com's challenge session in these tests (its default is ten minutes).
const CHECKOUT_SESSION_MS: u64 = 1_500;

/// A merchant whose charges go to `target`; with Stripe, the fake account's secret key.
async fn merchant_on(app: &TestApp, target: Target) -> (String, Option<String>) {
    let merchant = insert_merchant(&app.pool).await;
    let key = match target {
        Target::Sandbox => None,
        Target::Stripe => Some(app.route_to_stripe(&merchant, "test").await.1),
        // A short challenge session, so that an abandoned one lapses within the test.
        Target::Checkout => {
            let fake = json!({ "action_delay_ms": 0, "three_ds_session_ms": CHECKOUT_SESSION_MS });
            Some(app.route_to_checkout_with(&merchant, "test", fake).await.1)
        }
    };
    (merchant, key)
}

/// A browser that does not follow redirects, so the test sees where the authentication page sends it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Decides on the processor's authentication page; returns the status and the Location it answered.
async fn decide(redirect_url: &str, decision: &str) -> (u16, Option<String>) {
    let answer = browser().post(redirect_url).form(&[("decision", decision)]).send().await.unwrap();
    let location = answer.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (answer.status().as_u16(), location)
}

/// The reference in a return URL (processors may append a query of their own, which we ignore).
fn reference_of(return_url: &str) -> String {
    let path = return_url.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_owned()
}

/// The edge's call when the browser comes back: the status and the charge (or problem).
async fn come_back(app: &TestApp, reference: &str) -> (u16, Value) {
    let body = json!({ "reference": reference }).to_string();
    let answer = app.signed_as_edge(Method::POST, RETURN_INTERNAL_PATH, &body).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn charge_of(app: &TestApp, merchant: &str, charge: &str) -> Value {
    app.client(merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{charge}"), &Value::Null).await
}

async fn ledger_entries(app: &TestApp, charge: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ledger_transactions WHERE charge_id = $1")
        .bind(charge)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// What the processor holds for the charge: the sandbox's authorization or Stripe's PaymentIntent.
async fn at_processor(app: &TestApp, target: Target, key: &Option<String>, charge: &str) -> Value {
    let reference = app.processor_reference(charge).await;
    match target {
        Target::Sandbox => app.at_processor(&reference).await,
        Target::Stripe | Target::Checkout => {
            let url = match target {
                Target::Stripe => format!("{}/v1/payment_intents/{reference}", app.stripe_url),
                _ => format!("{}/payments/{reference}", app.checkout_url),
            };
            let key = key.as_deref().unwrap();
            reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap()
        }
    }
}

/// A charge with the challenge card: it waits for the authentication, whose page is the processor's.
async fn challenged(app: &TestApp, merchant: &str, capture: bool, target: Target) -> (String, String) {
    let charge = app.charge_card(merchant, CHALLENGE, 2_500, "EUR", capture).await;
    assert_eq!(charge["status"], "requires_action", "{target:?}: {charge}");
    let next = &charge["next_action"];
    assert_eq!(next["type"], "redirect");
    let redirect_url = next["redirect_url"].as_str().unwrap().to_owned();
    let host = target.fake_url(app).unwrap_or(&app.sandbox_url);
    assert!(redirect_url.starts_with(host), "{target:?}: {redirect_url}");
    // RFC 3339 in UTC: ordered as text.
    assert!(next["expires_at"].as_str().unwrap() > charge["created"].as_str().unwrap(), "{charge}");
    (charge["id"].as_str().unwrap().to_owned(), redirect_url)
}

#[tokio::test]
async fn a_frictionless_card_goes_straight_through() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let charge = app.charge_card(&merchant, FRICTIONLESS, 2_500, "EUR", true).await;
        assert_eq!(charge["status"], "captured", "{target:?}: {charge}");
        assert_eq!(charge["next_action"], Value::Null);
        assert_eq!(event_types(&app, charge["id"].as_str().unwrap()).await, ["charge.authorized", "charge.captured"]);
    }
}

#[tokio::test]
async fn an_approved_challenge_completes_once_the_processor_confirms_it_and_the_reference_works_once() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        for capture in [true, false] {
            let (charge, redirect_url) = challenged(&app, &merchant, capture, target).await;
            assert_eq!(ledger_entries(&app, &charge).await, 0, "nothing is booked while the cardholder authenticates");
            assert_eq!(event_types(&app, &charge).await, ["charge.requires_action"]);

            let (status, location) = decide(&redirect_url, "approve").await;
            assert_eq!(status, 303, "{target:?}");
            let return_url = location.unwrap();
            let expected = format!("{}/v1/authentication_returns/ar_", app.vault.url);
            assert!(return_url.starts_with(&expected), "{target:?}: {return_url}");
            let reference = reference_of(&return_url);
            let (status, returned) = come_back(&app, &reference).await;
            assert_eq!(status, 200, "{returned}");
            let (expected_status, captured) = if capture { ("captured", 2_500) } else { ("authorized", 0) };
            assert_eq!(returned["id"].as_str(), Some(charge.as_str()));
            assert_eq!(returned["status"].as_str(), Some(expected_status), "{target:?}: {returned}");
            assert_eq!(
                (&returned["amount_authorized"], &returned["amount_captured"]),
                (&json!(2_500), &json!(captured))
            );
            assert_eq!(returned["next_action"], Value::Null);
            let mut expected_events = vec!["charge.requires_action", "charge.authorized"];
            if capture {
                expected_events.push("charge.captured");
            }
            assert_eq!(event_types(&app, &charge).await, expected_events);
            assert!(ledger_entries(&app, &charge).await > 0);

            // The same reference again (a reload, a replay) finds nothing and changes nothing.
            let (status, problem) = come_back(&app, &reference).await;
            assert_eq!((status, problem["code"].as_str()), (404, Some("resource_not_found")));
            assert_eq!(event_types(&app, &charge).await.len(), expected_events.len());
            // The reference is kept nowhere it could be read back: only its hash.
            let rows = sqlx::query_scalar::<_, String>("SELECT row_to_json(c)::text FROM charges c");
            assert!(rows.fetch_all(&app.pool).await.unwrap().iter().all(|row| !row.contains(&reference)));
        }
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_failed_challenge_fails_the_charge_with_its_reason() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let (charge, redirect_url) = challenged(&app, &merchant, false, target).await;
        let (status, location) = decide(&redirect_url, "fail").await;
        assert_eq!(status, 303);
        let (status, returned) = come_back(&app, &reference_of(&location.unwrap())).await;
        assert_eq!(status, 200);
        assert_eq!(returned["status"], "failed", "{target:?}: {returned}");
        assert_eq!(returned["failure_code"], "authentication_failed");
        assert_eq!(ledger_entries(&app, &charge).await, 0);
        assert_eq!(event_types(&app, &charge).await, ["charge.requires_action", "charge.failed"]);
    }
}

#[tokio::test]
async fn the_browser_coming_back_changes_nothing_before_the_processor_agrees() {
    let app = spawn_app().await;
    let (merchant, _) = merchant_on(&app, Target::Sandbox).await;
    let (charge, redirect_url) = challenged(&app, &merchant, true, Target::Sandbox).await;
    // The shopper (or anyone holding the URL) comes back without having authenticated: an early or forged
    // "success". The processor says it is not finished, so the charge waits, and the reference stays good.
    let at_sandbox = app.at_processor(&app.processor_reference(&charge).await).await;
    let reference = reference_of(at_sandbox["return_url"].as_str().unwrap());
    let (status, returned) = come_back(&app, &reference).await;
    assert_eq!((status, returned["status"].as_str()), (200, Some("requires_action")), "{returned}");
    assert_eq!(event_types(&app, &charge).await, ["charge.requires_action"]);
    assert_eq!(ledger_entries(&app, &charge).await, 0);
    // References that are not this charge's find nothing, whatever their shape.
    for other in [format!("ar_{}", "0".repeat(64)), String::new(), "ar_".into(), "ar_zz".into(), charge.clone()] {
        let (status, _) = come_back(&app, &other).await;
        assert_eq!(status, 404, "{other:?}");
    }
    // A second waiting charge: its reference moves only itself.
    let (other, other_redirect) = challenged(&app, &merchant, true, Target::Sandbox).await;
    let (_, other_location) = decide(&other_redirect, "approve").await;
    let (status, returned) = come_back(&app, &reference_of(&other_location.unwrap())).await;
    assert_eq!((status, returned["id"].as_str()), (200, Some(other.as_str())));
    assert_eq!(returned["status"], "captured");
    assert_eq!(charge_of(&app, &merchant, &charge).await["status"], "requires_action");
    // Once the processor has it, the same return completes the first.
    let (status, location) = decide(&redirect_url, "approve").await;
    assert_eq!((status, location.map(|l| reference_of(&l))), (303, Some(reference.clone())));
    let (status, returned) = come_back(&app, &reference).await;
    assert_eq!((status, returned["status"].as_str()), (200, Some("captured")));
}

#[tokio::test]
async fn an_abandoned_authentication_fails_at_its_deadline_and_is_cancelled_at_the_processor() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, key) = merchant_on(&app, target).await;
        let (charge, redirect_url) = challenged(&app, &merchant, true, target).await;
        let (_, location) = decide(&redirect_url, "abandon").await;
        assert_eq!(location, None, "abandoning sends nobody back");
        let processors = app.processors();
        assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0, "not due yet");
        let make_due = || {
            sqlx::query("UPDATE charges SET action_expires_at = now() - interval '1 second' WHERE id = $1")
                .bind(&charge)
                .execute(&app.pool)
        };
        make_due().await.unwrap();
        // While the processor cannot be reached, nothing is decided, and the charge is asked again a minute on.
        let unreachable = app.unreachable_processors();
        assert_eq!(authentication::give_up_due(&app.pool, &unreachable).await.unwrap(), 0);
        assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0, "put back, not due yet");
        make_due().await.unwrap();
        if target == Target::Checkout {
            // Checkout.com cannot cancel a waiting authentication: the charge waits until its session lapses.
            assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0);
            assert_eq!(charge_of(&app, &merchant, &charge).await["status"], "requires_action");
            tokio::time::sleep(std::time::Duration::from_millis(CHECKOUT_SESSION_MS + 200)).await;
            make_due().await.unwrap();
        }
        assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 1, "{target:?}");
        let failed = charge_of(&app, &merchant, &charge).await;
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["failure_code"], "authentication_abandoned");
        assert_eq!(failed["next_action"], Value::Null);
        assert_eq!(event_types(&app, &charge).await, ["charge.requires_action", "charge.failed"]);
        assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0, "decided once");
        // The processor cancelled it (or its session lapsed) before the charge failed: a late approval is refused,
        // so no money is held for a failed charge.
        let held = at_processor(&app, target, &key, &charge).await;
        match target {
            Target::Sandbox => assert_eq!(held["voided"], true, "{held}"),
            Target::Stripe => assert_eq!(held["status"], "canceled", "{held}"),
            Target::Checkout => assert_eq!(held["status"], "Expired", "{held}"),
        }
        let (status, _) = decide(&redirect_url, "approve").await;
        assert_eq!(status, 409, "{target:?}");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn the_return_route_is_the_edges_alone() {
    let app = spawn_app().await;
    let (merchant, _) = merchant_on(&app, Target::Sandbox).await;
    let (_, redirect_url) = challenged(&app, &merchant, true, Target::Sandbox).await;
    let (_, location) = decide(&redirect_url, "approve").await;
    let body = json!({ "reference": reference_of(&location.unwrap()) }).to_string();
    let answer = app.signed(Method::POST, RETURN_INTERNAL_PATH, &body, &merchant, "test").send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403, "a merchant's request may not complete authentications");
}

#[tokio::test]
async fn a_shop_voiding_a_waiting_charge_gives_it_up_now_unless_the_shopper_already_approved() {
    let app = spawn_app().await;
    for target in [Target::Sandbox, Target::Stripe] {
        let (merchant, key) = merchant_on(&app, target).await;
        let void = |charge: String| {
            let path = format!("/v1/charges/{charge}/void");
            let client = app.client(&merchant, "test");
            async move { client.expect(200, Method::POST, &path, &Value::Null).await }
        };
        // The shopper closed the dialog: voided, the processor cancels and the charge fails at once.
        let (charge, redirect_url) = challenged(&app, &merchant, true, target).await;
        let voided = void(charge.clone()).await;
        assert_eq!(
            (voided["status"].as_str(), voided["failure_code"].as_str()),
            (Some("failed"), Some("authentication_abandoned")),
            "{target:?}"
        );
        let held = at_processor(&app, target, &key, &charge).await;
        assert!(held["voided"] == true || held["status"] == "canceled", "{target:?}: {held}");
        assert_eq!(decide(&redirect_url, "approve").await.0, 409, "nothing can be approved afterwards");
        // The shopper approved at the bank but the return never came: the void finds the payment made, and says so.
        let (paid, redirect_url) = challenged(&app, &merchant, true, target).await;
        assert_eq!(decide(&redirect_url, "approve").await.0, 303);
        let answer = void(paid.clone()).await;
        assert_eq!(answer["status"], "captured", "{target:?}: {answer}");
        assert_eq!(event_types(&app, &paid).await, ["charge.requires_action", "charge.authorized", "charge.captured"]);
    }
    audit_is_clean(&app).await;
}
