//! A validated card number (PAN) and CVC. Both are secrets: their `Debug` output is masked and neither
//! implements `Display`, so formatting one into a log line takes a deliberate call.

use super::brand::{Brand, Brands, detect_brands};
use super::luhn::luhn_valid;
use core::fmt;

/// ISO/IEC 7812 allows 8 to 19 digits; no scheme we accept issues fewer than 12.
pub const PAN_LENGTH_MIN: usize = 12;
pub const PAN_LENGTH_MAX: usize = 19;

/// Input longer than this is rejected before any other work: nobody types 64 characters for a card.
const PAN_INPUT_CHARS_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardNumberError {
    #[error("card number is empty")]
    Empty,
    #[error("card number may contain only digits, spaces and dashes")]
    InvalidCharacters,
    #[error("card number is too short")]
    TooShort,
    #[error("card number is too long")]
    TooLong,
    #[error("card number has the wrong length for its brand")]
    WrongLengthForBrand,
    #[error("card number fails the check digit")]
    LuhnFailed,
    #[error("card brand is not supported")]
    UnsupportedBrand,
}

/// Strips the separators people type or paste (spaces, dashes, non-breaking spaces) and returns the
/// digits, or an error naming the first problem.
pub fn digits_of(input: &str) -> Result<String, CardNumberError> {
    if input.chars().count() > PAN_INPUT_CHARS_MAX {
        return Err(CardNumberError::TooLong);
    }
    let mut digits = String::with_capacity(PAN_LENGTH_MAX);
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '\u{a0}' | '\t' => {}
            _ => return Err(CardNumberError::InvalidCharacters),
        }
    }
    if digits.is_empty() {
        return Err(CardNumberError::Empty);
    }
    Ok(digits)
}

#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    digits: String,
    brands: Brands,
}

impl CardNumber {
    /// Parses typed or pasted input: separators are removed, then length, brand and Luhn are checked.
    pub fn parse(input: &str) -> Result<Self, CardNumberError> {
        let digits = digits_of(input)?;
        if digits.len() < PAN_LENGTH_MIN {
            return Err(CardNumberError::TooShort);
        }
        if digits.len() > PAN_LENGTH_MAX {
            return Err(CardNumberError::TooLong);
        }
        let brands = detect_brands(&digits);
        let primary = brands.primary().ok_or(CardNumberError::UnsupportedBrand)?;
        // A co-badged card must fit its network's lengths too: a 17-digit "Visa+Mada" is not a card.
        let fits = |b: Brand| b.lengths().contains(&(digits.len() as u8));
        if !brands.all().all(fits) {
            return Err(CardNumberError::WrongLengthForBrand);
        }
        debug_assert!(fits(primary));
        if !luhn_valid(&digits) {
            return Err(CardNumberError::LuhnFailed);
        }
        Ok(CardNumber { digits, brands })
    }

    pub fn brands(&self) -> Brands {
        self.brands
    }

    /// The brand to display and route by (Mada for co-badged Mada cards).
    pub fn brand(&self) -> Brand {
        // parse() only builds numbers with a primary brand.
        self.brands.primary().unwrap_or(Brand::Visa)
    }

    /// The issuing country (ISO 3166-1 alpha-2) where the number alone says it: Mada cards are issued in
    /// Saudi Arabia. `None` otherwise (a BIN table would be needed).
    pub fn issuing_country(&self) -> Option<&'static str> {
        self.brands.all().any(|b| b == Brand::Mada).then_some("SA")
    }

    /// The first six digits: the classic BIN, safe to store and show (PCI DSS 3.4).
    pub fn bin6(&self) -> &str {
        &self.digits[..6]
    }

    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    pub fn len(&self) -> usize {
        self.digits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }

    /// BIN and last four with the middle masked: `424242******4242`.
    pub fn masked(&self) -> String {
        let hidden = self.digits.len() - 10;
        format!("{}{}{}", self.bin6(), "*".repeat(hidden), self.last4())
    }

    /// The full digits. Only the vault and the processor request builder may call this.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CvcError {
    #[error("security code may contain only digits")]
    NotDigits,
    #[error("security code has the wrong length for the card brand")]
    WrongLength,
}

/// A card security code, checked against the brand's allowed lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Parses a CVC for `brand`. Leading zeros are kept: "012" is a valid CVC, not the number 12.
    /// An empty string is accepted only where the brand allows cards without a CVC (Maestro).
    pub fn parse(input: &str, brand: Brand) -> Result<Self, CvcError> {
        let trimmed = input.trim();
        if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CvcError::NotDigits);
        }
        // A length that does not fit in u8 is certainly not an allowed one.
        let length = u8::try_from(trimmed.len()).map_err(|_| CvcError::WrongLength)?;
        if !brand.cvc_lengths().contains(&length) {
            return Err(CvcError::WrongLength);
        }
        Ok(Cvc(trimmed.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The digits. Only the vault and the processor request builder may call this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_removed_and_other_characters_rejected() {
        assert_eq!(CardNumber::parse("4242 4242-4242\u{a0}4242").unwrap().expose_digits(), "4242424242424242");
        assert_eq!(CardNumber::parse("4242x4242"), Err(CardNumberError::InvalidCharacters));
        assert_eq!(CardNumber::parse("  "), Err(CardNumberError::Empty));
        assert_eq!(CardNumber::parse("4242"), Err(CardNumberError::TooShort));
        assert_eq!(CardNumber::parse(&"4".repeat(20)), Err(CardNumberError::TooLong));
        assert_eq!(CardNumber::parse(&"4".repeat(100)), Err(CardNumberError::TooLong));
        assert_eq!(CardNumber::parse("1234567890123452"), Err(CardNumberError::UnsupportedBrand));
        // A 17-digit Visa-range number that passes Luhn is still the wrong length for Visa.
        assert_eq!(CardNumber::parse("42424242424242428"), Err(CardNumberError::WrongLengthForBrand));
    }

    #[test]
    fn debug_output_never_shows_the_middle_digits() {
        let card = CardNumber::parse("4000056655665556").unwrap();
        let shown = format!("{card:?}");
        assert_eq!(shown, "CardNumber(400005******5556)");
        let cvc = Cvc::parse("123", Brand::Visa).unwrap();
        assert!(!format!("{cvc:?}").contains("123"));
    }

    #[test]
    fn cvc_lengths_follow_the_brand() {
        assert!(Cvc::parse("1234", Brand::Amex).is_ok());
        assert_eq!(Cvc::parse("123", Brand::Amex), Err(CvcError::WrongLength));
        assert_eq!(Cvc::parse("012", Brand::Visa).unwrap().expose(), "012");
        assert_eq!(Cvc::parse("12a", Brand::Visa), Err(CvcError::NotDigits));
        assert!(Cvc::parse("", Brand::Maestro).unwrap().is_empty());
        assert_eq!(Cvc::parse("", Brand::Visa), Err(CvcError::WrongLength));
    }
}
