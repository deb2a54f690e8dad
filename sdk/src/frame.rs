//! What every element's iframe does the same way: read who it is from the URL fragment, refuse to run
//! unless a page of another origin embeds it, and talk to that page only, over `postMessage`.

use crate::js;
use js_sys::Object;
use paygate_core::api_key::{ApiKey, KeyKind};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, UrlSearchParams, Window};

/// Sends `(type, payload)` to the page.
pub type Emit = Box<dyn Fn(&'static str, Object)>;

/// Who the element is: the loader puts these in the iframe URL's fragment, which browsers never send to a
/// server, so the key and the shop's origin stay out of logs.
#[derive(Debug, Clone)]
pub struct Identity {
    pub publishable_key: String,
    /// The shop page's origin: the only origin messages are sent to and accepted from.
    pub parent_origin: String,
    pub element_id: String,
}

/// Why the element refuses to start; logged to the console for the shop's developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    PublishableKey,
    Origin,
    ElementId,
    /// A mount option of the Apple Pay element (its name).
    Option(&'static str),
}

impl ConfigError {
    pub fn message(self) -> String {
        match self {
            ConfigError::PublishableKey => {
                "Paygate: the iframe needs a publishable key (pk_test_... or pk_live_...)".to_owned()
            }
            ConfigError::Origin => "Paygate: the iframe needs the embedding page's origin".to_owned(),
            ConfigError::ElementId => "Paygate: the iframe needs an element id".to_owned(),
            ConfigError::Option(name) => ["Paygate: the element's ", name, " option is not valid"].concat(),
        }
    }
}

/// The fragment's parameters (`#pk=…&origin=…`).
pub fn fragment_params(fragment: &str) -> Result<UrlSearchParams, ConfigError> {
    UrlSearchParams::new_with_str(fragment.trim_start_matches('#')).map_err(|_| ConfigError::Origin)
}

impl Identity {
    /// Reads `pk`, `origin` and `id`.
    pub fn from_params(params: &UrlSearchParams) -> Result<Identity, ConfigError> {
        let publishable_key = params.get("pk").unwrap_or_default();
        match ApiKey::parse(&publishable_key) {
            Ok(key) if key.kind() == KeyKind::Publishable => {}
            _ => return Err(ConfigError::PublishableKey),
        }
        let parent_origin = params.get("origin").unwrap_or_default();
        if !is_origin(&parent_origin) {
            return Err(ConfigError::Origin);
        }
        let element_id = params.get("id").unwrap_or_default();
        if element_id.is_empty() || element_id.len() > 64 || !element_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::ElementId);
        }
        Ok(Identity { publishable_key, parent_origin, element_id })
    }

    /// The page's host name without its port: the domain Apple Pay validates (`shop.example.com`).
    pub fn parent_host(&self) -> &str {
        let rest = self.parent_origin.split_once("://").map_or("", |(_, rest)| rest);
        rest.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(rest, |(host, _)| host)
    }
}

/// `https://shop.example` or `http://127.0.0.1:4242`: a scheme, a host, maybe a port, nothing else.
pub fn is_origin(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")) else {
        return false;
    };
    !rest.is_empty()
        && rest.len() <= 253
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The window embedding this iframe, once it is sure to be the page of `identity`, on another origin.
pub fn embedder(window: &Window, identity: &Identity) -> Result<Window, JsValue> {
    let parent = window
        .parent()?
        .filter(|p| !Object::is(p, window))
        .ok_or("Paygate: the element runs only inside the page that mounts it")?;
    // Framed by a page of our own origin, the page's scripts could reach into the frame: the whole point of
    // the iframe is the origin boundary, so refuse to run without it.
    if identity.parent_origin == window.location().origin()? {
        return Err("Paygate: the element must be served from another origin than the page".into());
    }
    // Chromium and WebKit say who embeds us; refuse when it is not the origin we were told to answer.
    let ancestors = js::get(&window.location(), "ancestorOrigins");
    if let Some(list) = ancestors.dyn_ref::<web_sys::DomStringList>()
        && list.get(0).is_some_and(|first| first != identity.parent_origin)
    {
        return Err("Paygate: the iframe's origin parameter does not match the embedding page".into());
    }
    Ok(parent)
}

/// Sends to the page, and only to its origin: `postMessage` drops the message if the page navigated.
pub fn bridge(parent: &Window, identity: &Identity) -> Emit {
    let parent = parent.clone();
    let origin = identity.parent_origin.clone();
    let id = identity.element_id.clone();
    Box::new(move |kind, payload: Object| {
        js::set(&payload, "paygate", 1);
        js::set(&payload, "id", id.as_str());
        js::set(&payload, "type", kind);
        let _ = parent.post_message(&payload, &origin);
    })
}

/// Calls `on(type, message)` for messages from the embedding window, from the page's origin, for this
/// element; every other message is ignored.
pub fn listen(
    window: &Window,
    parent: Window,
    identity: &Identity,
    mut on: impl FnMut(&str, &JsValue) + 'static,
) -> Result<(), JsValue> {
    let origin = identity.parent_origin.clone();
    let id = identity.element_id.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let from_parent = event.source().is_some_and(|source| Object::is(&source, &parent));
        let data = event.data();
        if event.origin() != origin
            || !from_parent
            || js::get_f64(&data, "paygate") != Some(1.0)
            || js::get_string(&data, "id", 64).as_deref() != Some(id.as_str())
        {
            return;
        }
        if let Some(kind) = js::get_string(&data, "type", 32) {
            on(&kind, &data);
        }
    });
    window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
    // The listener lives as long as the iframe's page.
    on_message.forget();
    Ok(())
}
