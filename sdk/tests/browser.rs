//! Runs in headless Chromium (`wasm-pack test --headless --chrome`): mounts the card number field
//! into a real DOM and types into it through real input events.

use paygate_sdk::{CardNumberField, format_card_number};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlInputElement, InputEvent, InputEventInit};

wasm_bindgen_test_configure!(run_in_browser);

fn mount() -> (CardNumberField, HtmlInputElement) {
    let document = web_sys::window().unwrap().document().unwrap();
    let container = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&container).unwrap();
    let field = CardNumberField::new(&container).unwrap();
    let input = container.query_selector("input").unwrap().unwrap().dyn_into::<HtmlInputElement>().unwrap();
    (field, input)
}

/// Sets the value and caret as the browser would after a keystroke or paste, then fires `input`.
fn type_value(input: &HtmlInputElement, value: &str, caret: u32) {
    input.set_value(value);
    input.set_selection_range(caret, caret).unwrap();
    let init = InputEventInit::new();
    init.set_bubbles(true);
    let event = InputEvent::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
fn typing_formats_the_number_and_detects_the_brand() {
    let (field, input) = mount();
    assert_eq!(input.get_attribute("autocomplete").as_deref(), Some("cc-number"));
    assert_eq!(input.get_attribute("inputmode").as_deref(), Some("numeric"));
    type_value(&input, "42424", 5);
    assert_eq!(input.value(), "4242 4");
    assert_eq!(input.selection_start().unwrap(), Some(6));
    assert_eq!(field.brand(), "visa");
    assert!(!field.complete());
    type_value(&input, "4242 4242 4242 4242", 19);
    assert!(field.complete());
}

#[wasm_bindgen_test]
fn pasting_a_co_badged_mada_card_shows_mada() {
    let (field, input) = mount();
    type_value(&input, "4464-0400-0000-0007", 19);
    assert_eq!(input.value(), "4464 0400 0000 0007");
    assert_eq!(field.brand(), "mada");
    assert!(field.complete());
}

#[wasm_bindgen_test]
fn format_helper_matches_core() {
    let formatted = format_card_number("378282246310005", 15);
    assert_eq!(formatted.text, "3782 822463 10005");
    assert_eq!(formatted.caret, 17);
    assert_eq!(formatted.brand.as_deref(), Some("amex"));
}
