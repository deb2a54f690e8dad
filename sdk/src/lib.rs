//! `paygate-sdk`: the browser runtime that runs inside the Paygate card iframe (edge origin). The shop
//! page never loads this module and never sees card data; it talks to the iframe over `postMessage`
//! through the `@paygate/js` loader.
//!
//! Invariant: no card digit leaves this module except inside the tokenize request to the edge. Messages
//! to the page carry brand, completeness, errors and the token, and go only to the page's own origin.

pub mod checks;
pub mod config;
mod field;
pub mod form;
pub mod i18n;
mod js;
pub mod theme;
pub mod tokenize;

use config::Config;
use form::{CardForm, Emit, error_object};
use js_sys::Object;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, ResizeObserver, Window};

/// Starts the element in the iframe: reads the configuration from the URL fragment, checks who embeds
/// it, mounts the form and wires it to the page. The iframe's boot script calls this once.
#[wasm_bindgen]
pub fn boot() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let config = Config::from_fragment(&window.location().hash()?).map_err(|e| JsValue::from_str(e.message()))?;
    let parent = window
        .parent()?
        .filter(|p| !Object::is(p, &window))
        .ok_or("Paygate: the card form runs only inside the page that mounts it")?;
    // Framed by a page of our own origin, the page's scripts could read the fields: the whole point of
    // the iframe is the origin boundary, so refuse to run without it.
    if config.parent_origin == window.location().origin()? {
        return Err("Paygate: the card form must be served from another origin than the page".into());
    }
    // Chromium and WebKit say who embeds us; refuse when it is not the origin we were told to answer.
    let ancestors = js::get(&window.location(), "ancestorOrigins");
    if let Some(list) = ancestors.dyn_ref::<web_sys::DomStringList>()
        && list.get(0).is_some_and(|first| first != config.parent_origin)
    {
        return Err("Paygate: the iframe's origin parameter does not match the embedding page".into());
    }
    let body = document.body().ok_or("no body")?;
    let form = CardForm::mount(&body, config.options.clone(), bridge(&parent, &config))?;
    listen(&window, parent, config, form.clone())?;
    watch_height(&form)?;
    let ready = js::object();
    js::set(&ready, "height", form.height());
    form.emit("ready", ready);
    Ok(())
}

/// Sends to the page, and only to its origin: `postMessage` drops the message if the page navigated.
fn bridge(parent: &Window, config: &Config) -> Emit {
    let parent = parent.clone();
    let origin = config.parent_origin.clone();
    let id = config.element_id.clone();
    Box::new(move |kind, payload: Object| {
        js::set(&payload, "paygate", 1);
        js::set(&payload, "id", id.as_str());
        js::set(&payload, "type", kind);
        let _ = parent.post_message(&payload, &origin);
    })
}

/// Accepts messages only from the embedding window, from the page's origin, for this element.
fn listen(window: &Window, parent: Window, config: Config, form: CardForm) -> Result<(), JsValue> {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let from_parent = event.source().is_some_and(|source| Object::is(&source, &parent));
        let data = event.data();
        if event.origin() != config.parent_origin
            || !from_parent
            || js::get_f64(&data, "paygate") != Some(1.0)
            || js::get_string(&data, "id", 64).as_deref() != Some(config.element_id.as_str())
        {
            return;
        }
        match js::get_string(&data, "type", 32).as_deref() {
            Some("tokenize") => tokenize(&form, &config.publishable_key, &data),
            Some("update") => form.update(&data),
            Some("clear") => form.clear(),
            Some("focus") => form.focus(),
            Some("show_error") => {
                let failure = js::get_string(&data, "code", 64).map(|code| {
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
    });
    window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
    // The listener lives as long as the iframe's page.
    on_message.forget();
    Ok(())
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
        let result = tokenize::request_token(&publishable_key, &card, name.as_deref(), postal_code.as_deref()).await;
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
    let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref())?;
    observer.observe(form.root());
    on_resize.forget();
    Ok(())
}
