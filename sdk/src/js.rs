//! Small helpers over `js_sys` for the plain objects the element exchanges with the page and the edge.
//! They never fail loudly: a missing or mistyped member reads as `None`, since messages come from outside.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// A fresh plain object.
pub fn object() -> Object {
    Object::new()
}

/// Sets `key` on `target`. Setting a member on a plain object we created cannot fail.
pub fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

/// Reads `key` from any value.
pub fn get(source: &JsValue, key: &str) -> JsValue {
    if !source.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads a string member of at most `chars_max` characters; longer strings count as absent.
pub fn get_string(source: &JsValue, key: &str, chars_max: usize) -> Option<String> {
    get(source, key).as_string().filter(|s| s.chars().count() <= chars_max)
}

pub fn get_bool(source: &JsValue, key: &str) -> Option<bool> {
    get(source, key).as_bool()
}

pub fn get_f64(source: &JsValue, key: &str) -> Option<f64> {
    get(source, key).as_f64()
}
