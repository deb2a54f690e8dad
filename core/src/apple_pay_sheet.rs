//! What the Apple Pay element asks the payment sheet for: Apple's `ApplePayPaymentRequest`, built from the
//! shop's mount options, and the `ApplePaySession` version that request needs. Pure, so the browser element
//! and its tests agree on it without a browser.
//!
//! Rules (Apple Pay on the web, "Supported networks" and "ApplePayPaymentRequest"):
//! - `mada` exists from version 5 and is offered only to merchants in Saudi Arabia, where the processors
//!   accept it (a Mada card elsewhere pays through its co-badged Visa or Mastercard network); everyone else
//!   gets version 3, which every Apple Pay browser since Safari 11 speaks.
//! - Only `supports3DS`: the edge vault opens 3-D Secure tokens and refuses EMV ones, so the sheet must never
//!   produce an EMV token.
//! - The total is a decimal string in the currency's own exponent (`"19.99"`, `"1500"` for JPY, `"1.500"`
//!   for KWD), built from integer minor units, never from a float.

use crate::money::{Amount, Currency};
use serde::Serialize;

/// The networks every merchant is offered.
const NETWORKS: &[&str] = &["visa", "masterCard", "amex", "discover"];
/// Saudi merchants also take Mada, Saudi Arabia's domestic network.
const NETWORKS_SA: &[&str] = &["visa", "masterCard", "amex", "discover", "mada"];
/// A label longer than this does not fit the sheet's total line.
pub const LABEL_CHARS_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sheet {
    #[serde(skip)]
    pub version: u8,
    pub country_code: String,
    pub currency_code: &'static str,
    pub supported_networks: &'static [&'static str],
    pub merchant_capabilities: &'static [&'static str],
    pub total: Total,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub label: String,
    pub amount: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The mount option that is wrong; the loader and the element name it to the shop's developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetError {
    Amount,
    Currency,
    Country,
    Label,
}

impl SheetError {
    pub fn option(self) -> &'static str {
        match self {
            SheetError::Amount => "amount",
            SheetError::Currency => "currency",
            SheetError::Country => "country",
            SheetError::Label => "label",
        }
    }
}

/// `amount` in minor units (positive), `currency` ISO 4217 (`USD`), `country` the merchant's ISO 3166-1
/// alpha-2 code (`US`, `SA`), `label` the shop's name on the total line.
pub fn sheet(amount: i64, currency: &str, country: &str, label: &str) -> Result<Sheet, SheetError> {
    let amount = Amount::positive(amount).map_err(|_| SheetError::Amount)?;
    let currency = Currency::parse(currency).ok().filter(|c| !c.is_fund()).ok_or(SheetError::Currency)?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(SheetError::Country);
    }
    let label = label.trim();
    if label.is_empty() || label.chars().count() > LABEL_CHARS_MAX || label.chars().any(char::is_control) {
        return Err(SheetError::Label);
    }
    let (version, supported_networks) = if country == "SA" { (5, NETWORKS_SA) } else { (3, NETWORKS) };
    Ok(Sheet {
        version,
        country_code: country.to_owned(),
        currency_code: currency.code(),
        supported_networks,
        merchant_capabilities: &["supports3DS"],
        total: Total { label: label.to_owned(), amount: amount.to_decimal_string(currency.exponent()), kind: "final" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_a_decimal_string_in_the_currency_exponent() {
        let amount = |minor, currency| sheet(minor, currency, "US", "Shop").unwrap().total.amount;
        assert_eq!(amount(1999, "USD"), "19.99");
        assert_eq!(amount(5, "USD"), "0.05");
        assert_eq!(amount(1500, "JPY"), "1500");
        assert_eq!(amount(1500, "KWD"), "1.500");
    }

    #[test]
    fn mada_and_version_5_only_for_saudi_merchants() {
        let saudi = sheet(10_000, "SAR", "SA", "Souq").unwrap();
        assert_eq!(saudi.version, 5);
        assert!(saudi.supported_networks.contains(&"mada"));
        let american = sheet(10_000, "USD", "US", "Shop").unwrap();
        assert_eq!(american.version, 3);
        assert!(!american.supported_networks.contains(&"mada"));
        assert!(american.supported_networks.contains(&"visa"));
    }

    #[test]
    fn only_3ds_tokens_are_asked_for() {
        assert_eq!(sheet(100, "EUR", "DE", "Laden").unwrap().merchant_capabilities, ["supports3DS"]);
    }

    #[test]
    fn each_bad_option_is_named() {
        assert_eq!(sheet(0, "USD", "US", "Shop"), Err(SheetError::Amount));
        assert_eq!(sheet(-5, "USD", "US", "Shop"), Err(SheetError::Amount));
        assert_eq!(sheet(100, "usd", "US", "Shop").unwrap().currency_code, "USD", "as the API, any case");
        assert_eq!(sheet(100, "US", "US", "Shop"), Err(SheetError::Currency));
        assert_eq!(sheet(100, "XXX", "US", "Shop"), Err(SheetError::Currency));
        assert_eq!(sheet(100, "USD", "us", "Shop"), Err(SheetError::Country));
        assert_eq!(sheet(100, "USD", "USA", "Shop"), Err(SheetError::Country));
        assert_eq!(sheet(100, "USD", "US", "  "), Err(SheetError::Label));
        assert_eq!(sheet(100, "USD", "US", &"x".repeat(65)), Err(SheetError::Label));
        assert_eq!(sheet(100, "USD", "US", "a\nb"), Err(SheetError::Label));
        assert_eq!(SheetError::Country.option(), "country");
    }

    #[test]
    fn it_serializes_to_apples_field_names() {
        let json = serde_json::to_value(sheet(1999, "USD", "US", " Demo shop ").unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "countryCode": "US",
                "currencyCode": "USD",
                "supportedNetworks": ["visa", "masterCard", "amex", "discover"],
                "merchantCapabilities": ["supports3DS"],
                "total": {"label": "Demo shop", "amount": "19.99", "type": "final"},
            })
        );
    }
}
