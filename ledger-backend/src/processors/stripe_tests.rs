//! Table-driven from answers in Stripe's documented shapes (docs.stripe.com/api/errors, stripe-mock's
//! fixtures; `tests/data/stripe/` would hold larger ones).

use super::*;
use paygate_core::Currency;

fn key() -> Secret {
    Secret::new("sk_test_51abcdefghijkl".into())
}

fn answer(status: u16, body: &str) -> HttpAnswer {
    HttpAnswer { status, body: body.into() }
}

#[test]
fn the_authorize_call_is_a_confirmed_form_encoded_payment_intent_with_our_ids() {
    let request = AuthorizeRequest {
        attempt_id: "att_01",
        charge_id: "ch_01",
        token: "tok_01",
        amount: Amount::new(1234).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        capture: false,
        mada: false,
        method: paygate_core::payment_method::PaymentMethod::Card,
        return_url: "https://api.paygate.test/v1/authentication_returns/ar_0",
    };
    let call = authorize(&key(), &request);
    assert_eq!((call.method, call.path.as_str()), (HttpMethod::Post, "/v1/payment_intents"));
    assert_eq!(call.content_type, Some("application/x-www-form-urlencoded"));
    assert!(call.headers.contains(&("idempotency-key", "att_01".into())));
    assert!(call.headers.contains(&("stripe-version", STRIPE_VERSION.into())));
    assert!(call.headers.contains(&("authorization", "Bearer sk_test_51abcdefghijkl".into())));
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(call.body.as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("amount"), Some("1234"));
    assert_eq!(get("currency"), Some("eur"));
    assert_eq!(get("capture_method"), Some("manual"));
    assert_eq!(get("confirm"), Some("true"));
    assert_eq!(get("metadata[paygate_charge_id]"), Some("ch_01"));
    assert_eq!(get("metadata[paygate_attempt_id]"), Some("att_01"));
    assert_eq!(get("return_url"), Some("https://api.paygate.test/v1/authentication_returns/ar_0"));
    // The placeholders arrive intact for the vault to fill (not percent-encoded).
    assert!(call.body.contains(&format!("={PLACEHOLDER_NUMBER}")), "{}", call.body);
    assert!(call.body.contains(&format!("={PLACEHOLDER_CVC}")));
    let sale = authorize(&key(), &AuthorizeRequest { capture: true, ..request });
    assert!(sale.body.contains("capture_method=automatic"));
}

#[test]
fn authorization_answers_are_classified() {
    let cases: &[(u16, &str, &str)] = &[
        (200, r#"{"id":"pi_1","object":"payment_intent","status":"requires_capture"}"#, "approved"),
        (200, r#"{"id":"pi_1","object":"payment_intent","status":"succeeded"}"#, "captured"),
        (
            200,
            r#"{"id":"pi_1","object":"payment_intent","status":"requires_action","next_action":{"type":"use_stripe_sdk"}}"#,
            "declined authentication_required requires_action",
        ),
        (
            200,
            r#"{"id":"pi_1","object":"payment_intent","status":"requires_action","next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://hooks.stripe.com/3d_secure_2/hosted?x=1","return_url":"https://api.paygate.test/r"}}}"#,
            "requires_action pi_1 https://hooks.stripe.com/3d_secure_2/hosted?x=1",
        ),
        (200, r#"{"id":"pi_1","object":"payment_intent","status":"processing"}"#, "pending"),
        (
            402,
            r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_1","status":"requires_payment_method"}}}"#,
            "declined insufficient_funds insufficient_funds",
        ),
        (
            402,
            r#"{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}"#,
            "declined expired_card expired_card",
        ),
        (
            402,
            r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"some_new_code"}}"#,
            "declined generic_decline some_new_code",
        ),
        (
            400,
            r#"{"error":{"type":"invalid_request_error","message":"Sending credit card numbers directly to the Stripe API is generally unsafe."}}"#,
            "misconfigured",
        ),
        (
            401,
            r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_****1234"}}"#,
            "misconfigured",
        ),
        (
            400,
            r#"{"error":{"type":"invalid_request_error","code":"amount_too_small","param":"amount"}}"#,
            "declined processing_error amount_too_small",
        ),
        (
            400,
            r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}"#,
            "unknown",
        ),
        (409, r#"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}"#, "unknown"),
        (429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#, "not_sent"),
        (500, r#"{"error":{"type":"api_error"}}"#, "unknown"),
        (200, "<html>", "unknown"),
    ];
    for (status, body, expected) in cases {
        let got = match read_authorization(&answer(*status, body)) {
            AuthorizeOutcome::Approved { captured: false, processor_reference, .. }
                if processor_reference == "pi_1" =>
            {
                "approved".to_owned()
            }
            AuthorizeOutcome::Approved { captured: true, .. } => "captured".to_owned(),
            AuthorizeOutcome::Declined { code, raw_code, .. } => format!("declined {} {raw_code}", code.as_str()),
            AuthorizeOutcome::Pending { .. } => "pending".to_owned(),
            AuthorizeOutcome::RequiresAction { processor_reference, redirect_url, .. } => {
                format!("requires_action {processor_reference} {redirect_url}")
            }
            AuthorizeOutcome::Misconfigured { .. } => "misconfigured".to_owned(),
            AuthorizeOutcome::NotSent { .. } => "not_sent".to_owned(),
            AuthorizeOutcome::Unknown { .. } => "unknown".to_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(&got, expected, "{status} {body}");
    }
}

#[test]
fn lookups_find_our_attempt_or_say_it_never_arrived() {
    let search = |data: &str| answer(200, &format!(r#"{{"object":"search_result","data":[{data}],"has_more":false}}"#));
    assert_eq!(read_lookup(&search("")), AuthorizationLookup::NotFound);
    assert_eq!(
        read_lookup(&search(r#"{"id":"pi_9","object":"payment_intent","status":"succeeded","amount_received":700}"#)),
        AuthorizationLookup::Approved { processor_reference: "pi_9".into(), amount_captured: 700, voided: false }
    );
    assert_eq!(
        read_lookup(&answer(
            200,
            r#"{"id":"pi_9","object":"payment_intent","status":"canceled","latest_charge":"ch_1","last_payment_error":null,"amount_received":0}"#
        )),
        AuthorizationLookup::Approved { processor_reference: "pi_9".into(), amount_captured: 0, voided: true }
    );
    let declined = read_lookup(&search(
        r#"{"id":"pi_9","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"code":"card_declined","decline_code":"lost_card"}}"#,
    ));
    assert_eq!(declined, AuthorizationLookup::Declined { code: DeclineCode::LostCard, raw_code: "lost_card".into() });
    assert!(matches!(read_lookup(&answer(503, "{}")), AuthorizationLookup::Unknown { .. }));
    // 3-D Secure: still waiting, or failed (back to requires_payment_method with Stripe's authentication error).
    assert_eq!(
        read_lookup(&answer(200, r#"{"id":"pi_9","object":"payment_intent","status":"requires_action"}"#)),
        AuthorizationLookup::RequiresAction
    );
    let failed = read_lookup(&answer(
        200,
        r#"{"id":"pi_9","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"type":"invalid_request_error","code":"payment_intent_authentication_failure"}}"#,
    ));
    assert_eq!(
        failed,
        AuthorizationLookup::Declined {
            code: DeclineCode::AuthenticationFailed,
            raw_code: "payment_intent_authentication_failure".into()
        }
    );
    let call = find_authorization(&key(), "att_7");
    assert_eq!(call.path, "/v1/payment_intents/search?query=metadata%5B%27paygate_attempt_id%27%5D%3A%27att_7%27");
}

#[test]
fn operations_read_their_own_end_state() {
    let intent =
        |status: &str| answer(200, &format!(r#"{{"id":"pi_1","object":"payment_intent","status":"{status}"}}"#));
    assert_eq!(read_operation(Flow::Capture, &intent("succeeded")), OperationOutcome::Succeeded { reference: None });
    assert_eq!(read_operation(Flow::Void, &intent("canceled")), OperationOutcome::Succeeded { reference: None });
    assert!(matches!(read_operation(Flow::Capture, &intent("requires_capture")), OperationOutcome::Unknown { .. }));
    let refund = |status: &str| answer(200, &format!(r#"{{"id":"re_1","object":"refund","status":"{status}"}}"#));
    assert_eq!(
        read_operation(Flow::Refund, &refund("succeeded")),
        OperationOutcome::Succeeded { reference: Some("re_1".into()) }
    );
    assert!(matches!(read_operation(Flow::Refund, &refund("pending")), OperationOutcome::Unknown { .. }));
    let state = answer(400, r#"{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state"}}"#);
    assert_eq!(
        read_operation(Flow::Capture, &state),
        OperationOutcome::Failed { code: "payment_intent_unexpected_state".into() }
    );
    let over = answer(400, r#"{"error":{"type":"invalid_request_error","code":"amount_too_large"}}"#);
    assert_eq!(read_operation(Flow::Refund, &over), OperationOutcome::Failed { code: "amount_too_large".into() });
    assert!(matches!(
        read_operation(Flow::Refund, &answer(500, r#"{"error":{"type":"api_error"}}"#)),
        OperationOutcome::Unknown { .. }
    ));
}

#[test]
fn a_refund_is_found_among_the_payment_intents_by_our_id() {
    let list = |data: &str| answer(200, &format!(r#"{{"object":"list","data":[{data}],"has_more":false}}"#));
    let ours = r#"{"id":"re_9","status":"succeeded","metadata":{"paygate_refund_id":"re_ours"}}"#;
    let other = r#"{"id":"re_8","status":"succeeded","metadata":{"paygate_refund_id":"re_other"}}"#;
    assert_eq!(
        read_refund(&list(&format!("{other},{ours}")), "re_ours"),
        OperationLookup::Succeeded { reference: "re_9".into() }
    );
    assert_eq!(read_refund(&list(other), "re_ours"), OperationLookup::NotFound);
    let failed = r#"{"id":"re_9","status":"failed","failure_reason":"expired_or_canceled_card","metadata":{"paygate_refund_id":"re_ours"}}"#;
    assert_eq!(
        read_refund(&list(failed), "re_ours"),
        OperationLookup::Failed { code: "expired_or_canceled_card".into() }
    );
    let pending = r#"{"id":"re_9","status":"pending","metadata":{"paygate_refund_id":"re_ours"}}"#;
    assert_eq!(read_refund(&list(pending), "re_ours"), OperationLookup::Pending);
    assert!(matches!(read_refund(&answer(500, "{}"), "re_ours"), OperationLookup::Unknown { .. }));
    let call = find_refund(&key(), &Authorization { processor_reference: "pi_5" });
    assert_eq!(call.path, "/v1/refunds?payment_intent=pi_5");
}

#[test]
fn follow_up_calls_carry_their_idempotency_key_and_amount() {
    let auth = Authorization { processor_reference: "pi_5" };
    let capture = capture(&key(), &auth, Amount::new(300).unwrap(), "att_c");
    assert_eq!(capture.path, "/v1/payment_intents/pi_5/capture");
    assert_eq!(capture.body, "amount_to_capture=300");
    assert!(capture.headers.contains(&("idempotency-key", "att_c".into())));
    let refund = refund(&key(), &auth, Amount::new(100).unwrap(), "re_1");
    assert!(refund.headers.contains(&("idempotency-key", "re_1".into())));
    assert!(refund.body.contains("payment_intent=pi_5") && refund.body.contains("amount=100"));
    assert_eq!(void(&key(), &auth, "att_v").path, "/v1/payment_intents/pi_5/cancel");
}

#[test]
fn events_read_by_amounts_never_by_the_refunded_flag() {
    use crate::processors::events::EventEffect;
    let partial = br#"{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_1","amount":1000,"amount_refunded":300,"refunded":false}}}"#;
    let event = read_event(partial).unwrap();
    assert_eq!((event.id.as_str(), event.payment.as_deref()), ("evt_1", Some("pi_1")));
    assert_eq!(event.effect, EventEffect::RefundedInAll { total: 300, refund: None });
    let dispute =
        br#"{"id":"evt_2","type":"charge.dispute.created","data":{"object":{"id":"dp_1","payment_intent":"pi_1"}}}"#;
    assert_eq!(read_event(dispute).unwrap().effect, EventEffect::DisputeOpened);
    let succeeded = br#"{"id":"evt_3","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","metadata":{"paygate_charge_id":"ch_1","paygate_attempt_id":"att_1"}}}}"#;
    let event = read_event(succeeded).unwrap();
    assert_eq!(event.effect, EventEffect::Authorized { captured: true });
    assert_eq!((event.charge.as_deref(), event.attempt.as_deref()), (Some("ch_1"), Some("att_1")));
    let failed = br#"{"id":"evt_5","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds"}}}}"#;
    assert_eq!(
        read_event(failed).unwrap().effect,
        EventEffect::AuthorizationDeclined {
            code: DeclineCode::InsufficientFunds,
            raw_code: "insufficient_funds".into()
        }
    );
    let other = br#"{"id":"evt_6","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#;
    assert_eq!(read_event(other).unwrap().effect, EventEffect::Nothing);
    assert!(read_event(br#"{"id":"evt_4","type":"charge.refunded","data":{"object":{}}}"#).is_err());
    assert!(read_event(b"[]").is_err());
}
