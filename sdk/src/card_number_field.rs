//! The card number input: formats as the person types, keeps the caret next to the digit it was at,
//! shows the detected brand, and carries the attributes browser autofill and screen readers need.

use paygate_core::card::{CardNumber, format_number};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event, HtmlInputElement};

#[wasm_bindgen]
pub struct CardNumberField {
    input: HtmlInputElement,
    // Dropping the closure would detach the listener; the field owns it for its lifetime.
    _on_input: Closure<dyn FnMut(Event)>,
}

#[wasm_bindgen]
impl CardNumberField {
    /// Mounts a labelled card number input inside `container`.
    #[wasm_bindgen(constructor)]
    pub fn new(container: &Element) -> Result<CardNumberField, JsValue> {
        let document: Document =
            container.owner_document().ok_or_else(|| JsValue::from_str("container is not in a document"))?;
        let label = document.create_element("label")?;
        label.set_attribute("for", "paygate-card-number")?;
        label.set_text_content(Some("Card number"));
        let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
        input.set_id("paygate-card-number");
        input.set_type("text");
        // Numeric keypad on phones, and the token browsers use to offer saved cards.
        input.set_attribute("inputmode", "numeric")?;
        input.set_attribute("autocomplete", "cc-number")?;
        input.set_attribute("spellcheck", "false")?;
        input.set_attribute("aria-invalid", "false")?;
        container.append_child(&label)?;
        container.append_child(&input)?;

        let field_input = input.clone();
        let on_input = Closure::<dyn FnMut(Event)>::new(move |_event: Event| reformat(&field_input));
        input.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref())?;
        Ok(CardNumberField { input, _on_input: on_input })
    }

    /// The brand detected so far (`visa`, `mada`, ...), or an empty string.
    #[wasm_bindgen(getter)]
    pub fn brand(&self) -> String {
        self.input.get_attribute("data-brand").unwrap_or_default()
    }

    /// True when the digits form a valid card number of a supported brand.
    #[wasm_bindgen(getter)]
    pub fn complete(&self) -> bool {
        CardNumber::parse(&self.input.value()).is_ok()
    }
}

fn reformat(input: &HtmlInputElement) {
    let value = input.value();
    let caret = input.selection_start().ok().flatten().unwrap_or(value.len() as u32) as usize;
    let formatted = format_number(&value, caret);
    if formatted.text != value {
        input.set_value(&formatted.text);
    }
    let caret = formatted.caret as u32;
    let _ = input.set_selection_range(caret, caret);
    let brand = formatted.brand.map(|b| b.as_str()).unwrap_or("");
    let _ = input.set_attribute("data-brand", brand);
    let complete = CardNumber::parse(&formatted.text).is_ok();
    let _ = input.set_attribute("data-complete", if complete { "true" } else { "false" });
}
