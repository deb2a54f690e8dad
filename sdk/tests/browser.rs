//! Runs in headless Chromium (`wasm-pack test --headless --chrome`): mounts the card form into a real
//! DOM, types into it through real input events and reads what it shows and what it tells the page.

use js_sys::Object;
use paygate_sdk::checks::FieldKind;
use paygate_sdk::config::{Layout, Options};
use paygate_sdk::form::CardForm;
use paygate_sdk::i18n::{Locale, Text};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, InputEvent, InputEventInit};

wasm_bindgen_test_configure!(run_in_browser);

struct Mounted {
    form: CardForm,
    container: Element,
    /// Every event the form sent to the page, as (type, JSON of the payload).
    sent: Rc<RefCell<Vec<(String, String)>>>,
}

impl Mounted {
    fn input(&self, id: &str) -> HtmlInputElement {
        self.container.query_selector(&format!("#{id}")).unwrap().unwrap().dyn_into().unwrap()
    }

    fn text(&self, selector: &str) -> String {
        self.container.query_selector(selector).unwrap().unwrap().text_content().unwrap_or_default()
    }

    fn last(&self, kind: &str) -> String {
        self.sent.borrow().iter().rev().find(|(k, _)| k == kind).map(|(_, p)| p.clone()).unwrap_or_default()
    }
}

/// Each test's form leaves the page with it, so ids never repeat between tests.
impl Drop for Mounted {
    fn drop(&mut self) {
        self.container.remove();
    }
}

/// An expiry three years from now, as typed (`12 / YY`), and its four-digit year.
fn future_expiry() -> (String, u16) {
    let year = js_sys::Date::new_0().get_full_year() as u16 + 3;
    (format!("12 / {:02}", year % 100), year)
}

fn mount_with(options: Options) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    let container = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&container).unwrap();
    let sent = Rc::new(RefCell::new(Vec::new()));
    let log = sent.clone();
    let emit = Box::new(move |kind: &'static str, payload: Object| {
        let json = js_sys::JSON::stringify(&payload).unwrap().as_string().unwrap();
        log.borrow_mut().push((kind.to_owned(), json));
    });
    let form = CardForm::mount(&container, options, emit).unwrap();
    Mounted { form, container, sent }
}

fn mount() -> Mounted {
    mount_with(Options::default())
}

/// Sets the value and caret as the browser would after a keystroke or paste, then fires `input`.
fn type_value(input: &HtmlInputElement, value: &str, caret: u32, input_type: &str) {
    input.set_value(value);
    input.set_selection_range(caret, caret).unwrap();
    let init = InputEventInit::new();
    init.set_bubbles(true);
    init.set_input_type(input_type);
    let event = InputEvent::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&event).unwrap();
}

fn type_end(input: &HtmlInputElement, value: &str) {
    type_value(input, value, value.encode_utf16().count() as u32, "insertText");
}

fn blur(input: &HtmlInputElement) {
    input.dispatch_event(&web_sys::FocusEvent::new("blur").unwrap()).unwrap();
}

#[wasm_bindgen_test]
fn fields_carry_autofill_tokens_labels_and_error_descriptions() {
    let m = mount();
    for (id, token) in
        [("pg-number", "cc-number"), ("pg-expiry", "cc-exp"), ("pg-cvc", "cc-csc"), ("pg-postal", "postal-code")]
    {
        let input = m.input(id);
        assert_eq!(input.get_attribute("autocomplete").as_deref(), Some(token), "{id}");
        let label = m.container.query_selector(&format!("label[for={id}]")).unwrap().expect("a label for each field");
        assert!(!label.text_content().unwrap().is_empty());
        for described in input.get_attribute("aria-describedby").unwrap().split(' ') {
            assert!(m.container.query_selector(&format!("#{described}")).unwrap().is_some(), "{described} exists");
        }
        assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("false"));
    }
    assert_eq!(m.input("pg-number").get_attribute("inputmode").as_deref(), Some("numeric"));
}

#[wasm_bindgen_test]
fn typing_formats_the_number_keeps_the_caret_and_shows_the_brand() {
    let m = mount();
    let number = m.input("pg-number");
    type_value(&number, "42424", 5, "insertText");
    assert_eq!(number.value(), "4242 4");
    assert_eq!(number.selection_start().unwrap(), Some(6));
    assert_eq!(m.text("#pg-brand"), "Visa");
    assert!(m.last("change").contains(r#""brand":"visa""#));
    // Typing in the middle keeps the caret after the typed digit.
    type_value(&number, "4242 14", 6, "insertText");
    assert_eq!(number.value(), "4242 14");
    assert_eq!(number.selection_start().unwrap(), Some(6));
}

#[wasm_bindgen_test]
fn backspace_over_a_group_space_removes_the_digit_before_it() {
    let m = mount();
    let number = m.input("pg-number");
    type_end(&number, "42424");
    assert_eq!(number.value(), "4242 4");
    // The browser deleted the space before the caret at 5: "4242|4".
    type_value(&number, "42424", 4, "deleteContentBackward");
    assert_eq!(number.value(), "4244");
    assert_eq!(number.selection_start().unwrap(), Some(3));
}

#[wasm_bindgen_test]
fn a_pasted_co_badged_mada_card_shows_both_brands() {
    let m = mount();
    let number = m.input("pg-number");
    type_value(&number, "4464-0400-0000-0007", 19, "insertFromPaste");
    assert_eq!(number.value(), "4464 0400 0000 0007");
    assert_eq!(m.text("#pg-brand"), "mada · Visa");
    assert!(m.last("change").contains(r#""brand":"mada""#));
}

#[wasm_bindgen_test]
fn arabic_indic_digits_are_read_as_card_digits() {
    let m = mount();
    let number = m.input("pg-number");
    type_end(&number, "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢");
    assert_eq!(number.value(), "4242 4242 4242 4242");
}

#[wasm_bindgen_test]
fn expiry_is_padded_separated_and_autofill_years_shortened() {
    let m = mount();
    let expiry = m.input("pg-expiry");
    type_end(&expiry, "4");
    assert_eq!(expiry.value(), "04 / ");
    type_value(&expiry, "12/2030", 7, "insertReplacementText");
    assert_eq!(expiry.value(), "12 / 30");
}

#[wasm_bindgen_test]
fn a_full_number_failing_luhn_is_flagged_at_once_an_incomplete_one_on_blur() {
    let m = mount();
    let number = m.input("pg-number");
    type_end(&number, "4242424242424241");
    assert_eq!(number.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(m.text("#pg-number-error"), Text::InvalidNumber.get(Locale::En));
    assert!(m.last("change").contains(r#""code":"invalid_number""#));
    type_end(&number, "4242 42");
    assert_eq!(number.get_attribute("aria-invalid").as_deref(), Some("false"), "no error while typing");
    blur(&number);
    assert_eq!(m.text("#pg-number-error"), Text::IncompleteNumber.get(Locale::En));
    assert_eq!(number.get_attribute("aria-invalid").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
fn validate_refuses_an_empty_form_and_shows_every_error() {
    let m = mount();
    let refused = m.form.validate().err().expect("an empty form does not validate");
    assert_eq!(refused, (FieldKind::Number, Text::IncompleteNumber));
    for id in ["pg-number", "pg-expiry", "pg-cvc", "pg-postal"] {
        assert_eq!(m.input(id).get_attribute("aria-invalid").as_deref(), Some("true"), "{id}");
    }
    let active = web_sys::window().unwrap().document().unwrap().active_element().unwrap();
    assert!(active.is_same_node(Some(&m.input("pg-number"))), "the first field in error takes focus");
}

#[wasm_bindgen_test]
fn a_complete_form_validates_and_no_event_carries_card_digits() {
    let m = mount();
    let (expiry, year) = future_expiry();
    type_end(&m.input("pg-number"), "4000 0566 5566 5556");
    type_end(&m.input("pg-expiry"), &expiry);
    type_end(&m.input("pg-cvc"), "864");
    type_end(&m.input("pg-postal"), "10115");
    let card = m.form.validate().expect("complete");
    assert_eq!((card.number.as_str(), card.exp_month, card.exp_year), ("4000056655665556", 12, year));
    assert_eq!(card.postal_code.as_deref(), Some("10115"));
    assert!(m.last("change").contains(r#""complete":true"#));
    for (kind, payload) in m.sent.borrow().iter() {
        // The CVC is searched for bare, not only as a quoted JSON string: a number would pass that check.
        assert!(!payload.contains("5566") && !payload.contains("864"), "{kind} leaked card data: {payload}");
    }
}

#[wasm_bindgen_test]
fn amex_takes_a_four_digit_cvc_and_others_three() {
    let m = mount();
    type_end(&m.input("pg-number"), "3782 822463 10005");
    type_end(&m.input("pg-cvc"), "12345");
    assert_eq!(m.input("pg-cvc").value(), "1234");
    let m = mount();
    type_end(&m.input("pg-number"), "4242 4242 4242 4242");
    type_end(&m.input("pg-cvc"), "12345");
    assert_eq!(m.input("pg-cvc").value(), "123");
}

#[wasm_bindgen_test]
fn arabic_lays_out_right_to_left_with_arabic_texts() {
    let m = mount_with(Options { locale: Locale::Ar, ..Options::default() });
    let root = m.form.root();
    assert_eq!(root.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(root.get_attribute("lang").as_deref(), Some("ar"));
    assert_eq!(m.text("label[for=pg-number]"), "رقم البطاقة");
    // Card digits still read left to right.
    assert_eq!(m.input("pg-number").get_attribute("dir").as_deref(), Some("ltr"));
    let update = Object::new();
    js_sys::Reflect::set(&update, &"locale".into(), &"en".into()).unwrap();
    m.form.update(&update);
    assert_eq!(root.get_attribute("dir").as_deref(), Some("ltr"));
    assert_eq!(m.text("label[for=pg-number]"), "Card number");
}

#[wasm_bindgen_test]
fn without_postal_code_the_field_is_hidden_and_not_required() {
    let m = mount_with(Options { postal: false, layout: Layout::Split, ..Options::default() });
    let postal = m.container.query_selector("[data-field=postal_code]").unwrap().unwrap();
    assert!(postal.dyn_into::<HtmlElement>().unwrap().hidden(), "hidden fields leave the tab order");
    assert!(m.form.root().class_name().contains("pg-split"));
    let submitted_empty = m.form.validate();
    assert!(submitted_empty.is_err());
    assert_eq!(m.text("#pg-postal-error"), "", "no error for a field nobody can see");
    type_end(&m.input("pg-number"), "4242 4242 4242 4242");
    type_end(&m.input("pg-expiry"), &future_expiry().0);
    type_end(&m.input("pg-cvc"), "123");
    assert!(m.form.validate().is_ok());
    assert_eq!(m.text("#pg-postal-error"), "");
}

#[wasm_bindgen_test]
fn focus_moves_on_only_when_the_number_is_whole() {
    let m = mount();
    let number = m.input("pg-number");
    number.focus().unwrap();
    // The first 13 digits of this 16-digit Visa pass Luhn on their own: a valid 13-digit Visa, but rare.
    type_end(&number, "4012 8888 8888 1");
    let document = web_sys::window().unwrap().document().unwrap();
    assert!(document.active_element().unwrap().is_same_node(Some(&number)), "focus stays for the last digits");
    type_end(&number, "4012 8888 8888 1881");
    assert!(document.active_element().unwrap().is_same_node(Some(&m.input("pg-expiry"))), "then moves to expiry");
}

#[wasm_bindgen_test]
fn backspace_across_the_expiry_separator_deletes_the_month_digit() {
    let m = mount();
    let expiry = m.input("pg-expiry");
    type_end(&expiry, "1234");
    assert_eq!(expiry.value(), "12 / 34");
    // Caret after "12 / " and backspace: the browser removed the space; the 2 goes instead.
    type_value(&expiry, "12 /34", 4, "deleteContentBackward");
    assert_eq!(expiry.value(), "13 / 4");
    assert_eq!(expiry.selection_start().unwrap(), Some(1));
}

#[wasm_bindgen_test]
fn a_charge_failure_on_the_cvc_marks_that_field_until_it_is_edited() {
    let m = mount();
    m.form.show_failure(Some((Some(FieldKind::Cvc), Text::IncorrectCvc)));
    assert_eq!(m.text("#pg-cvc-error"), Text::IncorrectCvc.get(Locale::En));
    assert_eq!(m.input("pg-cvc").get_attribute("aria-invalid").as_deref(), Some("true"));
    type_end(&m.input("pg-cvc"), "9");
    assert_eq!(m.text("#pg-cvc-error"), "");
    m.form.show_failure(Some((None, Text::InsufficientFunds)));
    assert!(m.last("change").contains(r#""code":"insufficient_funds""#));
    // A code that is not about the card does not tell the shopper it was declined.
    assert_eq!(Text::of_charge_failure("idempotency_key_reused"), Text::ProcessingError);
    assert_eq!(Text::of_charge_failure("do_not_honor"), Text::CardDeclined);
    // A failed 3-D Secure is the bank's refusal to confirm, not a declined card.
    assert_eq!(Text::of_charge_failure("authentication_failed"), Text::AuthenticationFailed);
    assert_eq!(Text::of_charge_failure("authentication_abandoned"), Text::AuthenticationFailed);
}

#[wasm_bindgen_test]
fn the_theme_sets_known_variables_and_ignores_unsafe_values() {
    let theme = js_sys::JSON::parse(
        r##"{"colorPrimary":"#0a7","borderRadius":"2px","colorText":"url(https://evil.test)","colorBogus":"red"}"##,
    )
    .unwrap();
    let m = mount_with(Options { theme, ..Options::default() });
    let style = m.form.root().style();
    assert_eq!(style.get_property_value("--pg-primary").unwrap(), "#0a7");
    assert_eq!(style.get_property_value("--pg-radius").unwrap(), "2px");
    assert_eq!(style.get_property_value("--pg-text").unwrap(), "");
    assert!(!m.form.root().get_attribute("style").unwrap_or_default().contains("Bogus"));
    // A new theme replaces the old one whole.
    let update = js_sys::JSON::parse(r#"{"style":{"borderRadius":"0"}}"#).unwrap();
    m.form.update(&update);
    assert_eq!(style.get_property_value("--pg-primary").unwrap(), "");
    assert_eq!(style.get_property_value("--pg-radius").unwrap(), "0");
}

#[wasm_bindgen_test]
fn clear_empties_every_field_and_forgets_errors() {
    let m = mount();
    type_end(&m.input("pg-number"), "4242 4242 4242 4241");
    assert_eq!(m.input("pg-number").get_attribute("aria-invalid").as_deref(), Some("true"));
    m.form.clear();
    for id in ["pg-number", "pg-expiry", "pg-cvc", "pg-postal"] {
        assert_eq!(m.input(id).value(), "", "{id}");
        assert_eq!(m.input(id).get_attribute("aria-invalid").as_deref(), Some("false"), "{id}");
    }
    assert!(m.last("change").contains(r#""empty":true"#));
}

#[wasm_bindgen_test]
fn messages_and_fragments_of_any_shape_are_refused_or_ignored_never_a_panic() {
    use paygate_sdk::config::{Config, ConfigError};
    let m = mount();
    for junk in [
        JsValue::NULL,
        JsValue::UNDEFINED,
        JsValue::from(42),
        JsValue::from_str("update"),
        js_sys::JSON::parse(r#"{"locale":5,"layout":"grid","postal":"yes","style":"red","disabled":"no"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"style":{"colorText":7,"fontFamily":"x;}body{display:none"}}"#).unwrap(),
    ] {
        m.form.update(&junk);
    }
    assert_eq!(m.form.root().get_attribute("dir").as_deref(), Some("ltr"), "options unchanged");
    assert!(m.form.root().class_name().contains("pg-row"));
    let long = "a".repeat(10_000);
    let key = format!("pk_test_{}", "a1B2c3D4".repeat(4));
    for (fragment, expected) in [
        ("", ConfigError::PublishableKey),
        ("#pk=sk_test_abc", ConfigError::PublishableKey),
        (&format!("#pk={key}&origin=javascript:alert(1)&id=x"), ConfigError::Origin),
        (&format!("#pk={key}&origin=https://shop.example/path&id=x"), ConfigError::Origin),
        (&format!("#pk={key}&origin=https://shop.example&id=../x"), ConfigError::ElementId),
        (&format!("#pk={key}&origin=https://shop.example&id={long}"), ConfigError::ElementId),
        ("#%%%&&&==", ConfigError::PublishableKey),
    ] {
        assert_eq!(Config::from_fragment(fragment).err(), Some(expected), "{fragment:.60}");
    }
    let good = Config::from_fragment(&format!("#pk={key}&origin=https://shop.example&id=ab12&locale=ar&style={long}"));
    assert_eq!(good.expect("valid").options.locale, Locale::Ar);
}

#[wasm_bindgen_test]
fn enter_asks_the_page_to_submit_and_backspace_in_an_empty_field_goes_back() {
    let m = mount();
    let key = |input: &HtmlInputElement, name: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(name);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        input.dispatch_event(&event).unwrap();
    };
    key(&m.input("pg-cvc"), "Enter");
    assert_eq!(m.sent.borrow().iter().filter(|(kind, _)| kind == "submit").count(), 1);
    type_end(&m.input("pg-number"), "4242");
    m.input("pg-expiry").focus().unwrap();
    key(&m.input("pg-expiry"), "Backspace");
    let active = web_sys::window().unwrap().document().unwrap().active_element().unwrap();
    assert!(active.is_same_node(Some(&m.input("pg-number"))));
    assert_eq!(m.input("pg-number").selection_start().unwrap(), Some(4));
}
