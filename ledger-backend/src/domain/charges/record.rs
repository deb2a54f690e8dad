//! A charge as stored. Its public JSON is `wire::Charge`, kept apart from the row on purpose so a schema
//! change cannot silently change the API.

use paygate_core::charge::{ChargeAmounts, ChargeStatus};
use paygate_core::id::{ChargeId, MerchantId, ProcessorAccountId};
use paygate_core::payment_method::PaymentMethod;
use paygate_core::{Amount, Currency, Mode};
use serde_json::Value;
#[cfg(test)]
use serde_json::json;

/// The SELECT list that reads a `ChargeRecord`.
pub const CHARGE_COLUMNS: &str = "id, merchant_id, mode, status, currency, amount, amount_authorized, amount_captured,
    amount_refunded, capture, source, card_brand, card_bin, card_last4, card_exp_month, card_exp_year,
    card_fingerprint, description, statement_descriptor, metadata, failure_code, failure_message, processor,
    processor_reference, pending_operation, processor_account_id, routing_rule, payment_method, failure_processor_code, mada, extract(epoch FROM created_at)::bigint AS created,
    extract(epoch FROM authorization_expires_at)::bigint AS authorization_expires, next_action_url,
    extract(epoch FROM action_expires_at)::bigint AS action_expires, version";

/// A stored payment method, decoded loudly: one this build does not know is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPaymentMethod(pub PaymentMethod);

impl TryFrom<String> for StoredPaymentMethod {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        PaymentMethod::parse(&text).map(StoredPaymentMethod).ok_or_else(|| format!("unknown payment method {text:?}"))
    }
}

/// A charge with the merchant's price for it (`pricing::CHARGE_PRICING` read beside `CHARGE_COLUMNS` as
/// `pricing`): what a capture's fee needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeWithPricing {
    #[sqlx(flatten)]
    pub charge: ChargeRecord,
    pub pricing: Option<Vec<i64>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeRecord {
    pub id: ChargeId,
    pub merchant_id: MerchantId,
    pub mode: Mode,
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
    /// The account that authorized it (or is authorizing it): every later operation goes back there.
    pub processor_account_id: Option<ProcessorAccountId>,
    pub routing_rule: Option<i32>,
    #[sqlx(try_from = "String")]
    pub payment_method: StoredPaymentMethod,
    pub failure_processor_code: Option<String>,
    /// Made on Mada rails (a Mada card at a Saudi merchant): a sale, never voided.
    pub mada: bool,
    pub created: i64,
    pub authorization_expires: Option<i64>,
    /// While it requires action: where the shopper authenticates (the processor's page), and until when.
    pub next_action_url: Option<String>,
    pub action_expires: Option<i64>,
    /// One more on every change of the row (migration 0026); a change written in one statement names the
    /// version it was decided on (`change`).
    pub version: i64,
}

impl ChargeRecord {
    // Every stored value was parsed on the way in and the columns' CHECKs hold them in range; one that no
    // longer parses means the row was changed behind our back. That is loud (an error the caller sees and
    // the log names), never a silent default such as `pending` or zero.

    /// The status as core's type.
    pub fn status(&self) -> Result<ChargeStatus, super::ChargeError> {
        ChargeStatus::parse(&self.status).ok_or_else(|| self.corrupt("status"))
    }

    /// The amount asked for.
    pub fn amount(&self) -> Result<Amount, super::ChargeError> {
        Amount::new(self.amount).map_err(|_| self.corrupt("amount"))
    }

    /// The amounts as core's type.
    pub fn amounts(&self) -> Result<ChargeAmounts, super::ChargeError> {
        let amount = |minor: i64, column| Amount::new(minor).map_err(|_| self.corrupt(column));
        Ok(ChargeAmounts {
            authorized: amount(self.amount_authorized, "amount_authorized")?,
            captured: amount(self.amount_captured, "amount_captured")?,
            refunded: amount(self.amount_refunded, "amount_refunded")?,
        })
    }

    /// The currency as core's type.
    pub fn currency(&self) -> Result<Currency, super::ChargeError> {
        Currency::parse(&self.currency).map_err(|_| self.corrupt("currency"))
    }

    fn corrupt(&self, column: &str) -> super::ChargeError {
        let detail = format!("charge {}: stored {column} does not parse", self.id);
        tracing::error!(%detail, "corrupt row");
        super::ChargeError::Database(sqlx::Error::Decode(detail.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: &str, captured: i64, currency: &str) -> ChargeRecord {
        ChargeRecord {
            id: ChargeId::parse("ch_01jd3x0000000000000000000a").unwrap(),
            merchant_id: MerchantId::parse("acct_01jd3x0000000000000000000a").unwrap(),
            mode: Mode::Test,
            status: status.into(),
            currency: currency.into(),
            amount: 1_000,
            amount_authorized: 1_000,
            amount_captured: captured,
            amount_refunded: 0,
            capture: true,
            source: "tok_01jd3x0000000000000000000a".into(),
            card_brand: None,
            card_bin: None,
            card_last4: None,
            card_exp_month: None,
            card_exp_year: None,
            card_fingerprint: None,
            description: None,
            statement_descriptor: None,
            metadata: json!({}),
            failure_code: None,
            failure_message: None,
            processor: None,
            processor_reference: None,
            pending_operation: None,
            processor_account_id: None,
            routing_rule: None,
            payment_method: StoredPaymentMethod(PaymentMethod::Card),
            failure_processor_code: None,
            mada: false,
            created: 0,
            authorization_expires: None,
            next_action_url: None,
            action_expires: None,
            version: 0,
        }
    }

    #[test]
    fn a_stored_value_that_does_not_parse_is_an_error_never_a_default() {
        let good = record("captured", 1_000, "EUR");
        assert_eq!(good.status().unwrap(), ChargeStatus::Captured);
        assert_eq!(good.amounts().unwrap().captured.minor(), 1_000);
        assert!(record("garbage", 1_000, "EUR").status().is_err(), "not silently pending");
        assert!(record("captured", -5, "EUR").amounts().is_err(), "not silently zero");
        assert!(record("captured", 1_000, "EURO").currency().is_err());
    }
}
