//! One field's DOM: a label, the input with the attributes autofill and assistive technology need, and
//! its error text, which the input names in `aria-describedby`.

use crate::checks::FieldKind;
use crate::i18n::{Locale, Text};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement};

pub struct Field {
    pub kind: FieldKind,
    /// The wrapper: label, box (input and, for the number, the brand), hidden when the field is off.
    pub wrapper: HtmlElement,
    pub label: Element,
    pub input: HtmlInputElement,
    pub error: Element,
}

impl FieldKind {
    fn id(self) -> &'static str {
        match self {
            FieldKind::Number => "pg-number",
            FieldKind::Expiry => "pg-expiry",
            FieldKind::Cvc => "pg-cvc",
            FieldKind::Postal => "pg-postal",
        }
    }

    fn error_id(self) -> &'static str {
        match self {
            FieldKind::Number => "pg-number-error",
            FieldKind::Expiry => "pg-expiry-error",
            FieldKind::Cvc => "pg-cvc-error",
            FieldKind::Postal => "pg-postal-error",
        }
    }

    /// The autofill token browsers use to fill saved cards and addresses.
    fn autocomplete(self) -> &'static str {
        match self {
            FieldKind::Number => "cc-number",
            FieldKind::Expiry => "cc-exp",
            FieldKind::Cvc => "cc-csc",
            FieldKind::Postal => "postal-code",
        }
    }

    pub fn label_text(self) -> Text {
        match self {
            FieldKind::Number => Text::NumberLabel,
            FieldKind::Expiry => Text::ExpiryLabel,
            FieldKind::Cvc => Text::CvcLabel,
            FieldKind::Postal => Text::PostalLabel,
        }
    }

    fn placeholder(self) -> Text {
        match self {
            FieldKind::Number => Text::NumberPlaceholder,
            FieldKind::Expiry => Text::ExpiryPlaceholder,
            FieldKind::Cvc => Text::CvcPlaceholder,
            FieldKind::Postal => Text::PostalPlaceholder,
        }
    }
}

pub fn element(document: &Document, tag: &str, class: &str) -> Result<HtmlElement, JsValue> {
    let element: HtmlElement = document.create_element(tag)?.dyn_into()?;
    element.set_class_name(class);
    Ok(element)
}

impl Field {
    /// Builds the field; `extra` (the brand badge) goes in the box after the input.
    pub fn new(document: &Document, kind: FieldKind, extra: Option<&Element>) -> Result<Field, JsValue> {
        let wrapper = element(document, "div", "pg-field")?;
        wrapper.set_attribute("data-field", kind.name())?;
        let label = document.create_element("label")?;
        label.set_attribute("for", kind.id())?;
        let field_box = element(document, "div", "pg-box")?;
        let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
        input.set_id(kind.id());
        input.set_name(kind.autocomplete());
        input.set_type("text");
        input.set_attribute("autocomplete", kind.autocomplete())?;
        // Numeric keypads on phones; postal codes can hold letters (UK, Canada).
        let mode = if kind == FieldKind::Postal { "text" } else { "numeric" };
        input.set_attribute("inputmode", mode)?;
        input.set_attribute("autocorrect", "off")?;
        input.set_attribute("spellcheck", "false")?;
        input.set_attribute("aria-invalid", "false")?;
        input.set_attribute("aria-required", "true")?;
        let described_by = if kind == FieldKind::Number { "pg-number-error pg-brand" } else { kind.error_id() };
        input.set_attribute("aria-describedby", described_by)?;
        // Digits read left to right in Arabic too; the field aligns with the layout (see card.css).
        input.set_attribute("dir", "ltr")?;
        let error = document.create_element("span")?;
        error.set_id(kind.error_id());
        error.set_class_name("pg-error");
        field_box.append_child(&input)?;
        if let Some(extra) = extra {
            field_box.append_child(extra)?;
        }
        wrapper.append_child(&label)?;
        wrapper.append_child(&field_box)?;
        Ok(Field { kind, wrapper, label, input, error })
    }

    pub fn set_locale(&self, locale: Locale) {
        self.label.set_text_content(Some(self.kind.label_text().get(locale)));
        let _ = self.input.set_attribute("placeholder", self.kind.placeholder().get(locale));
    }

    /// Shows `message` (or nothing) and marks the input invalid for assistive technology and styling.
    pub fn show_error(&self, message: Option<&str>) {
        // Rewriting the same text inside the live region would make screen readers say it again.
        if self.error.text_content().as_deref().unwrap_or("") != message.unwrap_or("") {
            self.error.set_text_content(message);
        }
        let _ = self.input.set_attribute("aria-invalid", if message.is_some() { "true" } else { "false" });
        let _ = self.wrapper.class_list().toggle_with_force("pg-invalid", message.is_some());
    }

    pub fn set_complete(&self, complete: bool) {
        let _ = self.wrapper.class_list().toggle_with_force("pg-complete", complete);
    }
}
