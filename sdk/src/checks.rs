//! What each field's text means: empty, complete, or which error to show and when. The card rules are
//! `paygate-core`'s; this module only decides what a person should be told, and how early.

use crate::i18n::Text;
use paygate_core::card::{Brand, CardNumber, Cvc, Expiry, ExpiryError, detect_brands, digits_of};

/// The four fields, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Number,
    Expiry,
    Cvc,
    Postal,
}

pub const FIELDS: [FieldKind; 4] = [FieldKind::Number, FieldKind::Expiry, FieldKind::Cvc, FieldKind::Postal];

impl FieldKind {
    /// The name the page sees in events and errors.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Number => "number",
            FieldKind::Expiry => "expiry",
            FieldKind::Cvc => "cvc",
            FieldKind::Postal => "postal_code",
        }
    }
}

/// The verdict on one field's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub empty: bool,
    pub complete: bool,
    /// What is wrong, if anything (an empty field is "incomplete").
    pub error: Option<Text>,
    /// True when the error is certain however the person goes on (a full number failing Luhn, month 13):
    /// show it at once instead of waiting for blur.
    pub certain: bool,
}

impl Check {
    fn complete() -> Check {
        Check { empty: false, complete: true, error: None, certain: false }
    }

    fn wrong(empty: bool, error: Text, certain: bool) -> Check {
        Check { empty, complete: false, error: Some(error), certain }
    }
}

/// The brand the number's digits decide so far.
pub fn brand_of(number: &str) -> Option<Brand> {
    detect_brands(&digits_only(number)).primary()
}

/// The ASCII digits of a field's text, in order.
pub fn digits_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

pub fn check_number(text: &str) -> Check {
    let digits = digits_only(text);
    if digits.is_empty() {
        return Check::wrong(true, Text::IncompleteNumber, false);
    }
    if CardNumber::parse(&digits).is_ok() {
        return Check::complete();
    }
    let brands = detect_brands(&digits);
    let Some(brand) = brands.network.or(brands.primary()) else {
        // Enough digits to know no supported network starts this way.
        let certain = digits.len() >= 4 && digits_of(&digits).is_ok();
        return Check::wrong(false, if certain { Text::UnsupportedBrand } else { Text::IncompleteNumber }, certain);
    };
    let longest = usize::from(*brand.lengths().last().unwrap_or(&19));
    // At 16 digits nearly every card is whole (19-digit Visa and UnionPay cards are rare), so a failing
    // check digit is shown then; the message goes away again if more digits make the number valid.
    let usual_length = digits.len() >= 16 && u8::try_from(digits.len()).is_ok_and(|n| brand.lengths().contains(&n));
    if digits.len() >= longest || usual_length {
        Check::wrong(false, Text::InvalidNumber, true)
    } else {
        // Could still become valid with more digits; on blur it is "incomplete" or "invalid" by length.
        let shortest = usize::from(*brand.lengths().first().unwrap_or(&12));
        Check::wrong(false, if digits.len() < shortest { Text::IncompleteNumber } else { Text::InvalidNumber }, false)
    }
}

pub fn check_expiry(text: &str, now_unix_seconds: i64) -> Check {
    let digits = digits_only(text);
    if digits.is_empty() {
        return Check::wrong(true, Text::IncompleteExpiry, false);
    }
    if digits.len() >= 2 && !matches!(digits[..2].parse::<u8>(), Ok(1..=12)) {
        return Check::wrong(false, Text::InvalidExpiryMonth, true);
    }
    if digits.len() < 4 {
        return Check::wrong(false, Text::IncompleteExpiry, false);
    }
    match Expiry::parse(text).and_then(|expiry| expiry.check_at(now_unix_seconds)) {
        Ok(()) => Check::complete(),
        Err(ExpiryError::Expired) => Check::wrong(false, Text::ExpiryInPast, true),
        Err(ExpiryError::InvalidMonth) => Check::wrong(false, Text::InvalidExpiryMonth, true),
        Err(ExpiryError::Malformed) => Check::wrong(false, Text::IncompleteExpiry, false),
        Err(ExpiryError::InvalidYear | ExpiryError::TooFarAhead) => Check::wrong(false, Text::InvalidExpiryYear, true),
    }
}

/// The CVC for the card's brand; before the brand is known any 3 or 4 digits pass here and the edge
/// checks again with the full number.
pub fn check_cvc(text: &str, brand: Option<Brand>) -> Check {
    let empty = text.is_empty();
    let fits = match brand {
        Some(brand) => Cvc::parse(text, brand).is_ok(),
        None => (3..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()),
    };
    if fits { Check { empty, ..Check::complete() } } else { Check::wrong(empty, Text::IncompleteCvc, false) }
}

/// The length nearly every card of the brand has: where the form may move on by itself.
pub fn usual_length(brand: Brand) -> usize {
    match brand {
        Brand::Amex => 15,
        Brand::Diners => 14,
        _ => 16,
    }
}

/// The longest CVC the brand allows (4 until the brand is known, since Amex's has four digits).
pub fn cvc_length_max(brand: Option<Brand>) -> usize {
    brand.map_or(4, |b| usize::from(*b.cvc_lengths().iter().max().unwrap_or(&4)))
}

/// Postal codes differ by country; anything of two or more letters or digits is accepted and the
/// processor's address check has the final word.
pub fn check_postal(text: &str) -> Check {
    let significant = text.chars().filter(|c| c.is_alphanumeric()).count();
    match significant {
        0 => Check::wrong(true, Text::IncompletePostalCode, false),
        1 => Check::wrong(false, Text::IncompletePostalCode, false),
        _ => Check::complete(),
    }
}

/// Keeps what a postal code may hold (letters, digits, space, dash), at most `POSTAL_CODE_CHARS_MAX`.
pub fn clean_postal(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-').take(POSTAL_CODE_CHARS_MAX).collect()
}

/// The longest postal code in use (Iran's and Brazil's with separators are 10 or fewer).
pub const POSTAL_CODE_CHARS_MAX: usize = 10;
