//! Runs every shared test vector that applies to core (see testdata/README.md for provenance): the ISO
//! 4217 table, the processors' test cards, the Mada BIN list and the Standard Webhooks vectors. Vectors
//! are read from the JSON at test time, so a change to the data is a change to the test.

use paygate_core::card::{Brand, CardNumber, CardNumberError, Cvc, detect_brands, luhn_valid, mada_bins};
use paygate_core::money::{Currency, CurrencyError};
use paygate_core::signature::webhook::{WebhookHeaders, WebhookSecret, WebhookVerifyError, verify};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn currency_table_matches_iso_4217_list_one() {
    let doc = load("iso4217.json");
    let rows = doc["currencies"].as_array().unwrap();
    assert_eq!(rows.len(), 178);
    assert_eq!(Currency::table().len(), rows.len());
    for row in rows {
        let code = row["code"].as_str().unwrap();
        let info = Currency::table().iter().find(|c| c.code == code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(u64::from(info.numeric), row["numeric"].as_str().unwrap().parse::<u64>().unwrap(), "{code}");
        assert_eq!(info.is_fund, row["is_fund"].as_bool().unwrap(), "{code}");
        match row["minor_units"].as_u64() {
            Some(exponent) => {
                let currency = Currency::parse(&code.to_lowercase()).unwrap();
                assert_eq!(u64::from(currency.exponent()), exponent, "{code}");
                assert_eq!(currency.code(), code);
            }
            None => assert_eq!(Currency::parse(code), Err(CurrencyError::NoMinorUnit), "{code}"),
        }
    }
    let three: Vec<&str> = Currency::all().filter(|c| c.exponent() == 3).map(|c| c.code()).collect();
    assert_eq!(three, ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);
    assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
    assert_eq!(Currency::parse("CLF").unwrap().exponent(), 4);
    assert_eq!(Currency::all().filter(|c| c.exponent() == 0).count(), 17);
    assert_eq!(Currency::parse("BGN"), Err(CurrencyError::Unknown), "BGN left List One on 2026-01-01");
    assert_eq!(Currency::parse("US"), Err(CurrencyError::Malformed));
    assert_eq!(Currency::parse("U$D"), Err(CurrencyError::Malformed));
}

/// Test cards whose source's label disagrees with BIN-range detection, and why we keep the range.
/// Both notes are in the vector file itself.
fn divergent_label(number: &str) -> Option<Brand> {
    match number {
        // Prefix 65 is Discover's IIN range; the source labels it by the issuing product (BC Card/DinaCard).
        "6555900000604105" => Some(Brand::Discover),
        // Prefix 50 is Maestro's range; Checkout.com files this one under Mastercard debit. Adyen's
        // 5000550000000029 in the same range is Maestro, so the range cannot answer both.
        "5000186622346654" => Some(Brand::Maestro),
        _ => None,
    }
}

fn brand_named(name: &str) -> Brand {
    serde_json::from_value(Value::String(name.to_owned())).unwrap()
}

#[test]
fn processor_test_cards_parse_to_their_brand_length_and_cvc() {
    let doc = load("test_cards.json");
    let cards = doc["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 63);
    for card in cards {
        let number = card["number"].as_str().unwrap();
        let expected_valid = card["expected_valid_pan"].as_bool().unwrap();
        assert_eq!(luhn_valid(number), card["luhn_valid"].as_bool().unwrap(), "{number}");
        let parsed = CardNumber::parse(number);
        if !expected_valid {
            assert_eq!(parsed, Err(CardNumberError::LuhnFailed), "{number}");
            continue;
        }
        let parsed = parsed.unwrap_or_else(|e| panic!("{number}: {e}"));
        assert_eq!(parsed.len() as u64, card["length"].as_u64().unwrap(), "{number}");
        let label = card["brand"].as_str().unwrap();
        let expected = divergent_label(number).unwrap_or_else(|| brand_named(label));
        assert_eq!(parsed.brand(), expected, "{number} labelled {label}");
        let cvc_length = card["cvc_length"].as_u64().unwrap() as usize;
        let cvc = "7".repeat(cvc_length);
        assert!(Cvc::parse(&cvc, parsed.brand()).is_ok(), "{number}: CVC of {cvc_length} digits");
        assert_eq!(parsed.masked().len(), parsed.len());
        assert!(parsed.masked().ends_with(&number[number.len() - 4..]));
    }
}

/// Pads a BIN to a 16-digit number with a valid check digit.
fn number_with_bin(bin: &str) -> String {
    let mut body = format!("{bin:0<15}");
    body.truncate(15);
    (0..10).map(|d| format!("{body}{d}")).find(|n| luhn_valid(n)).unwrap()
}

#[test]
fn every_mada_bin_is_detected_with_its_co_badge() {
    let doc = load("mada_bins.json");
    let bins: Vec<&str> = doc["bins"].as_array().unwrap().iter().map(|b| b["bin"].as_str().unwrap()).collect();
    assert_eq!(bins.len(), 134);
    assert_eq!(mada_bins().len(), bins.len());
    for bin in &bins {
        assert!(mada_bins().contains(bin), "{bin} missing from the generated table");
        let number = number_with_bin(bin);
        let brands = detect_brands(&number);
        assert!(brands.mada, "{bin}");
        assert_eq!(brands.primary(), Some(Brand::Mada));
        let all: Vec<Brand> = brands.all().collect();
        let two = bin[..2].parse::<u32>().unwrap();
        let four = bin[..4].parse::<u32>().unwrap();
        if bin.starts_with('4') {
            assert_eq!(all, [Brand::Mada, Brand::Visa], "{bin}");
        } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
            assert_eq!(all, [Brand::Mada, Brand::Mastercard], "{bin}");
        } else {
            assert_eq!(all, [Brand::Mada], "{bin}: local-only Mada");
        }
    }
    // Checkout.com's CSV states the co-badge of most BINs; detection must agree with it.
    for row in doc["bins_by_source"]["checkout_magento2_csv"].as_array().unwrap() {
        let bin = row["bin"].as_str().unwrap();
        let network = detect_brands(&number_with_bin(bin)).network;
        // One malformed upstream row (420132, STC Pay) carries no brand label: nothing to compare.
        let Some(label) = row["card_brand"].as_str().map(str::to_lowercase) else {
            continue;
        };
        let in_mastercard_range = (51..=55).contains(&bin[..2].parse::<u32>().unwrap())
            || (2221..=2720).contains(&bin[..4].parse::<u32>().unwrap());
        let expected = if label.contains("visa") {
            Some(Brand::Visa)
        } else if label.contains("master") && in_mastercard_range {
            Some(Brand::Mastercard)
        } else {
            // "Local Only", no label, and seven BINs (5888xx, 5852xx, 605141...) that the CSV calls
            // MasterCard co-badged although they sit in Maestro ranges, next to "Local Only" BINs of the
            // same ranges (588845). The range cannot tell those apart, so they report Mada alone.
            None
        };
        assert_eq!(network, expected, "{bin} labelled {label:?}");
    }
    for card in doc["test_cards"].as_array().unwrap() {
        let number = card["number"].as_str().unwrap();
        let parsed = CardNumber::parse(number).unwrap();
        assert_eq!(parsed.brands().mada, card["bin6_in_mada_union"].as_bool().unwrap(), "{number}");
    }
}

fn headers_of(vector: &Value) -> Result<WebhookHeaders<'_>, WebhookVerifyError> {
    WebhookHeaders::from_lookup(|name| vector["headers"][name].as_str())
}

#[test]
fn standard_webhooks_vectors_sign_and_verify() {
    let doc = load("standard-webhooks-vectors.json");
    let mut checked = 0;
    for vector in doc["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let id = vector["msg_id"].as_str().unwrap();
        let timestamp = vector["timestamp"].as_i64().unwrap();
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let headers = headers_of(vector).unwrap();
        // The vectors' timestamps are in the past: verify with a clock set to them.
        let now = timestamp + 10;
        if let Some(secret) = vector["secret"].as_str() {
            let secret = WebhookSecret::parse(secret).unwrap();
            assert_eq!(secret.sign(id, timestamp, payload), vector["expected_signature"].as_str().unwrap(), "{name}");
            assert_eq!(verify(&secret, &headers, payload, now), Ok(()), "{name}");
        } else {
            for (which, expect) in vector["expect_valid_with_secret"].as_object().unwrap() {
                let secret = match vector["secrets"][which].as_str() {
                    Some(s) => WebhookSecret::parse(s).unwrap(),
                    None => WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
                };
                if let Some(sig) = vector[format!("expected_signature_{which}")].as_str() {
                    assert_eq!(secret.sign(id, timestamp, payload), sig, "{name} {which}");
                }
                let ok = verify(&secret, &headers, payload, now).is_ok();
                assert_eq!(ok, expect.as_bool().unwrap(), "{name} with {which} secret");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
    for vector in doc["negative_vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let secret = WebhookSecret::parse(vector["secret"].as_str().unwrap()).unwrap();
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let result = headers_of(vector).and_then(|h| {
            let now = h.timestamp.parse::<i64>().unwrap_or(0);
            verify(&secret, &h, payload, now)
        });
        assert!(result.is_err(), "{name} must fail");
        checked += 1;
    }
    assert_eq!(checked, 13);
}
