//! Payments (checkout.com/docs/payments; Hyperswitch's `checkout/transformers.rs` for field names): a
//! request answers 201 when processed (`approved: false` is a decline, not an error) and captures, voids
//! and refunds answer 202 with only an action id: they are processed later (`action_delay_ms`), and until
//! then a payment's balances and actions do not show them.

use super::state::{Action, ActionKind, Books, Outgoing, Payment, ThreeDs, now_ms};
use serde_json::{Value, json};

/// A 4xx of Checkout.com's shape: `{request_id, error_type, error_codes}` (422 `request_invalid` for
/// validation; 403 `action_not_allowed` for an action the payment's state does not allow **[the 403 body
/// unverified]**; 404 without a body).
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

pub fn invalid(codes: &[&str]) -> Refused {
    Refused {
        status: 422,
        body: json!({ "request_id": "req_fake", "error_type": "request_invalid", "error_codes": codes }),
    }
}

fn not_allowed(code: &str) -> Refused {
    Refused {
        status: 403,
        body: json!({ "request_id": "req_fake", "error_type": "action_not_allowed", "error_codes": [code] }),
    }
}

fn not_found() -> Refused {
    Refused { status: 404, body: Value::Null }
}

/// The fake's test cards (Checkout.com's own sandbox decides declines by card and amount; these mirror its
/// response codes, checkout.com/docs/resources/codes/api-response-codes): (number, response code, summary).
pub const TEST_CARDS: &[(&str, &str, &str)] = &[
    ("4276038578596818", "20005", "Declined - Do Not Honour"),
    ("4000000000009995", "20051", "Insufficient Funds"),
    ("4000000000000069", "20054", "Expired Card"),
    ("4000000000000002", "20005", "Declined - Do Not Honour"),
];
/// Approved, but every capture of it is declined (`payment_capture_declined`).
pub const CAPTURE_DECLINED_CARD: &str = "4000000000000259";
/// 3-D Secure with a challenge (this fake's choice, as the sandbox and Stripe's): with `3ds.enabled`, 202 and the
/// fake's authentication page; without, declined 20154 **[unverified: the code Checkout.com gives]**.
pub const CHALLENGE_CARD: &str = "4000000000003220";
/// How long a challenge waits for the cardholder before its session expires.
pub const THREE_DS_SESSION_MS: u64 = 10 * 60 * 1000;
/// A declined authentication (also a payment that needed 3-D Secure and did not ask for it) **[unverified]**.
pub const AUTHENTICATION_DECLINED: &str = "20154";

fn luhn_valid(number: &str) -> bool {
    paygate_core::card::CardNumber::parse(number).is_ok()
}

/// The card's scheme and local scheme as Checkout.com reports them (`scheme_local: "mada"` for Mada cards).
fn schemes(number: &str) -> (&'static str, Option<&'static str>) {
    use paygate_core::card::Brand;
    let Ok(card) = paygate_core::card::CardNumber::parse(number) else { return ("Unknown", None) };
    let brands = card.brands();
    let mada = brands.all().any(|b| b == Brand::Mada);
    let scheme = match brands.all().find(|b| *b != Brand::Mada) {
        Some(Brand::Visa) => "Visa",
        Some(Brand::Mastercard) => "Mastercard",
        Some(Brand::Amex) => "Amex",
        Some(_) => "Other",
        None if mada => "Mada",
        None => "Unknown",
    };
    (scheme, mada.then_some("mada"))
}

/// Processed actions only: what the payment shows now.
fn processed(payment: &Payment, kind: ActionKind, now: u64) -> i64 {
    payment.actions.iter().filter(|a| a.kind == kind && a.approved && a.processed_at_ms <= now).map(|a| a.amount).sum()
}

fn requested(payment: &Payment, kind: ActionKind) -> bool {
    payment.actions.iter().any(|a| a.kind == kind && (a.approved || a.processed_at_ms > now_ms()))
}

fn pending_refunds(payment: &Payment, now: u64) -> i64 {
    payment
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Refund && a.approved && a.processed_at_ms > now)
        .map(|a| a.amount)
        .sum()
}

pub fn status(payment: &Payment, now: u64) -> &'static str {
    let (captured, refunded, voided) = (
        processed(payment, ActionKind::Capture, now),
        processed(payment, ActionKind::Refund, now),
        processed(payment, ActionKind::Void, now),
    );
    let waiting = payment.three_ds.as_ref().and_then(|t| t.pending_until_ms);
    match () {
        _ if waiting.is_some_and(|until| now <= until) => "Pending",
        _ if waiting.is_some() => "Expired",
        _ if !payment.approved => "Declined",
        _ if voided > 0 => "Voided",
        _ if refunded > 0 && refunded >= captured => "Refunded",
        _ if refunded > 0 => "Partially Refunded",
        _ if captured > 0 && captured < payment.amount => "Partially Captured",
        _ if captured > 0 => "Captured",
        _ => "Authorized",
    }
}

pub fn to_json(payment: &Payment) -> Value {
    to_json_at(payment, now_ms())
}

/// The payment as it stands at `now` (a payment's own answer is as of its request, so a sale's capture that
/// is processed a moment later is still pending in it).
fn to_json_at(payment: &Payment, now: u64) -> Value {
    let (captured, refunded, voided) = (
        processed(payment, ActionKind::Capture, now),
        processed(payment, ActionKind::Refund, now),
        processed(payment, ActionKind::Void, now),
    );
    let capturable =
        if payment.approved && !requested(payment, ActionKind::Capture) && !requested(payment, ActionKind::Void) {
            payment.amount
        } else {
            0
        };
    let mut source = json!({
        "type": "card", "id": format!("src_{}", &payment.id[4..]), "scheme": payment.scheme,
        "last4": payment.last4, "bin": payment.bin, "card_type": "DEBIT",
    });
    if let Some(local) = payment.scheme_local {
        source["scheme_local"] = json!(local);
        source["issuer_country"] = json!("SA");
    }
    let three_ds = payment.three_ds.as_ref().map(|t| {
        let mut view = json!({ "downgraded": false, "enrolled": "Y" });
        if let Some(response) = t.authentication_response {
            view["authentication_response"] = json!(response);
        }
        view
    });
    let mut view = json!({
        "id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "approved": payment.approved,
        "status": status(payment, now),
        "response_code": payment.response_code,
        "reference": payment.reference,
        "metadata": payment.metadata,
        "source": source,
        "balances": {
            "total_authorized": if payment.approved { payment.amount } else { 0 },
            "total_captured": captured,
            "total_refunded": refunded,
            "total_voided": voided,
            "available_to_capture": capturable,
            "available_to_refund": captured - refunded - pending_refunds(payment, now),
            "available_to_void": capturable,
        },
        "_links": { "self": { "href": format!("/payments/{}", payment.id) },
                    "actions": { "href": format!("/payments/{}/actions", payment.id) } },
    });
    if let Some(three_ds) = three_ds {
        view["3ds"] = three_ds;
    }
    view
}

/// `POST /payments` with a card source. `origin`: where this fake is reached, which hosts its 3-D Secure page.
pub fn create(books: &mut Books, account: &str, body: &Value, origin: &str) -> Result<(u16, Value), Refused> {
    let source = &body["source"];
    let mut errors = Vec::new();
    // A card, or a pre-decrypted wallet payment ("network_token": the device card, its cryptogram and ECI).
    let network_token = source["type"] == "network_token";
    if source["type"] != "card" && !network_token {
        errors.push("payment_source_required");
    }
    let number = source[if network_token { "token" } else { "number" }].as_str().unwrap_or("");
    if !luhn_valid(number) {
        errors.push(if network_token { "token_invalid" } else { "card_number_invalid" });
    }
    let cryptogram = source["cryptogram"].as_str().unwrap_or("");
    if network_token {
        if !["applepay", "googlepay", "vts", "mdes"].contains(&source["token_type"].as_str().unwrap_or("")) {
            errors.push("token_type_invalid");
        }
        if cryptogram.is_empty() {
            errors.push("cryptogram_required");
        }
        if source["eci"].as_str().is_some_and(|e| e.len() > 2 || !e.bytes().all(|b| b.is_ascii_digit())) {
            errors.push("eci_invalid");
        }
    }
    if source["expiry_month"].as_i64().is_none_or(|m| !(1..=12).contains(&m)) {
        errors.push("card_expiry_month_invalid");
    }
    if source["expiry_year"].as_i64().is_none_or(|y| y < 2000) {
        errors.push("card_expiry_year_invalid");
    }
    if source["cvv"].as_str().is_some_and(|c| !(3..=4).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit())) {
        errors.push("cvv_invalid");
    }
    let amount = body["amount"].as_i64().filter(|a| *a >= 0);
    if amount.is_none() {
        errors.push("amount_invalid");
    }
    let currency = body["currency"].as_str().filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
    if currency.is_none() {
        errors.push("currency_invalid");
    }
    if !body["processing_channel_id"].as_str().is_some_and(|p| p.starts_with("pc_")) {
        errors.push("processing_channel_id_required");
    }
    if body["reference"].as_str().is_some_and(|r| r.len() > 80) {
        errors.push("reference_invalid");
    }
    let url = |name: &str| body[name].as_str().map(str::to_owned);
    for (name, code) in [("success_url", "success_url_invalid"), ("failure_url", "failure_url_invalid")] {
        if url(name).is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 1024) {
            errors.push(code);
        }
    }
    if !errors.is_empty() {
        return Err(invalid(&errors));
    }
    let (amount, currency) = (amount.unwrap_or(0), currency.unwrap_or("").to_owned());
    let (scheme, scheme_local) = schemes(number);
    // Mada: "do not provide `capture` or `capture_on`" (Checkout.com's Mada docs). The real service captures such
    // a request anyway; the fake refuses it, so that a connector breaking the documented rule fails in tests.
    if scheme_local == Some("mada") && (body.get("capture").is_some() || body.get("capture_on").is_some()) {
        return Err(invalid(&["mada_capture_not_supported"]));
    }
    let decline = TEST_CARDS.iter().find(|(n, _, _)| *n == number);
    // A cryptogram authorizes once; its second use is declined as the issuer would (20087: bad track data, the
    // code Checkout.com lists for invalid cryptograms) **[unverified: the exact code]**.
    let reused = network_token && !books.cryptograms.insert(cryptogram.to_owned());
    // 3-D Secure: the challenge card, and every Mada card ("Mada cards only work with 3DS enabled"), need it.
    let three_ds_enabled = body["3ds"]["enabled"].as_bool().unwrap_or(false);
    let needs_authentication = number == CHALLENGE_CARD || scheme_local == Some("mada");
    let (approved, response_code) = match decline {
        _ if reused => (false, "20087"),
        _ if needs_authentication && !three_ds_enabled => (false, AUTHENTICATION_DECLINED),
        Some((_, code, _)) => (false, *code),
        None => (true, "10000"),
    };
    let challenged = approved && number == CHALLENGE_CARD;
    // Mada takes no separate authorization: "an auth ... is captured anyway" (checkout.com Mada docs), so
    // `capture: false` with a Mada card is a sale all the same.
    let capture = body["capture"].as_bool().unwrap_or(true) || scheme_local == Some("mada");
    let now = now_ms();
    let delay = books.accounts.get(account).map(|a| a.action_delay_ms).unwrap_or(0);
    let (id, action_id) = (books.id("pay"), books.id("act"));
    let mut payment = Payment {
        id: id.clone(),
        account: account.to_owned(),
        amount,
        currency,
        reference: body["reference"].as_str().map(str::to_owned),
        metadata: body["metadata"].clone(),
        approved,
        response_code,
        scheme,
        scheme_local,
        last4: number[number.len() - 4..].to_owned(),
        bin: number[..6].to_owned(),
        captures_declined: number == CAPTURE_DECLINED_CARD,
        actions: vec![Action {
            id: action_id.clone(),
            kind: ActionKind::Authorization,
            amount,
            reference: body["reference"].as_str().map(str::to_owned),
            processed_at_ms: now,
            approved,
            response_code,
        }],
        created_ms: now,
        three_ds: three_ds_enabled.then(|| ThreeDs {
            success_url: url("success_url"),
            failure_url: url("failure_url"),
            pending_until_ms: None,
            authentication_response: Some("Y"),
            capture,
        }),
    };
    if challenged {
        // Nothing is authorized until the cardholder has authenticated: 202, and the way to the challenge.
        payment.approved = false;
        payment.response_code = "";
        payment.actions.clear();
        if let Some(three_ds) = payment.three_ds.as_mut() {
            let session =
                books.accounts.get(account).and_then(|a| a.three_ds_session_ms).unwrap_or(THREE_DS_SESSION_MS);
            three_ds.pending_until_ms = Some(now + session);
            three_ds.authentication_response = None;
        }
        let mut answer = json!({ "id": id, "status": "Pending", "reference": payment.reference,
                                 "3ds": { "downgraded": false, "enrolled": "Y" } });
        answer["_links"] = json!({ "self": { "href": format!("/payments/{id}") },
                                   "redirect": { "href": format!("{origin}/_fake/3ds/{id}") } });
        books.payments.insert(id, payment);
        return Ok((202, answer));
    }
    if approved && capture {
        let capture_id = books.id("act");
        payment.actions.push(Action {
            id: capture_id,
            kind: ActionKind::Capture,
            amount,
            reference: None,
            processed_at_ms: now + delay,
            approved: !payment.captures_declined,
            response_code: if payment.captures_declined { "20005" } else { "10000" },
        });
    }
    // Checkout.com reports every action: `payment_approved` (or `payment_declined`) now, and a sale's
    // `payment_captured` once its capture is processed.
    for event in payment.actions.iter().map(|action| event_of(&payment, action)) {
        books.outbox.push((account.to_owned(), event));
    }
    let mut answer = to_json_at(&payment, now);
    answer["action_id"] = json!(action_id);
    answer["response_summary"] = json!(decline.map_or("Approved", |(_, _, summary)| summary));
    answer["processed_on"] = json!(payment.created_ms);
    if approved {
        answer["auth_code"] = json!("770687");
    }
    books.payments.insert(id, payment);
    Ok((201, answer))
}

fn owned<'a>(books: &'a mut Books, account: &str, id: &str) -> Result<&'a mut Payment, Refused> {
    match books.payments.get_mut(id) {
        Some(payment) if payment.account == account => Ok(payment),
        _ => Err(not_found()),
    }
}

pub fn retrieve(books: &mut Books, account: &str, id: &str) -> Result<(u16, Value), Refused> {
    owned(books, account, id).map(|payment| (200, to_json(payment)))
}

/// `GET /payments?reference=…`: the payments made with our reference.
pub fn by_reference(books: &Books, account: &str, reference: &str) -> Result<(u16, Value), Refused> {
    let mut found: Vec<&Payment> =
        books.payments.values().filter(|p| p.account == account && p.reference.as_deref() == Some(reference)).collect();
    found.sort_by(|a, b| b.id.cmp(&a.id));
    let data: Vec<Value> = found.into_iter().map(to_json).collect();
    Ok((200, json!({ "limit": 10, "skip": 0, "total_count": data.len(), "data": data })))
}

/// `GET /payments/{id}/actions`: the processed actions, newest first.
pub fn actions(books: &mut Books, account: &str, id: &str) -> Result<(u16, Value), Refused> {
    let payment = owned(books, account, id)?;
    let now = now_ms();
    let list: Vec<Value> = payment
        .actions
        .iter()
        .rev()
        .filter(|a| a.processed_at_ms <= now)
        .map(|a| {
            json!({ "id": a.id, "type": a.kind.as_str(), "processed_on": a.processed_at_ms, "amount": a.amount,
                    "approved": a.approved, "response_code": a.response_code,
                    "response_summary": if a.approved { "Approved" } else { "Declined" }, "reference": a.reference })
        })
        .collect();
    Ok((200, Value::Array(list)))
}

/// The webhook Checkout.com sends when `action` of `payment` is processed (Hyperswitch's
/// `CheckoutWebhookEventType`: `payment_approved`, `payment_captured`, `payment_capture_declined`, ...).
pub fn event_of(payment: &Payment, action: &Action) -> Outgoing {
    let kind = match (action.kind, action.approved) {
        (ActionKind::Capture, true) => "payment_captured",
        (ActionKind::Capture, false) => "payment_capture_declined",
        (ActionKind::Void, true) => "payment_voided",
        (ActionKind::Void, false) => "payment_void_declined",
        (ActionKind::Refund, true) => "payment_refunded",
        (ActionKind::Refund, false) => "payment_refund_declined",
        (ActionKind::Authorization, true) => "payment_approved",
        (ActionKind::Authorization, false) => "payment_declined",
    };
    let body = json!({
        "id": format!("evt_{}", &action.id[4..]),
        "type": kind,
        "created_on": action.processed_at_ms,
        "data": { "id": payment.id, "action_id": action.id, "reference": action.reference, "amount": action.amount,
                  "currency": payment.currency, "response_code": action.response_code, "metadata": payment.metadata },
    });
    Outgoing { at_ms: action.processed_at_ms, body }
}

/// A capture, void or refund: 202 with the action id, processed after the account's delay.
pub fn act(
    books: &mut Books,
    account: &str,
    id: &str,
    kind: ActionKind,
    body: &Value,
) -> Result<(u16, Value), Refused> {
    let delay = books.accounts.get(account).map(|a| a.action_delay_ms).unwrap_or(0);
    let action_id = books.id("act");
    let payment = owned(books, account, id)?;
    let now = now_ms();
    let json = to_json(payment);
    let balances = &json["balances"];
    let amount = body["amount"].as_i64();
    let (amount, approved) = match kind {
        ActionKind::Capture => {
            let available = balances["available_to_capture"].as_i64().unwrap_or(0);
            if available == 0 {
                return Err(not_allowed("payment_not_capturable"));
            }
            let amount = amount.unwrap_or(available);
            if amount <= 0 || amount > available {
                return Err(invalid(&["capture_value_greater_than_authorized"]));
            }
            (amount, !payment.captures_declined)
        }
        ActionKind::Void => {
            // Mada has no voids; and nothing captured can be voided.
            if balances["available_to_void"].as_i64().unwrap_or(0) == 0 || payment.scheme_local == Some("mada") {
                return Err(not_allowed("payment_not_voidable"));
            }
            (payment.amount, true)
        }
        ActionKind::Refund => {
            let available = balances["available_to_refund"].as_i64().unwrap_or(0);
            if processed(payment, ActionKind::Capture, now) == 0 {
                return Err(not_allowed("payment_not_refundable"));
            }
            let amount = amount.unwrap_or(available);
            if amount <= 0 || amount > available {
                return Err(invalid(&["refund_amount_exceeds_balance"]));
            }
            (amount, true)
        }
        ActionKind::Authorization => return Err(invalid(&["action_invalid"])),
    };
    let reference = body["reference"].as_str().map(str::to_owned);
    let action = Action {
        id: action_id.clone(),
        kind,
        amount,
        reference: reference.clone(),
        processed_at_ms: now + delay,
        approved,
        response_code: if approved { "10000" } else { "20005" },
    };
    let event = event_of(payment, &action);
    payment.actions.push(action);
    books.outbox.push((account.to_owned(), event));
    Ok((
        202,
        json!({ "action_id": action_id, "reference": reference,
                     "_links": { "payment": { "href": format!("/payments/{id}") } } }),
    ))
}
