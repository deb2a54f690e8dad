//! Theming: the page's theme object becomes CSS custom properties on the iframe's root element. Only the
//! listed variables exist and values are plain CSS tokens, so a theme cannot load anything (no `url(`)
//! nor break out of its declaration.

use crate::js;
use wasm_bindgen::JsValue;
use web_sys::CssStyleDeclaration;

/// Theme option name → the custom property the element's stylesheet reads.
pub const THEME_VARIABLES: [(&str, &str); 10] = [
    ("colorText", "--pg-text"),
    ("colorBackground", "--pg-bg"),
    ("colorBorder", "--pg-border"),
    ("colorPrimary", "--pg-primary"),
    ("colorDanger", "--pg-danger"),
    ("colorPlaceholder", "--pg-placeholder"),
    ("fontFamily", "--pg-font"),
    ("fontSize", "--pg-font-size"),
    ("borderRadius", "--pg-radius"),
    ("spacing", "--pg-gap"),
];

/// A long font stack fits; anything longer is not a theme value.
const THEME_VALUE_CHARS_MAX: usize = 200;

/// True for values that can only style: no function that fetches, no declaration or rule breakers.
pub fn is_safe_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.chars().count() <= THEME_VALUE_CHARS_MAX
        && !value.contains([';', '{', '}', '<', '>', '\\', '@'])
        && !lower.contains("url(")
        && !lower.contains("image")
        && !lower.contains("expression")
}

/// Applies the known, safe members of `theme` (a plain object) and drops every variable it does not set,
/// so a new theme replaces the old one whole; unknown or unsafe members are ignored.
pub fn apply(style: &CssStyleDeclaration, theme: &JsValue) {
    for (option, property) in THEME_VARIABLES {
        match js::get_string(theme, option, THEME_VALUE_CHARS_MAX).filter(|v| is_safe_value(v)) {
            Some(value) => {
                let _ = style.set_property(property, &value);
            }
            None => {
                let _ = style.remove_property(property);
            }
        }
    }
}
