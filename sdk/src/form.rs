//! The card form: four fields, the brand badge and a form-level error line. It formats what is typed,
//! decides which errors to show, reports `change`/`focus`/`blur` through `emit`, and hands complete
//! card data to `tokenize` — the only place card digits go.

use crate::checks::{self, Check, FIELDS, FieldKind};
use crate::config::Options;
use crate::field::{Field, element};
use crate::i18n::{Text, brand_name};
use crate::js;
use crate::theme;
use js_sys::Object;
use paygate_core::card::{
    Expiry, ascii_digits, backspace, backspace_expiry, detect_brands, format_expiry, format_number,
};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, HtmlElement, InputEvent, KeyboardEvent};

/// Sends one event to the page: its type and payload (the bridge adds the envelope).
pub use crate::frame::Emit;

#[derive(Clone)]
pub struct CardForm(Rc<Inner>);

type Listener = Closure<dyn FnMut(Event)>;
type Handler = Box<dyn Fn(&CardForm, Event)>;

struct Inner {
    root: HtmlElement,
    fields: Vec<Field>,
    brand: HtmlElement,
    form_error: Element,
    state: RefCell<State>,
    emit: Emit,
    // The listeners live as long as the form; dropping them would detach them.
    listeners: RefCell<Vec<Listener>>,
}

#[derive(Default)]
struct State {
    options: Options,
    /// A field is touched once it lost focus with something in it; its errors show from then on.
    touched: [bool; 4],
    /// After a tokenize attempt every error shows, empty fields included.
    submitted: bool,
    /// An error from the edge or the shop's charge, on a field or (None) the whole form, until edited.
    failure: Option<(Option<FieldKind>, Text)>,
    busy: bool,
    /// Each field's text after the last edit, to tell a backspace over a separator from one over a digit.
    /// Kept here rather than in a DOM attribute, where selectors and snapshots could see the number.
    previous: [String; 4],
}

/// Complete card data, read only to build the tokenize request.
pub struct CardValues {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
    pub postal_code: Option<String>,
}

fn now_unix_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The character index at a UTF-16 offset (what `selectionStart` gives).
fn char_index(text: &str, utf16_offset: u32) -> usize {
    let mut units = 0;
    text.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= utf16_offset as usize
        })
        .count()
}

fn index(kind: FieldKind) -> usize {
    FIELDS.iter().position(|k| *k == kind).unwrap_or(0)
}

impl CardForm {
    /// Builds the form inside `container` and starts listening to its fields.
    pub fn mount(container: &Element, options: Options, emit: Emit) -> Result<CardForm, JsValue> {
        let document = container.owner_document().ok_or_else(|| JsValue::from_str("container is not in a document"))?;
        let root = element(&document, "form", "pg")?;
        root.set_attribute("novalidate", "")?;
        let brand = element(&document, "span", "pg-brand")?;
        brand.set_id("pg-brand");
        let mut fields = Vec::with_capacity(FIELDS.len());
        for kind in FIELDS {
            let field = Field::new(&document, kind, (kind == FieldKind::Number).then_some(brand.as_ref()))?;
            root.append_child(&field.wrapper)?;
            fields.push(field);
        }
        // The error texts sit together under the fields, so the row layout keeps its height.
        let errors = element(&document, "div", "pg-errors")?;
        errors.set_attribute("aria-live", "polite")?;
        for field in &fields {
            errors.append_child(&field.error)?;
        }
        // The errors container is the one live region; a nested alert would announce twice.
        let form_error = element(&document, "span", "pg-error pg-form-error")?;
        errors.append_child(&form_error)?;
        root.append_child(&errors)?;
        container.append_child(&root)?;
        let inner = Inner {
            root,
            fields,
            brand,
            form_error: form_error.into(),
            state: RefCell::new(State { options, ..State::default() }),
            emit,
            listeners: RefCell::new(Vec::new()),
        };
        let form = CardForm(Rc::new(inner));
        form.listen()?;
        form.apply_options();
        Ok(form)
    }

    fn listen(&self) -> Result<(), JsValue> {
        let weak = Rc::downgrade(&self.0);
        let on = |target: &web_sys::EventTarget, name: &str, handler: Handler| {
            let weak = weak.clone();
            let closure = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                if let Some(inner) = weak.upgrade() {
                    handler(&CardForm(inner), event);
                }
            });
            let added = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            self.0.listeners.borrow_mut().push(closure);
            added
        };
        for field in &self.0.fields {
            let kind = field.kind;
            on(&field.input, "input", Box::new(move |form, event| form.on_input(kind, &event)))?;
            on(&field.input, "focus", Box::new(move |form, _| form.on_focus(kind)))?;
            on(&field.input, "blur", Box::new(move |form, _| form.on_blur(kind)))?;
            on(&field.input, "keydown", Box::new(move |form, event| form.on_keydown(kind, &event)))?;
        }
        // Enter in a field must not navigate the iframe; the shop's own button submits.
        on(&self.0.root, "submit", Box::new(|_, event| event.prevent_default()))?;
        Ok(())
    }

    fn field(&self, kind: FieldKind) -> &Field {
        &self.0.fields[index(kind)]
    }

    /// Sends an event to the page through the bridge the form was mounted with.
    pub fn emit(&self, kind: &'static str, payload: Object) {
        (self.0.emit)(kind, payload);
    }

    /// Applies the current options: texts, direction, layout, which fields show, theme, disabled.
    pub fn apply_options(&self) {
        // A copy, so no borrow is held while the DOM changes: disabling a focused input fires `blur`,
        // whose handler borrows the state mutably.
        let options = self.0.state.borrow().options.clone();
        let options = &options;
        let root = &self.0.root;
        root.set_class_name(options.layout.class());
        let _ = root.set_attribute("lang", options.locale.tag());
        let _ = root.set_attribute("dir", options.locale.direction());
        let _ = root.set_attribute("aria-label", Text::FormLabel.get(options.locale));
        // The document's own language too, so screen readers pick the right voice for everything.
        if let Some(html) = root.owner_document().and_then(|d| d.document_element())
            && html.tag_name() == "HTML"
            && root.parent_element().is_some_and(|p| p.tag_name() == "BODY")
        {
            let _ = html.set_attribute("lang", options.locale.tag());
            let _ = html.set_attribute("dir", options.locale.direction());
        }
        for field in &self.0.fields {
            field.set_locale(options.locale);
            field.input.set_disabled(options.disabled);
        }
        // `hidden` takes the postal field out of the layout and the tab order.
        self.field(FieldKind::Postal).wrapper.set_hidden(!options.postal);
        theme::apply(&root.style(), &options.theme);
        self.render();
    }

    /// Merges an `update` message into the options and applies them.
    pub fn update(&self, message: &JsValue) {
        self.0.state.borrow_mut().options.update_from(message);
        self.apply_options();
        self.emit_change();
    }

    fn active(&self) -> impl Iterator<Item = &Field> {
        let postal = self.0.state.borrow().options.postal;
        self.0.fields.iter().filter(move |f| postal || f.kind != FieldKind::Postal)
    }

    fn check(&self, kind: FieldKind) -> Check {
        let text = self.field(kind).input.value();
        match kind {
            FieldKind::Number => checks::check_number(&text),
            FieldKind::Expiry => checks::check_expiry(&text, now_unix_seconds()),
            FieldKind::Cvc => checks::check_cvc(&text, checks::brand_of(&self.field(FieldKind::Number).input.value())),
            FieldKind::Postal => checks::check_postal(&text),
        }
    }

    /// The error each field shows now: a failure on it, else its own error once it is touched, the
    /// form was submitted, or the error is certain.
    fn visible_error(&self, kind: FieldKind, state: &State) -> Option<Text> {
        if let Some((Some(failed), text)) = state.failure
            && failed == kind
        {
            return Some(text);
        }
        let check = self.check(kind);
        let touched = state.touched[index(kind)];
        let show = state.submitted || (touched && !check.empty) || check.certain;
        check.error.filter(|_| show)
    }

    fn render(&self) {
        let state = self.0.state.borrow();
        let locale = state.options.locale;
        for field in &self.0.fields {
            // A hidden field (postal code off) never shows an error: nobody could see or fix it.
            let shown = state.options.postal || field.kind != FieldKind::Postal;
            let error = self.visible_error(field.kind, &state).filter(|_| shown);
            field.show_error(error.map(|text| text.get(locale)));
            field.set_complete(self.check(field.kind).complete);
        }
        let form_failure = match state.failure {
            Some((None, text)) => Some(text.get(locale)),
            _ => None,
        };
        if self.0.form_error.text_content().as_deref().unwrap_or("") != form_failure.unwrap_or("") {
            self.0.form_error.set_text_content(form_failure);
        }
        let number = self.field(FieldKind::Number).input.value();
        let brands = detect_brands(&checks::digits_only(&number));
        let primary = brands.primary().map_or("", |b| b.as_str());
        let _ = self.0.brand.set_attribute("data-brand", primary);
        let names: Vec<&str> = brands.all().map(|b| brand_name(b.as_str())).collect();
        self.0.brand.set_text_content(Some(&names.join(" · ")));
    }

    /// The `change` payload: brand, complete, empty and the first error shown, if any.
    pub fn change_payload(&self) -> Object {
        let payload = js::object();
        let brand = checks::brand_of(&self.field(FieldKind::Number).input.value());
        js::set(&payload, "brand", brand.map_or("", |b| b.as_str()));
        let checks: Vec<Check> = self.active().map(|f| self.check(f.kind)).collect();
        js::set(&payload, "complete", checks.iter().all(|c| c.complete));
        js::set(&payload, "empty", checks.iter().all(|c| c.empty));
        js::set(&payload, "error", self.first_error().map_or(JsValue::NULL, |e| e.into()));
        payload
    }

    /// The first error on screen as `{code, message, field?}`.
    fn first_error(&self) -> Option<Object> {
        let state = self.0.state.borrow();
        let shown = self.active().find_map(|f| self.visible_error(f.kind, &state).map(|text| (Some(f.kind), text)));
        let (field, text) = shown.or(match state.failure {
            Some((None, text)) => Some((None, text)),
            _ => None,
        })?;
        Some(error_object(field, text, state.options.locale))
    }

    fn emit_change(&self) {
        self.emit("change", self.change_payload());
    }

    fn on_input(&self, kind: FieldKind, event: &Event) {
        let input = event.dyn_ref::<InputEvent>();
        // Mid-composition text (an IME) is not final; reformatting it would break the composition.
        if input.is_some_and(|e| e.is_composing()) {
            return;
        }
        let input_type = input.map(|e| e.input_type()).unwrap_or_default();
        let inserting = input_type.starts_with("insert");
        self.reformat(kind, &input_type);
        {
            let mut state = self.0.state.borrow_mut();
            // Editing a field answers the failure shown on it; a form-level failure goes on any edit.
            if matches!(state.failure, Some((None, _))) || state.failure.is_some_and(|(f, _)| f == Some(kind)) {
                state.failure = None;
            }
        }
        self.render();
        self.emit_change();
        if inserting {
            self.advance_from(kind);
        }
    }

    /// Rewrites the field's text into its display form and puts the caret back where it belongs.
    fn reformat(&self, kind: FieldKind, input_type: &str) {
        let input = &self.field(kind).input;
        let raw = ascii_digits(&input.value());
        // The browser counts the caret in UTF-16 units; core counts characters.
        let caret = input.selection_start().ok().flatten().map_or(raw.chars().count(), |c| char_index(&raw, c));
        let previous = self.0.state.borrow().previous[index(kind)].clone();
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
        // A backspace that removed only a separator takes the digit before it instead.
        let over_separator = input_type == "deleteContentBackward" && digits(&raw) == digits(&previous);
        let (text, caret) = match kind {
            FieldKind::Number => {
                let formatted =
                    if over_separator { backspace(&previous, caret + 1) } else { format_number(&raw, caret) };
                (formatted.text, formatted.caret)
            }
            FieldKind::Expiry => {
                let formatted = if over_separator && !previous.is_empty() {
                    backspace_expiry(&previous, caret + 1)
                } else {
                    format_expiry(&raw, caret, input_type.starts_with("delete"))
                };
                (formatted.text, formatted.caret)
            }
            FieldKind::Cvc => {
                let brand = checks::brand_of(&self.field(FieldKind::Number).input.value());
                let before = raw.chars().take(caret).filter(char::is_ascii_digit).count();
                let digits: String =
                    raw.chars().filter(char::is_ascii_digit).take(checks::cvc_length_max(brand)).collect();
                let caret = before.min(digits.len());
                (digits, caret)
            }
            FieldKind::Postal => {
                let cleaned = checks::clean_postal(&raw);
                let caret = caret.min(cleaned.chars().count());
                (cleaned, caret)
            }
        };
        if text != input.value() {
            input.set_value(&text);
        }
        // Our texts are ASCII except the postal code; convert back to UTF-16 units for the browser.
        let caret_utf16 = text.chars().take(caret).map(char::len_utf16).sum::<usize>() as u32;
        let _ = input.set_selection_range(caret_utf16, caret_utf16);
        self.0.state.borrow_mut().previous[index(kind)] = text;
    }

    /// Moves focus on once a field is complete and the caret is at its end, as people expect.
    fn advance_from(&self, kind: FieldKind) {
        let input = &self.field(kind).input;
        let at_end = input.selection_start().ok().flatten() == Some(input.value().encode_utf16().count() as u32);
        let full = match kind {
            FieldKind::Number => {
                // A prefix of a longer card can pass Luhn (4012 8888 8888 1 of 4012 8888 8888 1881): move on
                // only at the length nearly every card of the brand has.
                let number = input.value();
                let length = checks::digits_only(&number).len();
                checks::brand_of(&number).is_some_and(|brand| length >= checks::usual_length(brand))
            }
            FieldKind::Cvc => {
                let brand = checks::brand_of(&self.field(FieldKind::Number).input.value());
                input.value().len() == checks::cvc_length_max(brand)
            }
            _ => true,
        };
        if !at_end || !full || !self.check(kind).complete {
            return;
        }
        let next = self.active().skip_while(|f| f.kind != kind).nth(1);
        if let Some(next) = next {
            let _ = next.input.focus();
        }
    }

    /// Enter asks the page to submit (a form inside a frame cannot submit the page's own); backspace in an
    /// empty field goes back to the end of the previous one.
    fn on_keydown(&self, kind: FieldKind, event: &Event) {
        let Some(key) = event.dyn_ref::<KeyboardEvent>() else { return };
        if key.key() == "Enter" && !key.is_composing() {
            event.prevent_default();
            self.emit("submit", js::object());
            return;
        }
        if key.key() != "Backspace" || !self.field(kind).input.value().is_empty() {
            return;
        }
        let previous = self.active().take_while(|f| f.kind != kind).last();
        if let Some(previous) = previous {
            event.prevent_default();
            let _ = previous.input.focus();
            let end = previous.input.value().encode_utf16().count() as u32;
            let _ = previous.input.set_selection_range(end, end);
        }
    }

    fn on_focus(&self, kind: FieldKind) {
        let _ = self.0.root.class_list().add_1("pg-focused");
        let payload = js::object();
        js::set(&payload, "field", kind.name());
        self.emit("focus", payload);
    }

    fn on_blur(&self, kind: FieldKind) {
        let _ = self.0.root.class_list().remove_1("pg-focused");
        let empty = self.field(kind).input.value().is_empty();
        self.0.state.borrow_mut().touched[index(kind)] |= !empty;
        self.render();
        let payload = js::object();
        js::set(&payload, "field", kind.name());
        self.emit("blur", payload);
        self.emit_change();
    }

    /// Shows every error and answers the card data, or the first field in error (focused).
    pub fn validate(&self) -> Result<CardValues, (FieldKind, Text)> {
        self.0.state.borrow_mut().submitted = true;
        self.render();
        let first_error = {
            let state = self.0.state.borrow();
            self.active().find_map(|f| self.visible_error(f.kind, &state).map(|text| (f.kind, text)))
        };
        if let Some((kind, text)) = first_error {
            let _ = self.field(kind).input.focus();
            self.emit_change();
            return Err((kind, text));
        }
        let value = |kind| self.field(kind).input.value();
        let expiry =
            Expiry::parse(&value(FieldKind::Expiry)).map_err(|_| (FieldKind::Expiry, Text::IncompleteExpiry))?;
        let postal = self.0.state.borrow().options.postal;
        Ok(CardValues {
            number: checks::digits_only(&value(FieldKind::Number)),
            exp_month: expiry.month(),
            exp_year: expiry.year(),
            cvc: value(FieldKind::Cvc),
            postal_code: postal.then(|| value(FieldKind::Postal).trim().to_owned()),
        })
    }

    /// Shows a failure (from the edge or the shop's charge) on a field or the form; None clears it.
    pub fn show_failure(&self, failure: Option<(Option<FieldKind>, Text)>) {
        self.0.state.borrow_mut().failure = failure;
        self.render();
        if let Some((Some(kind), _)) = failure {
            let _ = self.field(kind).input.focus();
        }
        self.emit_change();
    }

    /// While a token is requested the fields are read-only, so what is sent is what is shown.
    pub fn set_busy(&self, busy: bool) {
        self.0.state.borrow_mut().busy = busy;
        for field in &self.0.fields {
            field.input.set_read_only(busy);
        }
        let _ = self.0.root.set_attribute("aria-busy", if busy { "true" } else { "false" });
    }

    pub fn is_busy(&self) -> bool {
        self.0.state.borrow().busy
    }

    pub fn locale(&self) -> crate::i18n::Locale {
        self.0.state.borrow().options.locale
    }

    /// Empties every field and forgets errors, as after a successful order.
    pub fn clear(&self) {
        for field in &self.0.fields {
            field.input.set_value("");
        }
        {
            let mut state = self.0.state.borrow_mut();
            state.previous = Default::default();
            state.touched = [false; 4];
            state.submitted = false;
            state.failure = None;
        }
        self.render();
        self.emit_change();
    }

    pub fn focus(&self) {
        let _ = self.field(FieldKind::Number).input.focus();
    }

    /// The form's height in CSS pixels, for the parent to size the iframe.
    pub fn height(&self) -> f64 {
        self.0.root.get_bounding_client_rect().height().ceil()
    }

    pub fn root(&self) -> &HtmlElement {
        &self.0.root
    }
}

/// `{code, message, field?}` as the page receives errors.
pub fn error_object(field: Option<FieldKind>, text: Text, locale: crate::i18n::Locale) -> Object {
    let error = js::object();
    js::set(&error, "code", text.code());
    js::set(&error, "message", text.get(locale));
    if let Some(field) = field {
        js::set(&error, "field", field.name());
    }
    error
}
