//! 3-D Secure on the sandbox acquirer, through the API and the edge's internal return route: a charge that
//! requires the cardholder's authentication waits in `requires_action` with nothing booked; the shopper decides on
//! the sandbox's authentication page; the return (by its single-use reference) makes the backend ask the
//! processor, never trust the browser; an abandoned authentication fails at its deadline and is cancelled at the
//! processor.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_core::authentication::RETURN_INTERNAL_PATH;
use paygate_ledger::domain::charges::authentication;
use reqwest::Method;
use serde_json::{Value, json};

const CHALLENGE: &str = "4000000000003220";
const FRICTIONLESS: &str = "4000000000003055";

/// A browser that does not follow redirects, so the test sees where the authentication page sends it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Decides on the sandbox's authentication page; returns the status and the Location it answered.
async fn decide(redirect_url: &str, decision: &str) -> (u16, Option<String>) {
    let answer = browser().post(redirect_url).form(&[("decision", decision)]).send().await.unwrap();
    let location = answer.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (answer.status().as_u16(), location)
}

/// The reference at the end of a return URL.
fn reference_of(return_url: &str) -> String {
    return_url.rsplit('/').next().unwrap().to_owned()
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

async fn challenged(app: &TestApp, merchant: &str, capture: bool) -> (String, String) {
    let charge = app.charge_card(merchant, CHALLENGE, 2_500, "EUR", capture).await;
    assert_eq!(charge["status"], "requires_action", "{charge}");
    let next = &charge["next_action"];
    assert_eq!(next["type"], "redirect");
    let redirect_url = next["redirect_url"].as_str().unwrap().to_owned();
    assert!(redirect_url.starts_with(&app.sandbox_url), "{redirect_url}");
    // RFC 3339 in UTC: ordered as text.
    assert!(next["expires_at"].as_str().unwrap() > charge["created"].as_str().unwrap(), "{charge}");
    (charge["id"].as_str().unwrap().to_owned(), redirect_url)
}

#[tokio::test]
async fn a_frictionless_card_goes_straight_through() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, FRICTIONLESS, 2_500, "EUR", true).await;
    assert_eq!(charge["status"], "captured", "{charge}");
    assert_eq!(charge["next_action"], Value::Null);
    assert_eq!(event_types(&app, charge["id"].as_str().unwrap()).await, ["charge.authorized", "charge.captured"]);
}

#[tokio::test]
async fn an_approved_challenge_captures_once_the_processor_confirms_it_and_the_reference_works_once() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (charge, redirect_url) = challenged(&app, &merchant, true).await;
    assert_eq!(ledger_entries(&app, &charge).await, 0, "nothing is booked while the cardholder authenticates");
    assert_eq!(event_types(&app, &charge).await, ["charge.requires_action"]);

    let (status, location) = decide(&redirect_url, "approve").await;
    assert_eq!(status, 303);
    let return_url = location.unwrap();
    assert!(return_url.starts_with(&format!("{}/v1/authentication_returns/ar_", app.vault.url)), "{return_url}");
    let reference = reference_of(&return_url);
    let (status, returned) = come_back(&app, &reference).await;
    assert_eq!(status, 200, "{returned}");
    assert_eq!((returned["id"].as_str(), returned["status"].as_str()), (Some(charge.as_str()), Some("captured")));
    assert_eq!(returned["next_action"], Value::Null);
    assert_eq!(returned["amount_captured"], 2_500);
    assert_eq!(event_types(&app, &charge).await, ["charge.requires_action", "charge.authorized", "charge.captured"]);
    assert!(ledger_entries(&app, &charge).await > 0);

    // The same reference again (a reload, a replay) finds nothing and changes nothing.
    let (status, problem) = come_back(&app, &reference).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("resource_not_found")));
    assert_eq!(event_types(&app, &charge).await.len(), 3);
    // Nor is the reference kept anywhere it could be read back: only its hash.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE return_reference_hash IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let dump = sqlx::query_scalar::<_, String>("SELECT row_to_json(c)::text FROM charges c").fetch_all(&app.pool);
    assert!(dump.await.unwrap().iter().all(|row| !row.contains(&reference)));
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_failed_challenge_fails_the_charge_with_its_reason() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (charge, redirect_url) = challenged(&app, &merchant, false).await;
    let (status, location) = decide(&redirect_url, "fail").await;
    assert_eq!(status, 303);
    let (status, returned) = come_back(&app, &reference_of(&location.unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(returned["status"], "failed");
    assert_eq!(returned["failure_code"], "authentication_failed");
    assert_eq!(ledger_entries(&app, &charge).await, 0);
    assert_eq!(event_types(&app, &charge).await, ["charge.requires_action", "charge.failed"]);
}

#[tokio::test]
async fn the_browser_coming_back_changes_nothing_before_the_processor_agrees() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (charge, redirect_url) = challenged(&app, &merchant, true).await;
    // The shopper (or anyone holding the URL) comes back without having authenticated: an early or forged
    // "success". The processor says it is not finished, so the charge waits, and the reference stays good.
    let reference =
        reference_of(app.at_processor(&processor_reference(&app, &charge).await).await["return_url"].as_str().unwrap());
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
    let (other, other_redirect) = challenged(&app, &merchant, true).await;
    let (_, other_location) = decide(&other_redirect, "approve").await;
    let (status, returned) = come_back(&app, &reference_of(&other_location.unwrap())).await;
    assert_eq!(
        (status, returned["id"].as_str(), returned["status"].as_str()),
        (200, Some(other.as_str()), Some("captured"))
    );
    assert_eq!(charge_of(&app, &merchant, &charge).await["status"], "requires_action");
    // Once the processor has it, the same return completes the first.
    let (status, location) = decide(&redirect_url, "approve").await;
    assert_eq!((status, location.map(|l| reference_of(&l))), (303, Some(reference.clone())));
    let (status, returned) = come_back(&app, &reference).await;
    assert_eq!((status, returned["status"].as_str()), (200, Some("captured")));
}

async fn processor_reference(app: &TestApp, charge: &str) -> String {
    sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
        .bind(charge)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_abandoned_authentication_fails_at_its_deadline_and_is_cancelled_at_the_processor() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (charge, redirect_url) = challenged(&app, &merchant, true).await;
    let (_, location) = decide(&redirect_url, "abandon").await;
    assert_eq!(location, None);
    let processors = app.processors();
    assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0, "not due yet");
    sqlx::query("UPDATE charges SET action_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(&charge)
        .execute(&app.pool)
        .await
        .unwrap();
    // While the processor cannot be reached, nothing is decided.
    let unreachable = app.unreachable_processors();
    assert_eq!(authentication::give_up_due(&app.pool, &unreachable).await.unwrap(), 0);
    assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 1);
    let failed = charge_of(&app, &merchant, &charge).await;
    assert_eq!(
        (failed["status"].as_str(), failed["failure_code"].as_str()),
        (Some("failed"), Some("authentication_abandoned"))
    );
    assert_eq!(failed["next_action"], Value::Null);
    assert_eq!(event_types(&app, &charge).await, ["charge.requires_action", "charge.failed"]);
    assert_eq!(authentication::give_up_due(&app.pool, &processors).await.unwrap(), 0, "decided once");
    // The processor was told: a late approval on its page is refused, so no money is held for a failed charge.
    assert_eq!(app.at_processor(&processor_reference(&app, &charge).await).await["voided"], true);
    let (status, _) = decide(&redirect_url, "approve").await;
    assert_eq!(status, 409);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn the_return_route_is_the_edges_alone() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (_, redirect_url) = challenged(&app, &merchant, true).await;
    let (_, location) = decide(&redirect_url, "approve").await;
    let body = json!({ "reference": reference_of(&location.unwrap()) }).to_string();
    let answer = app.signed(Method::POST, RETURN_INTERNAL_PATH, &body, &merchant, "test").send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403, "a merchant's request may not complete authentications");
}
