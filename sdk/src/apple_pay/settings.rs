//! The Apple Pay element's options, as the loader put them in the iframe URL's fragment and as `update`
//! messages change them: the sheet (amount, currency, country, label), the language and the button's look.

use crate::frame::ConfigError;
use crate::i18n::Locale;
use crate::js;
use paygate_core::apple_pay_sheet::{Sheet, SheetError, sheet};
use wasm_bindgen::JsValue;
use web_sys::UrlSearchParams;

/// Apple's button types that fit a checkout (`-apple-pay-button-type`), and its three styles.
pub const BUTTON_TYPES: &[&str] = &["plain", "buy", "check-out", "book", "donate", "subscribe", "order"];
pub const BUTTON_STYLES: &[&str] = &["black", "white", "white-outline"];

#[derive(Debug, Clone)]
pub struct Settings {
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    /// The merchant's country (ISO 3166-1 alpha-2): `SA` offers Mada.
    pub country: String,
    pub label: String,
    pub locale: Locale,
    pub button_type: &'static str,
    pub button_style: &'static str,
}

fn one_of(value: Option<String>, allowed: &[&'static str], name: &'static str) -> Result<&'static str, ConfigError> {
    match value {
        None => Ok(allowed[0]),
        Some(value) => allowed.iter().copied().find(|a| *a == value).ok_or(ConfigError::Option(name)),
    }
}

impl Settings {
    /// Reads `amount` (minor units), `currency`, `country`, `label`, `locale`, `buttonType` and `buttonStyle`.
    pub fn from_params(params: &UrlSearchParams) -> Result<Settings, ConfigError> {
        let text = |name| params.get(name).unwrap_or_default();
        let settings = Settings {
            amount: text("amount").parse().unwrap_or(0),
            currency: text("currency"),
            country: text("country"),
            label: text("label"),
            locale: Locale::parse(&text("locale")),
            button_type: one_of(params.get("buttonType"), BUTTON_TYPES, "buttonType")?,
            button_style: one_of(params.get("buttonStyle"), BUTTON_STYLES, "buttonStyle")?,
        };
        settings.sheet().map_err(|e| ConfigError::Option(e.option()))?;
        Ok(settings)
    }

    /// What the Apple Pay sheet is asked for, and the session version it needs.
    pub fn sheet(&self) -> Result<Sheet, SheetError> {
        sheet(self.amount, &self.currency, &self.country, &self.label)
    }

    /// Applies an `update` message: a new amount or label (the cart changed) or language. A change that
    /// would not make a valid sheet is ignored (the loader refuses it before sending it).
    pub fn update_from(&mut self, message: &JsValue) {
        let mut next = self.clone();
        // A whole number well inside i64, or ignored.
        if let Some(amount) = js::get_f64(message, "amount").filter(|a| a.fract() == 0.0 && a.abs() < 9e15) {
            next.amount = amount as i64;
        }
        if let Some(label) = js::get_string(message, "label", 256) {
            next.label = label;
        }
        if let Some(locale) = js::get_string(message, "locale", 16) {
            next.locale = Locale::parse(&locale);
        }
        if next.sheet().is_ok() {
            *self = next;
        }
    }
}
