//! Table-driven from answers in Checkout.com's documented shapes (checkout.com/docs/payments, the response
//! codes page; Hyperswitch's `checkout/transformers.rs`).

use super::*;
use paygate_core::Currency;

fn key() -> Secret {
    Secret::new("sk_sbox_abcdefghijkl".into())
}

fn account(key: &Secret) -> Account<'_> {
    Account { secret_key: key, processing_channel_id: "pc_abcdefghijklmnopqrstuvwxyz" }
}

fn answer(status: u16, body: &str) -> HttpAnswer {
    HttpAnswer { status, body: body.into() }
}

#[test]
fn the_payment_request_carries_our_ids_and_the_card_placeholders() {
    let key = key();
    let request = AuthorizeRequest {
        attempt_id: "att_01",
        charge_id: "ch_01",
        token: "tok_01",
        amount: Amount::new(6540).unwrap(),
        currency: Currency::parse("SAR").unwrap(),
        capture: true,
        mada: false,
        method: paygate_core::payment_method::PaymentMethod::Card,
        return_url: "https://api.paygate.test/v1/authentication_returns/ar_0",
    };
    let call = authorize(&account(&key), &request);
    assert_eq!((call.method, call.path.as_str()), (HttpMethod::Post, "/payments"));
    assert!(call.headers.contains(&("cko-idempotency-key", "att_01".into())));
    assert!(call.headers.contains(&("authorization", "Bearer sk_sbox_abcdefghijkl".into())));
    let filled = call.body.replace(PLACEHOLDER_EXP_MONTH, "12").replace(PLACEHOLDER_EXP_YEAR, "2030");
    let body: Value = serde_json::from_str(&filled).unwrap();
    assert_eq!(body["source"]["number"], PLACEHOLDER_NUMBER);
    assert_eq!(body["source"]["expiry_month"], 12, "the expiry is a JSON number");
    assert_eq!((body["amount"].as_i64(), body["currency"].as_str()), (Some(6540), Some("SAR")));
    assert_eq!((body["capture"].as_bool(), body["reference"].as_str()), (Some(true), Some("ch_01")));
    assert_eq!(body["processing_channel_id"], "pc_abcdefghijklmnopqrstuvwxyz");
    assert_eq!(body["metadata"][METADATA_ATTEMPT], "att_01");
    // 3-D Secure on every payment, back to our return URL either way.
    assert_eq!(body["3ds"]["enabled"], true);
    let back = "https://api.paygate.test/v1/authentication_returns/ar_0";
    assert_eq!((body["success_url"].as_str(), body["failure_url"].as_str()), (Some(back), Some(back)));
    // Mada: a sale without `capture` (its docs: "do not provide capture or capture_on").
    let mada = authorize(&account(&key), &AuthorizeRequest { mada: true, ..request });
    let mada: Value =
        serde_json::from_str(&mada.body.replace(PLACEHOLDER_EXP_MONTH, "1").replace(PLACEHOLDER_EXP_YEAR, "2030"))
            .unwrap();
    assert_eq!((mada.get("capture"), mada.get("capture_on")), (None, None), "{mada}");
    assert_eq!(mada["3ds"]["enabled"], true);
}

#[test]
fn payment_answers_are_classified() {
    let approved = r#"{"id":"pay_1","approved":true,"status":"Authorized","response_code":"10000"}"#;
    let outcome = read_authorization(&answer(201, approved), false);
    assert!(matches!(outcome, AuthorizeOutcome::Approved { captured: false, capture_pending: false, .. }));
    // A sale: authorized now, the capture pending until confirmed.
    let outcome = read_authorization(&answer(201, approved), true);
    assert!(matches!(outcome, AuthorizeOutcome::Approved { captured: false, capture_pending: true, .. }));
    let captured = r#"{"id":"pay_1","approved":true,"status":"Captured","response_code":"10000"}"#;
    assert!(matches!(
        read_authorization(&answer(201, captured), true),
        AuthorizeOutcome::Approved { captured: true, .. }
    ));
    let declined = r#"{"id":"pay_2","approved":false,"status":"Declined","response_code":"20051"}"#;
    assert_eq!(
        read_authorization(&answer(201, declined), false),
        AuthorizeOutcome::Declined { code: DeclineCode::InsufficientFunds, raw_code: "20051".into(), card: None }
    );
    let challenge =
        r#"{"id":"pay_3","status":"Pending","_links":{"redirect":{"href":"https://3ds.checkout.test/pay_3"}}}"#;
    assert_eq!(
        read_authorization(&answer(202, challenge), false),
        AuthorizeOutcome::RequiresAction {
            processor_reference: "pay_3".into(),
            redirect_url: "https://3ds.checkout.test/pay_3".into(),
            card: None
        }
    );
    let later = r#"{"id":"pay_4","status":"Pending","_links":{"self":{"href":"/payments/pay_4"}}}"#;
    assert_eq!(
        read_authorization(&answer(202, later), false),
        AuthorizeOutcome::Pending { processor_reference: Some("pay_4".into()) }
    );
    let failed = r#"{"id":"pay_5","approved":false,"status":"Declined","response_code":"20154","3ds":{"authentication_response":"N"}}"#;
    assert_eq!(
        read_authorization(&answer(201, failed), false),
        AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationFailed, raw_code: "20154".into(), card: None }
    );
    let waiting = r#"{"id":"pay_3","status":"Pending","3ds":{"downgraded":false,"enrolled":"Y"}}"#;
    assert_eq!(read_lookup(&answer(200, waiting), "att_1"), AuthorizationLookup::RequiresAction);
    // Pending without 3-D Secure is not an authentication to wait for: asked again later.
    assert!(matches!(
        read_lookup(&answer(200, r#"{"id":"pay_3","status":"Pending"}"#), "att_1"),
        AuthorizationLookup::Unknown { .. }
    ));
    let lapsed = r#"{"id":"pay_3","status":"Expired","approved":false,"3ds":{"downgraded":false,"enrolled":"Y"}}"#;
    assert_eq!(
        read_lookup(&answer(200, lapsed), "att_1"),
        AuthorizationLookup::Declined { code: DeclineCode::AuthenticationAbandoned, raw_code: "Expired".into() }
    );
    assert!(matches!(read_authorization(&answer(401, ""), false), AuthorizeOutcome::Misconfigured { .. }));
    let invalid = r#"{"request_id":"r","error_type":"request_invalid","error_codes":["card_number_invalid"]}"#;
    assert!(matches!(
        read_authorization(&answer(422, invalid), false),
        AuthorizeOutcome::Declined { code: DeclineCode::IncorrectNumber, .. }
    ));
    let channel =
        r#"{"request_id":"r","error_type":"request_invalid","error_codes":["processing_channel_id_required"]}"#;
    assert!(matches!(read_authorization(&answer(422, channel), false), AuthorizeOutcome::Misconfigured { .. }));
    assert!(matches!(read_authorization(&answer(502, ""), false), AuthorizeOutcome::Unknown { .. }));
}

#[test]
fn actions_answer_202_and_are_pending_until_the_actions_list_says() {
    let key = key();
    let auth = Authorization { processor_reference: "pay_1" };
    let call = operation(&account(&key), Flow::Capture, &auth, Amount::new(500).unwrap(), "att_c");
    assert_eq!(call.path, "/payments/pay_1/captures");
    assert!(call.headers.contains(&("cko-idempotency-key", "att_c".into())));
    assert_eq!(serde_json::from_str::<Value>(&call.body).unwrap(), json!({ "amount": 500, "reference": "att_c" }));
    assert_eq!(operation(&account(&key), Flow::Void, &auth, Amount::ZERO, "att_v").path, "/payments/pay_1/voids");
    assert_eq!(
        read_operation(&answer(202, r#"{"action_id":"act_9","reference":"att_c"}"#)),
        OperationOutcome::Pending { reference: Some("act_9".into()) }
    );
    let refused = r#"{"error_type":"request_invalid","error_codes":["refund_amount_exceeds_balance"]}"#;
    assert_eq!(
        read_operation(&answer(422, refused)),
        OperationOutcome::Failed { code: "refund_amount_exceeds_balance".into() }
    );
    assert!(matches!(read_operation(&answer(500, "")), OperationOutcome::Unknown { .. }));

    let actions = r#"[{"id":"act_3","type":"Refund","approved":true,"reference":"re_1","response_code":"10000"},
                      {"id":"act_2","type":"Capture","approved":false,"reference":"att_c","response_code":"20005"},
                      {"id":"act_1","type":"Authorization","approved":true,"reference":"ch_1"}]"#;
    assert_eq!(
        read_operation_lookup(&answer(200, actions), Flow::Refund, "re_1"),
        OperationLookup::Succeeded { reference: "act_3".into() }
    );
    assert_eq!(
        read_operation_lookup(&answer(200, actions), Flow::Capture, "att_c"),
        OperationLookup::Failed { code: "20005".into() }
    );
    assert_eq!(read_operation_lookup(&answer(200, actions), Flow::Void, "att_v"), OperationLookup::NotFound);
    let sale = r#"[{"id":"act_2","type":"Capture","approved":true,"reference":null}]"#;
    assert!(matches!(
        read_operation_lookup(&answer(200, sale), Flow::Capture, "att_x"),
        OperationLookup::Succeeded { .. }
    ));
}

#[test]
fn a_lost_payment_is_found_by_our_attempt_among_the_charges_payments() {
    let list = r#"{"total_count":2,"data":[
        {"id":"pay_2","approved":true,"status":"Captured","metadata":{"paygate_attempt_id":"att_2"},"balances":{"total_captured":900,"total_voided":0}},
        {"id":"pay_1","approved":false,"status":"Declined","response_code":"20005","metadata":{"paygate_attempt_id":"att_1"}}]}"#;
    assert_eq!(
        read_lookup(&answer(200, list), "att_2"),
        AuthorizationLookup::Approved { processor_reference: "pay_2".into(), amount_captured: 900, voided: false }
    );
    assert!(matches!(
        read_lookup(&answer(200, list), "att_1"),
        AuthorizationLookup::Declined { code: DeclineCode::DoNotHonor, .. }
    ));
    assert_eq!(read_lookup(&answer(200, list), "att_3"), AuthorizationLookup::NotFound);
    let key = key();
    assert_eq!(find_authorization(&account(&key), "ch_1").path, "/payments?reference=ch_1");
}

#[test]
fn checkout_events_say_which_action_ended_how() {
    use crate::processors::events::EventEffect;
    let captured = br#"{"id":"evt_1","type":"payment_captured","data":{"id":"pay_1","action_id":"act_1"}}"#;
    let event = read_event(captured).unwrap();
    assert_eq!(
        (event.payment.as_deref(), event.effect),
        (Some("pay_1"), EventEffect::Captured { action: Some("act_1".into()) })
    );
    let declined = br#"{"id":"evt_2","type":"payment_refund_declined","data":{"id":"pay_1","reference":"re_1","response_code":"20005"}}"#;
    assert_eq!(
        read_event(declined).unwrap().effect,
        EventEffect::RefundDeclined { reference: Some("re_1".into()), action: None, code: "20005".into() }
    );
    let dispute = br#"{"id":"evt_3","type":"dispute_received","data":{"payment_id":"pay_1"}}"#;
    let event = read_event(dispute).unwrap();
    assert_eq!((event.payment.as_deref(), event.effect), (Some("pay_1"), EventEffect::DisputeOpened));
    assert!(read_event(br#"{"type":"payment_captured"}"#).is_err(), "an event without an id");
}
