//! The element's configuration: what the loader put in the iframe URL's fragment (never sent to a
//! server, so the page's origin and options stay out of logs) and what `update` messages change later.

pub use crate::frame::ConfigError;
use crate::frame::{Identity, fragment_params};
use crate::i18n::Locale;
use crate::js;
use wasm_bindgen::JsValue;

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
    pub identity: Identity,
    pub options: Options,
}

impl Config {
    /// Reads `pk`, `origin`, `id`, `locale`, `layout`, `postal` and `style` from the URL fragment.
    pub fn from_fragment(fragment: &str) -> Result<Config, ConfigError> {
        let params = fragment_params(fragment)?;
        let identity = Identity::from_params(&params)?;
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
        Ok(Config { identity, options })
    }
}
