//! Refunds (docs.stripe.com/api/refunds): several partial refunds of a succeeded PaymentIntent, never more
//! than it received in all.

use super::errors::StripeError;
use super::form::Params;
use super::state::{Books, Refund, now};
use serde_json::{Value, json};

fn to_json(refund: &Refund) -> Value {
    json!({
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "charge": refund.charge,
        "payment_intent": refund.payment_intent,
        "currency": refund.currency,
        "status": "succeeded",
        "reason": refund.reason,
        "metadata": refund.metadata,
        "created": refund.created,
        "balance_transaction": format!("txn_{}", refund.id.trim_start_matches("re_")),
    })
}

/// `POST /v1/refunds` with `payment_intent` and `amount` (all that is left by default).
pub fn create(books: &mut Books, account: &str, params: &Params) -> Result<(u16, Value), StripeError> {
    params.only(&["payment_intent", "amount", "reason"], &["metadata["])?;
    let intent_id = params.required("payment_intent")?.to_owned();
    let amount = params.integer("amount")?;
    let reason = params.one_of("reason", &["duplicate", "fraudulent", "requested_by_customer", ""], "")?.to_owned();
    let metadata = params.metadata()?;
    let id = books.id("re");
    let intent = books
        .intents
        .get_mut(&intent_id)
        .filter(|i| i.account == account)
        .ok_or_else(|| StripeError::no_such("payment_intent", &intent_id))?;
    if intent.status != "succeeded" {
        return Err(StripeError::invalid_request(
            "charge_not_refundable",
            Some("payment_intent"),
            &format!("This PaymentIntent ({intent_id}) does not have a successful charge to refund."),
        ));
    }
    let left = intent.amount_received - intent.amount_refunded;
    if left == 0 {
        return Err(StripeError::invalid_request(
            "charge_already_refunded",
            None,
            &format!("Charge {} has already been refunded.", intent.latest_charge.clone().unwrap_or_default()),
        ));
    }
    let amount = amount.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(StripeError::invalid_request(
            "amount_too_large",
            Some("amount"),
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"),
        ));
    }
    intent.amount_refunded += amount;
    let charge_id = intent.latest_charge.clone().unwrap_or_default();
    // Stripe's charge as `charge.refunded` carries it: the total refunded so far, not this refund's amount.
    let charge = json!({
        "id": charge_id, "object": "charge", "amount": intent.amount, "amount_captured": intent.amount_received,
        "amount_refunded": intent.amount_refunded, "refunded": intent.amount_refunded == intent.amount_received,
        "payment_intent": intent.id, "currency": intent.currency,
    });
    let refund = Refund {
        id,
        account: account.to_owned(),
        amount,
        charge: intent.latest_charge.clone().unwrap_or_default(),
        payment_intent: intent_id,
        currency: intent.currency.clone(),
        reason: (!reason.is_empty()).then_some(reason),
        metadata,
        created: now(),
    };
    let body = to_json(&refund);
    let mut charge = charge;
    charge["refunds"] = json!({ "object": "list", "data": [body.clone()] });
    books.outbox.push(("charge.refunded", charge));
    super::reporting::record_refund(books, &refund);
    books.refunds.insert(refund.id.clone(), refund);
    Ok((200, body))
}

pub fn retrieve(books: &Books, account: &str, id: &str) -> Result<(u16, Value), StripeError> {
    match books.refunds.get(id) {
        Some(refund) if refund.account == account => Ok((200, to_json(refund))),
        _ => Err(StripeError::no_such("refund", id)),
    }
}

/// A PaymentIntent's refunds are listed by `GET /v1/refunds?payment_intent=…`.
pub fn list(books: &Books, account: &str, intent: &str) -> Result<(u16, Value), StripeError> {
    let mut found: Vec<&Refund> =
        books.refunds.values().filter(|r| r.account == account && r.payment_intent == intent).collect();
    found.sort_by(|a, b| b.id.cmp(&a.id));
    let data: Vec<Value> = found.into_iter().map(to_json).collect();
    Ok((200, json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/refunds" })))
}
