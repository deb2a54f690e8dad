//! A charge as stored, and its public JSON (the wire format, kept apart from the row on purpose so a
//! schema change cannot silently change the API).

use paygate_core::charge::{ChargeAmounts, ChargeStatus};
use paygate_core::time::rfc3339;
use paygate_core::{Amount, Currency};
use serde_json::{Value, json};

/// The SELECT list that reads a `ChargeRecord`.
pub const CHARGE_COLUMNS: &str = "id, merchant_id, mode, status, currency, amount, amount_authorized, amount_captured,
    amount_refunded, capture, source, card_brand, card_bin, card_last4, card_exp_month, card_exp_year,
    card_fingerprint, description, statement_descriptor, metadata, failure_code, failure_message, processor,
    processor_reference, pending_operation, extract(epoch FROM created_at)::bigint AS created,
    extract(epoch FROM authorization_expires_at)::bigint AS authorization_expires";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeRecord {
    pub id: String,
    pub merchant_id: String,
    pub mode: String,
    pub status: String,
    pub currency: String,
    pub amount: i64,
    pub amount_authorized: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub capture: bool,
    pub source: String,
    pub card_brand: Option<String>,
    pub card_bin: Option<String>,
    pub card_last4: Option<String>,
    pub card_exp_month: Option<i16>,
    pub card_exp_year: Option<i16>,
    pub card_fingerprint: Option<String>,
    pub description: Option<String>,
    pub statement_descriptor: Option<String>,
    pub metadata: Value,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub processor: Option<String>,
    pub processor_reference: Option<String>,
    pub pending_operation: Option<String>,
    pub created: i64,
    pub authorization_expires: Option<i64>,
}

impl ChargeRecord {
    /// The status as core's type. The column's CHECK allows only known names.
    pub fn status(&self) -> ChargeStatus {
        ChargeStatus::parse(&self.status).unwrap_or(ChargeStatus::Pending)
    }

    /// The amounts as core's type. The columns' CHECKs keep them in range.
    pub fn amounts(&self) -> ChargeAmounts {
        let amount = |minor: i64| Amount::new(minor).unwrap_or(Amount::ZERO);
        ChargeAmounts {
            authorized: amount(self.amount_authorized),
            captured: amount(self.amount_captured),
            refunded: amount(self.amount_refunded),
        }
    }

    /// The currency as core's type. Stored codes were parsed on the way in; a code that no longer parses
    /// means the row was changed behind our back, which is a database error, not bad input.
    pub fn currency(&self) -> Result<Currency, super::ChargeError> {
        Currency::parse(&self.currency)
            .map_err(|_| super::ChargeError::Database(sqlx::Error::Protocol(format!("stored currency of {}", self.id))))
    }

    pub fn to_json(&self) -> Value {
        let card = self.card_last4.as_ref().map(|last4| {
            json!({
                "brand": self.card_brand,
                "last4": last4,
                "exp_month": self.card_exp_month,
                "exp_year": self.card_exp_year,
                "fingerprint": self.card_fingerprint,
            })
        });
        json!({
            "id": self.id,
            "object": "charge",
            "livemode": self.mode == "live",
            "status": self.status,
            "amount": self.amount,
            "amount_authorized": self.amount_authorized,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "currency": self.currency,
            "capture": self.capture,
            "source": self.source,
            "payment_method_details": card.map(|card| json!({ "type": "card", "card": card })),
            "description": self.description,
            "statement_descriptor": self.statement_descriptor,
            "metadata": self.metadata,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "created": rfc3339(self.created),
            "authorization_expires_at": self.authorization_expires.map(rfc3339),
        })
    }
}
