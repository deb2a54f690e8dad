//! `paygate-sdk`: the browser runtime that runs inside Paygate's element iframes (edge origin): the card form
//! (feature `card`, `boot`) and the Apple Pay button (feature `apple-pay`, `apple_pay::boot_apple_pay`), each its
//! own WebAssembly build. The shop page never loads this module and never sees card data; it talks to the
//! iframes over `postMessage` through the `@paygate/js` loader.
//!
//! Invariant: no card digit and no Apple Pay payment data leaves this module except inside a request to the
//! edge. Messages to the page carry brand, completeness, errors and the token, and go only to the page's own
//! origin.

#[cfg(feature = "apple-pay")]
pub mod apple_pay;
#[cfg(feature = "card")]
pub mod checks;
#[cfg(feature = "card")]
pub mod config;
mod edge;
#[cfg(feature = "card")]
mod field;
#[cfg(feature = "card")]
pub mod form;
pub mod frame;
pub mod i18n;
mod js;
#[cfg(feature = "card")]
pub mod theme;
#[cfg(feature = "card")]
pub mod tokenize;

#[cfg(feature = "card")]
pub use card::boot;

/// The card element's page.
#[cfg(feature = "card")]
mod card {
    use crate::config::Config;
    use crate::form::{CardForm, error_object};
    use crate::{checks, frame, i18n, js, tokenize};
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    /// Starts the card element in the iframe: reads the configuration from the URL fragment, checks who
    /// embeds it, mounts the form and wires it to the page. The iframe's boot script calls this once.
    #[wasm_bindgen]
    pub fn boot() -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let config = Config::from_fragment(&window.location().hash()?).map_err(|e| JsValue::from_str(&e.message()))?;
        let parent = frame::embedder(&window, &config.identity)?;
        let body = document.body().ok_or("no body")?;
        let form = CardForm::mount(&body, config.options.clone(), frame::bridge(&parent, &config.identity))?;
        let publishable_key = config.identity.publishable_key.clone();
        let listening = form.clone();
        frame::listen(&window, parent, &config.identity, move |kind, data| {
            on_message(&listening, &publishable_key, kind, data)
        })?;
        watch_height(&form)?;
        let ready = js::object();
        js::set(&ready, "height", form.height());
        form.emit("ready", ready);
        Ok(())
    }

    fn on_message(form: &CardForm, publishable_key: &str, kind: &str, data: &JsValue) {
        match kind {
            "tokenize" => tokenize(form, publishable_key, data),
            "update" => form.update(data),
            "clear" => form.clear(),
            "focus" => form.focus(),
            "show_error" => {
                let failure = js::get_string(data, "code", 64).map(|code| {
                    let text = i18n::Text::of_charge_failure(&code);
                    let field = match text {
                        i18n::Text::IncorrectCvc => Some(checks::FieldKind::Cvc),
                        i18n::Text::ExpiredCard => Some(checks::FieldKind::Expiry),
                        _ => None,
                    };
                    (field, text)
                });
                form.show_failure(failure);
            }
            _ => {}
        }
    }

    /// Runs one tokenize request and answers `tokenized` with the page's request number.
    fn tokenize(form: &CardForm, publishable_key: &str, data: &JsValue) {
        let request = js::get(data, "request");
        let emitter = form.clone();
        let answer = move |key: &str, value: JsValue| {
            let payload = js::object();
            js::set(&payload, "request", request.clone());
            js::set(&payload, key, value);
            emitter.emit("tokenized", payload);
        };
        let locale = form.locale();
        if form.is_busy() {
            let error = error_object(None, i18n::Text::ProcessingError, locale);
            js::set(&error, "code", "tokenize_in_progress");
            return answer("error", error.into());
        }
        let card = match form.validate() {
            Ok(card) => card,
            Err((field, text)) => {
                let error = error_object(Some(field), text, locale);
                js::set(&error, "code", "validation_error");
                js::set(&error, "reason", text.code());
                return answer("error", error.into());
            }
        };
        let name = js::get_string(data, "name", tokenize::NAME_CHARS_MAX);
        let postal_code = js::get_string(data, "postalCode", checks::POSTAL_CODE_CHARS_MAX);
        let form = form.clone();
        let publishable_key = publishable_key.to_owned();
        form.set_busy(true);
        wasm_bindgen_futures::spawn_local(async move {
            let result =
                tokenize::request_token(&publishable_key, &card, name.as_deref(), postal_code.as_deref()).await;
            drop(card);
            form.set_busy(false);
            match result {
                Ok(token) => {
                    form.show_failure(None);
                    answer("token", token.into());
                }
                Err(refusal) => {
                    form.show_failure(Some((refusal.field, refusal.text)));
                    let error = error_object(refusal.field, refusal.text, locale);
                    if let Some(field) = refusal.page_field {
                        js::set(&error, "field", field);
                    }
                    answer("error", error.into());
                }
            }
        });
    }

    /// Reports the form's height to the page whenever it changes (errors appear, fonts load, layout flips).
    fn watch_height(form: &CardForm) -> Result<(), JsValue> {
        let last = Rc::new(Cell::new(form.height()));
        let watched = form.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            let height = watched.height();
            if height != last.get() {
                last.set(height);
                let payload = js::object();
                js::set(&payload, "height", height);
                watched.emit("resize", payload);
            }
        });
        let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref())?;
        observer.observe(form.root());
        on_resize.forget();
        Ok(())
    }
}
