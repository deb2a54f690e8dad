//! Calls from an element to the edge that serves it (same origin as the iframe), with the publishable key:
//! JSON in, JSON out, never cached, given up after a bound so no element waits forever.

use crate::js;
use js_sys::Object;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestInit, Response};

/// The edge could not be reached, or did not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable;

/// POSTs `body` to `url` (relative to the element's page) and returns the status and the parsed answer
/// (undefined when it is not JSON).
pub async fn post(
    publishable_key: &str,
    url: &str,
    body: &JsValue,
    timeout_ms: i32,
) -> Result<(u16, JsValue), Unreachable> {
    let window = web_sys::window().ok_or(Unreachable)?;
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = Object::new();
    js::set(&headers, "authorization", ["Bearer ", publishable_key].concat());
    js::set(&headers, "content-type", "application/json");
    init.set_headers(&headers);
    // JSON.stringify of the plain objects elements build cannot fail.
    let text = js_sys::JSON::stringify(body).map(String::from).unwrap_or_default();
    init.set_body(&JsValue::from_str(&text));
    // Never let the browser cache or replay a request that may carry card or wallet data.
    init.set_cache(web_sys::RequestCache::NoStore);
    let controller = AbortController::new().map_err(|_| Unreachable)?;
    init.set_signal(Some(&controller.signal()));
    let abort = Closure::once(move || controller.abort());
    let timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(abort.as_ref().unchecked_ref(), timeout_ms)
        .map_err(|_| Unreachable)?;
    let answer = async {
        let answer = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| Unreachable)?;
        let response: Response = answer.dyn_into().map_err(|_| Unreachable)?;
        let json = match response.json() {
            Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED),
            Err(_) => JsValue::UNDEFINED,
        };
        Ok((response.status(), json))
    }
    .await;
    window.clear_timeout_with_handle(timer);
    drop(abort);
    answer
}

/// Copies only what the page may see from the edge's token answer: `{id, card: {brand, last4, exp_month,
/// exp_year}, livemode}`, plus the wallet's `{type, amount, currency}` for an Apple Pay token.
pub fn token_summary(json: &JsValue) -> Option<Object> {
    let id = js::get_string(json, "id", 64).filter(|id| id.starts_with("tok_"))?;
    let card = js::get(json, "card");
    let token = js::object();
    js::set(&token, "id", id);
    let view = js::object();
    js::set(&view, "brand", js::get_string(&card, "brand", 16).unwrap_or_default());
    js::set(&view, "last4", js::get_string(&card, "last4", 4).unwrap_or_default());
    js::set(&view, "exp_month", js::get(&card, "exp_month"));
    js::set(&view, "exp_year", js::get(&card, "exp_year"));
    let wallet = js::get(&card, "wallet");
    if let Some(kind) = js::get_string(&wallet, "type", 16) {
        let copy = js::object();
        js::set(&copy, "type", kind);
        js::set(&copy, "amount", js::get(&wallet, "amount"));
        js::set(&copy, "currency", js::get_string(&wallet, "currency", 3).unwrap_or_default());
        js::set(&view, "wallet", copy);
    }
    js::set(&token, "card", view);
    js::set(&token, "livemode", js::get_bool(json, "livemode").unwrap_or(false));
    Some(token)
}
