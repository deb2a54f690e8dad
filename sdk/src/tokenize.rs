//! The tokenize request: complete card data goes to the edge's `POST /v1/tokens` (same origin as this
//! iframe) with the publishable key; the page gets back only the token and the card's brand, last 4
//! digits and expiry. Edge refusals become field or form errors in the person's language.

use crate::checks::FieldKind;
use crate::edge;
use crate::form::CardValues;
use crate::i18n::Text;
use crate::js;
use js_sys::Object;
use wasm_bindgen::JsValue;

/// The cardholder name's bound at the edge; longer names are refused there too.
pub const NAME_CHARS_MAX: usize = 200;

/// The tokenize call gives up before the loader's own 30 s limit, so the form is never left read-only
/// waiting for an answer the page has stopped waiting for.
const TOKENIZE_TIMEOUT_MS: i32 = 25_000;

/// Relative to `/elements/v1/card.html`, so an edge mounted under a path prefix works too.
const TOKENS_URL: &str = "../../v1/tokens";

/// Where a refusal belongs: on a field, or on the form with the edge's code for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub field: Option<FieldKind>,
    pub text: Text,
    /// `name` when the shop's cardholder name was refused (not one of our fields).
    pub page_field: Option<&'static str>,
}

impl TokenError {
    fn form(text: Text) -> TokenError {
        TokenError { field: None, text, page_field: None }
    }
}

fn body(card: &CardValues, name: Option<&str>, postal_code: Option<&str>) -> Object {
    let fields = js::object();
    js::set(&fields, "number", card.number.as_str());
    js::set(&fields, "exp_month", f64::from(card.exp_month));
    js::set(&fields, "exp_year", f64::from(card.exp_year));
    js::set(&fields, "cvc", card.cvc.as_str());
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        js::set(&fields, "name", name.trim());
    }
    // The field the shopper filled wins; the shop's own postal code is for when it hides ours.
    let typed = card.postal_code.as_deref().filter(|p| !p.trim().is_empty());
    if let Some(postal) = typed.or(postal_code.filter(|p| !p.trim().is_empty())) {
        js::set(&fields, "postal_code", postal);
    }
    let request = js::object();
    js::set(&request, "card", fields);
    request
}

/// Asks the edge for a token. Ok is the summary the page receives: `{id, card: {...}, livemode}`.
pub async fn request_token(
    publishable_key: &str,
    card: &CardValues,
    name: Option<&str>,
    postal_code: Option<&str>,
) -> Result<Object, TokenError> {
    let body = body(card, name, postal_code);
    let (status, json) = edge::post(publishable_key, TOKENS_URL, &body, TOKENIZE_TIMEOUT_MS)
        .await
        .map_err(|_| TokenError::form(Text::NetworkError))?;
    if (200..300).contains(&status) {
        return edge::token_summary(&json).ok_or_else(|| TokenError::form(Text::Unavailable));
    }
    Err(refusal(status, &json))
}

/// Maps the edge's problem answer to what the person is told.
pub fn refusal(status: u16, problem: &JsValue) -> TokenError {
    let code = js::get_string(problem, "code", 64).unwrap_or_default();
    let param = js::get_string(problem, "param", 64).unwrap_or_default();
    let on = |field, text| TokenError { field: Some(field), text, page_field: None };
    match (status, param.as_str()) {
        (429, _) => TokenError::form(Text::RateLimited),
        (400, "card.number") if code == "card_brand_unsupported" => on(FieldKind::Number, Text::UnsupportedBrand),
        (400, "card.number") => on(FieldKind::Number, Text::InvalidNumber),
        (400, "card.exp_month") => on(FieldKind::Expiry, Text::InvalidExpiryMonth),
        (400, "card.exp_year" | "card") if code == "card_expired" => on(FieldKind::Expiry, Text::ExpiryInPast),
        (400, "card.exp_year") => on(FieldKind::Expiry, Text::InvalidExpiryYear),
        (400, "card.cvc") => on(FieldKind::Cvc, Text::IncompleteCvc),
        (400, "card.postal_code") => on(FieldKind::Postal, Text::IncompletePostalCode),
        (400, "card.name") => TokenError { field: None, text: Text::InvalidName, page_field: Some("name") },
        _ => {
            // A wrong key or an outage is for the shop's developer, not the shopper: log it there.
            let detail = js::get_string(problem, "detail", 500).unwrap_or_default();
            web_sys::console::error_1(&JsValue::from_str(
                &["Paygate: tokenize refused: ", &code, " ", &detail].concat(),
            ));
            TokenError::form(if status >= 500 { Text::ProcessingError } else { Text::Unavailable })
        }
    }
}
