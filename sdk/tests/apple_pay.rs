//! Runs in headless Chromium (`wasm-pack test --headless --chrome`): the Apple Pay element's options as the
//! iframe reads them from its URL fragment and from `update` messages, and the domain it validates. The whole
//! flow (button, session, edge, token) runs end to end in examples/shop/tests/apple_pay.e2e.test.mjs.

use paygate_sdk::apple_pay::settings::Settings;
use paygate_sdk::frame::{ConfigError, Identity, fragment_params};
use paygate_sdk::i18n::Locale;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn settings(fragment: &str) -> Result<Settings, ConfigError> {
    Settings::from_params(&fragment_params(fragment).unwrap())
}

const GOOD: &str = "#amount=1999&currency=SAR&country=SA&label=Souq&locale=ar&buttonType=buy";

#[wasm_bindgen_test]
fn options_come_from_the_fragment_and_a_saudi_merchant_gets_mada() {
    let read = settings(GOOD).unwrap();
    assert_eq!((read.amount, read.currency.as_str(), read.label.as_str()), (1999, "SAR", "Souq"));
    assert_eq!(read.locale, Locale::Ar);
    assert_eq!((read.button_type, read.button_style), ("buy", "black"), "black is the default style");
    let sheet = read.sheet().unwrap();
    assert_eq!(sheet.version, 5);
    assert!(sheet.supported_networks.contains(&"mada"));
    assert_eq!(sheet.total.amount, "19.99");
}

#[wasm_bindgen_test]
fn each_bad_option_is_named() {
    for (fragment, option) in [
        ("#currency=USD&country=US&label=Shop", "amount"),
        ("#amount=-5&currency=USD&country=US&label=Shop", "amount"),
        ("#amount=19.99&currency=USD&country=US&label=Shop", "amount"),
        ("#amount=1999&currency=DOLLARS&country=US&label=Shop", "currency"),
        ("#amount=1999&currency=USD&country=usa&label=Shop", "country"),
        ("#amount=1999&currency=USD&country=US", "label"),
        ("#amount=1999&currency=USD&country=US&label=Shop&buttonType=pay", "buttonType"),
        ("#amount=1999&currency=USD&country=US&label=Shop&buttonStyle=red", "buttonStyle"),
    ] {
        assert_eq!(settings(fragment).err(), Some(ConfigError::Option(option)), "{fragment}");
    }
}

#[wasm_bindgen_test]
fn update_changes_the_next_payment_and_ignores_what_would_break_the_sheet() {
    let mut read = settings(GOOD).unwrap();
    read.update_from(&js_sys::JSON::parse(r#"{"amount":2500,"label":"Souq (2)","locale":"en"}"#).unwrap());
    assert_eq!((read.amount, read.label.as_str(), read.locale), (2500, "Souq (2)", Locale::En));
    for junk in [
        JsValue::NULL,
        JsValue::from_str("update"),
        js_sys::JSON::parse(r#"{"amount":-1}"#).unwrap(),
        js_sys::JSON::parse(r#"{"amount":12.5}"#).unwrap(),
        js_sys::JSON::parse(r#"{"amount":1e300}"#).unwrap(),
        js_sys::JSON::parse(r#"{"label":""}"#).unwrap(),
        js_sys::JSON::parse(r#"{"amount":"3000","currency":"EUR"}"#).unwrap(),
    ] {
        read.update_from(&junk);
    }
    assert_eq!((read.amount, read.currency.as_str(), read.label.as_str()), (2500, "SAR", "Souq (2)"));
}

#[wasm_bindgen_test]
fn the_domain_validated_is_the_pages_host_without_its_port() {
    let key = format!("pk_test_{}", "a1B2c3D4".repeat(4));
    let identity = |origin: &str| {
        Identity::from_params(&fragment_params(&format!("#pk={key}&origin={origin}&id=ab12")).unwrap()).unwrap()
    };
    assert_eq!(identity("https://shop.example.com").parent_host(), "shop.example.com");
    assert_eq!(identity("http://shop.paygate.test:4242").parent_host(), "shop.paygate.test");
}
