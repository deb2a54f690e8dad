//! `paygate-sdk`: the browser runtime that runs inside the Paygate card iframe (edge origin). The shop
//! page never loads this module and never sees card data; it talks to the iframe over `postMessage`
//! through the `@paygate/js` loader.
//!
//! Invariant: no card digit leaves this module except inside a tokenize request to the edge.

mod card_number_field;

pub use card_number_field::CardNumberField;

use wasm_bindgen::prelude::*;

/// Formats card-number input for display and reports the caret and brand: the pure rule from
/// `paygate-core`, exposed for the field and for tests.
#[wasm_bindgen(js_name = formatCardNumber)]
pub fn format_card_number(input: &str, caret: u32) -> FormattedNumber {
    let formatted = paygate_core::card::format_number(input, caret as usize);
    FormattedNumber {
        text: formatted.text,
        caret: formatted.caret as u32,
        brand: formatted.brand.map(|b| b.as_str().to_owned()),
    }
}

#[wasm_bindgen(getter_with_clone)]
pub struct FormattedNumber {
    pub text: String,
    pub caret: u32,
    pub brand: Option<String>,
}
