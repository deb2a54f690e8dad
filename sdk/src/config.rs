//! The element's configuration: what the loader put in the iframe URL's fragment (never sent to a
//! server, so the page's origin and options stay out of logs) and what `update` messages change later.

use crate::i18n::Locale;
use crate::js;
use paygate_core::api_key::{ApiKey, KeyKind};
use wasm_bindgen::JsValue;
use web_sys::UrlSearchParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Number, expiry, CVC and postal code on one line.
    Row,
    /// Number on its own line, then expiry and CVC, then postal code.
    Split,
}

impl Layout {
    fn parse(text: &str) -> Option<Layout> {
        match text {
            "row" => Some(Layout::Row),
            "split" => Some(Layout::Split),
            _ => None,
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Layout::Row => "pg pg-row",
            Layout::Split => "pg pg-split",
        }
    }
}

/// What the shop may change at any time.
#[derive(Debug, Clone)]
pub struct Options {
    pub locale: Locale,
    pub layout: Layout,
    /// Whether the postal code field is shown (off when the shop collects the address itself).
    pub postal: bool,
    pub disabled: bool,
    /// The theme object (see `theme`), or undefined.
    pub theme: JsValue,
}

impl Default for Options {
    fn default() -> Self {
        Options { locale: Locale::En, layout: Layout::Row, postal: true, disabled: false, theme: JsValue::UNDEFINED }
    }
}

/// A theme is a handful of short strings; its JSON is never longer than this.
const THEME_JSON_CHARS_MAX: usize = 4096;

impl Options {
    /// Applies the members an `update` message carries; absent or malformed members change nothing.
    pub fn update_from(&mut self, message: &JsValue) {
        if let Some(locale) = js::get_string(message, "locale", 16) {
            self.locale = Locale::parse(&locale);
        }
        if let Some(layout) = js::get_string(message, "layout", 16).and_then(|l| Layout::parse(&l)) {
            self.layout = layout;
        }
        if let Some(postal) = js::get_bool(message, "postal") {
            self.postal = postal;
        }
        if let Some(disabled) = js::get_bool(message, "disabled") {
            self.disabled = disabled;
        }
        let style = js::get(message, "style");
        if style.is_object() {
            self.theme = style;
        }
    }
}

#[derive(Debug)]
pub struct Config {
    pub publishable_key: String,
    /// The shop page's origin: the only origin messages are sent to and accepted from.
    pub parent_origin: String,
    pub element_id: String,
    pub options: Options,
}

/// Why the element refuses to start; logged to the console for the shop's developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    PublishableKey,
    Origin,
    ElementId,
}

impl ConfigError {
    pub fn message(self) -> &'static str {
        match self {
            ConfigError::PublishableKey => "Paygate: the iframe needs a publishable key (pk_test_... or pk_live_...)",
            ConfigError::Origin => "Paygate: the iframe needs the embedding page's origin",
            ConfigError::ElementId => "Paygate: the iframe needs an element id",
        }
    }
}

impl Config {
    /// Reads `pk`, `origin`, `id`, `locale`, `layout`, `postal` and `style` from the URL fragment.
    pub fn from_fragment(fragment: &str) -> Result<Config, ConfigError> {
        let params =
            UrlSearchParams::new_with_str(fragment.trim_start_matches('#')).map_err(|_| ConfigError::Origin)?;
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
        let mut options = Options::default();
        let update = js::object();
        for key in ["locale", "layout"] {
            if let Some(value) = params.get(key) {
                js::set(&update, key, value);
            }
        }
        if let Some(postal) = params.get("postal") {
            js::set(&update, "postal", postal != "0");
        }
        if let Some(style) = params.get("style").filter(|s| s.len() <= THEME_JSON_CHARS_MAX) {
            js::set(&update, "style", js_sys::JSON::parse(&style).unwrap_or(JsValue::UNDEFINED));
        }
        options.update_from(&update);
        Ok(Config { publishable_key, parent_origin, element_id, options })
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
