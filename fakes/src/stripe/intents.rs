//! PaymentIntents (docs.stripe.com/api/payment_intents): create-and-confirm with raw card data, retrieve,
//! search by metadata, capture (partial: `amount_to_capture`, the rest released) and cancel.

use super::cards::{CardOutcome, luhn_valid, message_of, outcome_of};
use super::errors::StripeError;
use super::form::Params;
use super::state::{Books, Intent, now};
use serde_json::{Value, json};

/// The smallest charge Stripe takes, per currency (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
fn minimum(currency: &str) -> i64 {
    match currency {
        "usd" | "eur" | "chf" | "aud" | "cad" | "nzd" | "sgd" => 50,
        "gbp" => 30,
        "jpy" => 50,
        _ => 1,
    }
}

/// Three-decimal currencies, whose amounts Stripe takes only in multiples of 10.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
/// Stripe's largest amount: eight digits.
const AMOUNT_MAX: i64 = 99_999_999;

pub fn to_json(intent: &Intent) -> Value {
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": intent.amount_capturable,
        "amount_received": intent.amount_received,
        "capture_method": intent.capture_method,
        "confirmation_method": "automatic",
        "currency": intent.currency,
        "status": intent.status,
        "latest_charge": intent.latest_charge,
        "last_payment_error": intent.last_payment_error,
        "next_action": intent.next_action,
        "payment_method": intent.latest_charge.as_ref().map(|c| c.replace("ch_", "pm_")),
        "payment_method_types": ["card"],
        "metadata": intent.metadata,
        "description": intent.description,
        "livemode": intent.livemode,
        "created": intent.created,
        "canceled_at": intent.canceled_at,
        "cancellation_reason": intent.cancellation_reason,
    })
}

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "currency",
    "confirm",
    "capture_method",
    "description",
    "statement_descriptor_suffix",
    "payment_method_types[0]",
    "payment_method_data[type]",
    "payment_method_data[card][number]",
    "payment_method_data[card][exp_month]",
    "payment_method_data[card][exp_year]",
    "payment_method_data[card][cvc]",
    "payment_method_options[card][request_three_d_secure]",
    "payment_method_options[card][network]",
    "error_on_requires_action",
    "return_url",
];

/// A network token (a wallet's device card and its cryptogram): parameters Stripe takes only on accounts it has
/// enabled them for; to any other account they are unknown parameters.
const NETWORK_TOKEN_PARAMS: &[&str] = &[
    "payment_method_data[card][network_token][number]",
    "payment_method_data[card][network_token][exp_month]",
    "payment_method_data[card][network_token][exp_year]",
    "payment_method_data[card][network_token][tokenization_method]",
    "payment_method_options[card][network_token][cryptogram]",
    "payment_method_options[card][network_token][electronic_commerce_indicator]",
];

/// `POST /v1/payment_intents` with `confirm=true` and the card (or a network token) in `payment_method_data`.
/// `origin`: where this fake is reached, which hosts its 3-D Secure page (Stripe's is on hooks.stripe.com).
pub fn create(books: &mut Books, account: &str, params: &Params, origin: &str) -> Result<(u16, Value), StripeError> {
    let network_tokens = books.accounts.get(account).is_some_and(|a| a.network_tokens);
    let allowed: Vec<&str> =
        CREATE_PARAMS.iter().chain(if network_tokens { NETWORK_TOKEN_PARAMS } else { &[] }).copied().collect();
    params.only(&allowed, &["metadata["])?;
    let token_number = params.get("payment_method_data[card][network_token][number]");
    let amount = params.integer("amount")?.ok_or_else(|| {
        StripeError::invalid_request("parameter_missing", Some("amount"), "Missing required param: amount.")
    })?;
    let currency = params.required("currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            Some("currency"),
            &format!("Invalid currency: {currency}."),
        ));
    }
    if amount < minimum(&currency) {
        return Err(StripeError::invalid_request(
            "amount_too_small",
            Some("amount"),
            "Amount must be at least the currency's minimum charge amount",
        ));
    }
    if amount > AMOUNT_MAX {
        return Err(StripeError::invalid_request(
            "amount_too_large",
            Some("amount"),
            "Amount must be no more than 99,999,999",
        ));
    }
    if THREE_DECIMAL.contains(&currency.as_str()) && amount % 10 != 0 {
        return Err(StripeError::invalid_request(
            "invalid_amount",
            Some("amount"),
            "Amounts in three-decimal currencies must be multiples of 10",
        ));
    }
    let capture_method = params.one_of("capture_method", &["automatic", "automatic_async", "manual"], "automatic")?;
    let return_url = params.get("return_url").map(str::to_owned);
    if let Some(url) = &return_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(StripeError::invalid_request("url_invalid", Some("return_url"), "Not a valid URL"));
    }
    if params.get("confirm") != Some("true") {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            Some("confirm"),
            "This fake only creates PaymentIntents that are confirmed at once (confirm=true)",
        ));
    }
    params.one_of("payment_method_data[type]", &["card"], "")?;
    let (number, prefix) = match token_number {
        Some(number) => (number, "payment_method_data[card][network_token]"),
        None => (params.required("payment_method_data[card][number]")?, "payment_method_data[card]"),
    };
    let cryptogram = params.get("payment_method_options[card][network_token][cryptogram]").unwrap_or("");
    if token_number.is_some() && cryptogram.is_empty() {
        return Err(StripeError::invalid_request(
            "parameter_missing",
            Some("payment_method_options[card][network_token][cryptogram]"),
            "Missing required param: payment_method_options[card][network_token][cryptogram].",
        ));
    }
    let account_may_send_cards = books.accounts.get(account).map(|a| a.raw_card_data).unwrap_or(false);
    if token_number.is_none() && !account_may_send_cards {
        return Err(StripeError::invalid_request_bare(
            "Sending credit card numbers directly to the Stripe API is generally unsafe. We suggest you use \
             test tokens that map to the test card you are using, see https://stripe.com/docs/testing. To \
             enable raw card data APIs in test mode, see \
             https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis.",
        ));
    }
    let exp_month = params.integer(&format!("{prefix}[exp_month]"))?.unwrap_or(0);
    let exp_year = params.integer(&format!("{prefix}[exp_year]"))?.unwrap_or(0);
    // A cryptogram authorizes once **[unverified: how Stripe words a reused one]**.
    let reused = token_number.is_some() && !books.cryptograms.insert(cryptogram.to_owned());
    let metadata = params.metadata()?;
    let mut intent = Intent {
        id: books.id("pi"),
        account: account.to_owned(),
        livemode: account.starts_with("sk_live_"),
        amount,
        amount_capturable: 0,
        amount_received: 0,
        amount_refunded: 0,
        currency,
        capture_method: capture_method.to_owned(),
        status: "requires_payment_method",
        metadata,
        description: params.get("description").map(str::to_owned),
        latest_charge: None,
        last_payment_error: Value::Null,
        next_action: Value::Null,
        return_url: return_url.clone(),
        created: now(),
        canceled_at: None,
        cancellation_reason: None,
    };
    // Card validation happens at confirmation and fails as a card error, with the PaymentIntent kept.
    let invalid = if !luhn_valid(number) {
        Some("incorrect_number")
    } else if !(1..=12).contains(&exp_month) {
        Some("invalid_expiry_month")
    } else if exp_year < 2000 {
        Some("invalid_expiry_year")
    } else {
        None
    };
    let outcome = match invalid {
        Some(code) => CardOutcome::Declined { code, decline_code: None },
        None if reused => CardOutcome::Declined { code: "card_declined", decline_code: Some("invalid_cryptogram") },
        None => outcome_of(number),
    };
    let charge = books.id("ch");
    intent.latest_charge = Some(charge.clone());
    let answer = match outcome {
        CardOutcome::Succeeds => {
            if capture_method == "manual" {
                intent.status = "requires_capture";
                intent.amount_capturable = amount;
                books.outbox.push(("payment_intent.amount_capturable_updated", to_json(&intent)));
            } else {
                intent.status = "succeeded";
                intent.amount_received = amount;
                super::reporting::record_capture(books, &intent);
                books.outbox.push(("payment_intent.succeeded", to_json(&intent)));
            }
            Ok((200, to_json(&intent)))
        }
        // With error_on_requires_action, Stripe refuses rather than wait (docs: "error_on_requires_action").
        CardOutcome::RequiresAction if params.get("error_on_requires_action") == Some("true") => {
            let message = "This payment required an authentication action to complete, but `error_on_requires_action`                            was set.";
            intent.last_payment_error = json!({ "type": "card_error", "code": "authentication_required",
                                                "decline_code": "authentication_not_handled", "message": message });
            Err(StripeError::card(
                "authentication_required",
                Some("authentication_not_handled"),
                message,
                to_json(&intent),
                &charge,
            ))
        }
        CardOutcome::RequiresAction => {
            intent.status = "requires_action";
            intent.latest_charge = None;
            // A redirect when the caller said where to come back to; otherwise only Stripe.js can handle it.
            intent.next_action = match &return_url {
                Some(back) => json!({ "type": "redirect_to_url", "redirect_to_url": {
                    "url": format!("{origin}/_fake/3ds/{}", intent.id), "return_url": back } }),
                None => json!({ "type": "use_stripe_sdk", "use_stripe_sdk": {} }),
            };
            Ok((200, to_json(&intent)))
        }
        CardOutcome::Declined { code, decline_code } => {
            let message = message_of(code);
            intent.last_payment_error = json!({
                "type": "card_error", "code": code, "decline_code": decline_code, "message": message, "charge": charge,
            });
            // Stripe announces a failed confirmation too, with the intent back in `requires_payment_method`.
            books.outbox.push(("payment_intent.payment_failed", to_json(&intent)));
            Err(StripeError::card(code, decline_code, message, to_json(&intent), &charge))
        }
    };
    books.intents.insert(intent.id.clone(), intent);
    answer
}

fn owned<'a>(books: &'a mut Books, account: &str, id: &str) -> Result<&'a mut Intent, StripeError> {
    match books.intents.get_mut(id) {
        Some(intent) if intent.account == account => Ok(intent),
        _ => Err(StripeError::no_such("payment_intent", id)),
    }
}

pub fn retrieve(books: &mut Books, account: &str, id: &str) -> Result<(u16, Value), StripeError> {
    owned(books, account, id).map(|intent| (200, to_json(intent)))
}

/// `GET /v1/payment_intents/search?query=metadata['key']:'value'` (the one query form this fake reads).
pub fn search(books: &Books, account: &str, query: &str) -> Result<(u16, Value), StripeError> {
    let parsed = query
        .strip_prefix("metadata['")
        .and_then(|rest| rest.split_once("']:'"))
        .and_then(|(key, rest)| rest.strip_suffix('\'').map(|value| (key, value)));
    let Some((key, value)) = parsed else {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            Some("query"),
            "This fake searches by one metadata clause: metadata['key']:'value'",
        ));
    };
    let mut found: Vec<&Intent> = books
        .intents
        .values()
        .filter(|i| i.account == account && i.metadata.get(key).map(String::as_str) == Some(value))
        .collect();
    found.sort_by(|a, b| b.id.cmp(&a.id));
    let data: Vec<Value> = found.into_iter().map(to_json).collect();
    Ok((
        200,
        json!({ "object": "search_result", "data": data, "has_more": false, "next_page": null,
                "url": "/v1/payment_intents/search" }),
    ))
}

/// `POST /v1/payment_intents/{id}/capture`: `amount_to_capture` ≤ `amount_capturable` (all by default);
/// the rest of the authorization is released.
pub fn capture(books: &mut Books, account: &str, id: &str, params: &Params) -> Result<(u16, Value), StripeError> {
    params.only(&["amount_to_capture", "final_capture"], &["metadata["])?;
    let amount = params.integer("amount_to_capture")?;
    let intent = owned(books, account, id)?;
    if intent.status != "requires_capture" {
        let message = format!(
            "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one \
             of the following statuses may be captured: requires_capture.",
            intent.status
        );
        return Err(StripeError::unexpected_state(to_json(intent), &message));
    }
    let amount = amount.unwrap_or(intent.amount_capturable);
    if amount <= 0 || amount > intent.amount_capturable {
        return Err(StripeError::invalid_request(
            "amount_too_large",
            Some("amount_to_capture"),
            "The amount to capture must be positive and at most the amount capturable",
        ));
    }
    intent.amount_received = amount;
    intent.amount_capturable = 0;
    intent.status = "succeeded";
    let answer = to_json(intent);
    let captured = intent.clone();
    super::reporting::record_capture(books, &captured);
    books.outbox.push(("payment_intent.succeeded", answer.clone()));
    Ok((200, answer))
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub fn cancel(books: &mut Books, account: &str, id: &str, params: &Params) -> Result<(u16, Value), StripeError> {
    params.only(&["cancellation_reason"], &[])?;
    let reason = params
        .one_of("cancellation_reason", &["duplicate", "fraudulent", "requested_by_customer", "abandoned", ""], "")?
        .to_owned();
    let intent = owned(books, account, id)?;
    if !matches!(
        intent.status,
        "requires_payment_method" | "requires_capture" | "requires_confirmation" | "requires_action"
    ) {
        let message = format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of \
             the following statuses may be canceled: requires_payment_method, requires_capture, \
             requires_confirmation, requires_action, processing.",
            intent.status
        );
        return Err(StripeError::unexpected_state(to_json(intent), &message));
    }
    intent.status = "canceled";
    intent.amount_capturable = 0;
    intent.canceled_at = Some(now());
    intent.cancellation_reason = (!reason.is_empty()).then_some(reason);
    let answer = to_json(intent);
    books.outbox.push(("payment_intent.canceled", answer.clone()));
    Ok((200, answer))
}
