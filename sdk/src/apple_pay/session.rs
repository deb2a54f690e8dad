//! Apple's `ApplePaySession` (Apple Pay on the web, Safari), which web-sys does not bind. Every call may throw
//! (older Safari refuses a session in a cross-origin frame, a session started outside a click is refused), so
//! every binding is `catch`: a throw is an `Err`, never a trap.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[derive(Clone)]
    pub type ApplePaySession;

    #[wasm_bindgen(constructor, catch)]
    pub fn new(version: u32, request: &JsValue) -> Result<ApplePaySession, JsValue>;

    #[wasm_bindgen(static_method_of = ApplePaySession, js_name = canMakePayments, catch)]
    fn can_make_payments() -> Result<bool, JsValue>;

    #[wasm_bindgen(static_method_of = ApplePaySession, js_name = supportsVersion, catch)]
    fn supports_version(version: u32) -> Result<bool, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn begin(this: &ApplePaySession) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn abort(this: &ApplePaySession) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = completeMerchantValidation)]
    pub fn complete_merchant_validation(this: &ApplePaySession, merchant_session: &JsValue) -> Result<(), JsValue>;

    /// Takes an `ApplePayPaymentAuthorizationResult` (`{status}`), the form of version 3 and later.
    #[wasm_bindgen(method, catch, js_name = completePayment)]
    pub fn complete_payment(this: &ApplePaySession, result: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, setter)]
    pub fn set_onvalidatemerchant(this: &ApplePaySession, handler: &js_sys::Function);

    #[wasm_bindgen(method, setter)]
    pub fn set_onpaymentauthorized(this: &ApplePaySession, handler: &js_sys::Function);

    #[wasm_bindgen(method, setter)]
    pub fn set_oncancel(this: &ApplePaySession, handler: &js_sys::Function);
}

/// `ApplePaySession.STATUS_SUCCESS` and `STATUS_FAILURE`, fixed by Apple.
pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_FAILURE: u32 = 1;

/// Whether this browser, in this frame, can show the Apple Pay sheet in `version`: the class exists (Safari),
/// speaks the version, and says the device can pay. Safari before 17 throws in a cross-origin frame: that is a
/// no, not an error.
pub fn available(version: u8) -> bool {
    let Some(window) = web_sys::window() else { return false };
    if !js_sys::Reflect::has(&window, &JsValue::from_str("ApplePaySession")).unwrap_or(false) {
        return false;
    }
    ApplePaySession::supports_version(u32::from(version)).unwrap_or(false)
        && ApplePaySession::can_make_payments().unwrap_or(false)
}
