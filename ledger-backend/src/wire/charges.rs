//! A charge as the API answers it.

use super::{Timestamp, livemode};
use crate::domain::charges::ChargeRecord;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct Charge {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub status: String,
    pub amount: i64,
    pub amount_authorized: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub capture: bool,
    pub source: String,
    /// How it is paid (`card`).
    pub payment_method: &'static str,
    /// Which processor account took it and why; null only on charges made before processor accounts.
    pub processor: Option<Processor>,
    /// Null until the vault has told us which card it was.
    pub payment_method_details: Option<PaymentMethodDetails>,
    pub description: Option<String>,
    pub statement_descriptor: Option<String>,
    pub metadata: Value,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// The processor's own code for a decline, beside our normalized `failure_code`.
    pub failure_processor_code: Option<String>,
    /// An operation the processor accepted and has not confirmed yet (`capture`, `void`, or `expire`, the
    /// expiry's void); null when none. An event follows when it ends.
    pub pending_operation: Option<String>,
    pub created: Timestamp,
    pub authorization_expires_at: Option<Timestamp>,
    /// While the status is `requires_action`: what the shopper must do before the processor decides (for now
    /// always a redirect to the authentication page); null otherwise.
    pub next_action: Option<NextAction>,
}

/// The cardholder's authentication (3-D Secure) the charge waits for: send the shopper to `redirect_url`
/// (`@paygate/js`'s `handleNextAction` shows it in a dialog) before `expires_at`, after which the charge fails.
#[derive(Debug, Serialize)]
pub struct NextAction {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub redirect_url: String,
    pub expires_at: Timestamp,
}

/// The routing decision: the account, its connector, and the rule that chose it (null: the default).
#[derive(Debug, Serialize)]
pub struct Processor {
    pub account: String,
    pub connector: Option<String>,
    pub routing_rule: Option<i32>,
}

#[derive(Debug, Serialize)]
pub struct PaymentMethodDetails {
    /// `card`, or `apple_pay`, whose `card` is the device card: its last 4 are the device account number's,
    /// not those printed on the customer's card.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub card: Card,
}

/// What may be shown of a card: never more than brand, last 4, expiry and the keyed fingerprint.
#[derive(Debug, Serialize)]
pub struct Card {
    pub brand: Option<String>,
    pub last4: String,
    pub exp_month: Option<i16>,
    pub exp_year: Option<i16>,
    pub fingerprint: Option<String>,
}

impl From<&ChargeRecord> for Charge {
    fn from(charge: &ChargeRecord) -> Self {
        let card = charge.card_last4.as_ref().map(|last4| Card {
            brand: charge.card_brand.clone(),
            last4: last4.clone(),
            exp_month: charge.card_exp_month,
            exp_year: charge.card_exp_year,
            fingerprint: charge.card_fingerprint.clone(),
        });
        Charge {
            id: charge.id.to_string(),
            object: "charge",
            livemode: livemode(charge.mode),
            status: charge.status.clone(),
            amount: charge.amount,
            amount_authorized: charge.amount_authorized,
            amount_captured: charge.amount_captured,
            amount_refunded: charge.amount_refunded,
            currency: charge.currency.clone(),
            capture: charge.capture,
            source: charge.source.clone(),
            payment_method: charge.payment_method.0.as_str(),
            processor: charge.processor_account_id.map(|account| Processor {
                account: account.to_string(),
                connector: charge.processor.clone(),
                routing_rule: charge.routing_rule,
            }),
            payment_method_details: card
                .map(|card| PaymentMethodDetails { kind: charge.payment_method.0.as_str(), card }),
            description: charge.description.clone(),
            statement_descriptor: charge.statement_descriptor.clone(),
            metadata: charge.metadata.clone(),
            failure_code: charge.failure_code.clone(),
            failure_message: charge.failure_message.clone(),
            failure_processor_code: charge.failure_processor_code.clone(),
            pending_operation: charge.pending_operation.clone(),
            created: Timestamp(charge.created),
            authorization_expires_at: charge.authorization_expires.map(Timestamp),
            next_action: match (&charge.next_action_url, charge.action_expires) {
                (Some(url), Some(expires)) if charge.status == "requires_action" => {
                    Some(NextAction { kind: "redirect", redirect_url: url.clone(), expires_at: Timestamp(expires) })
                }
                _ => None,
            },
        }
    }
}
