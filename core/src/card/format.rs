//! Display formatting of a card number while it is typed, keeping the caret next to the same digit.
//!
//! The SDK hands us the field's text and caret after each edit; we answer the formatted text and where
//! the caret belongs. The caret is counted in characters (the SDK's fields only ever hold ASCII, where
//! characters and the browser's UTF-16 offsets agree).

use super::brand::{Brand, detect_brands};
use super::number::PAN_LENGTH_MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    pub text: String,
    pub caret: usize,
    /// The brand shown while typing, if the digits decide it.
    pub brand: Option<Brand>,
}

/// Formats `input` (digits plus anything a person or a paste left there) as `4242 4242 4242 4242`
/// (Amex `3782 822463 10005`), dropping non-digits and digits beyond the brand's longest length.
pub fn format_number(input: &str, caret: usize) -> Formatted {
    let digits_before_caret = input.chars().take(caret).filter(char::is_ascii_digit).count();
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    layout(&digits, digits_before_caret, Cap::BrandMaximum)
}

/// Backspace at `caret`: deletes the digit before the caret, also when a separator stands between, so
/// that backspacing over "4242 |4242" removes the 2 instead of doing nothing visible. It removes
/// exactly one digit, even when the deletion changes the brand to one with shorter cards.
pub fn backspace(input: &str, caret: usize) -> Formatted {
    let digits_before_caret = input.chars().take(caret).filter(char::is_ascii_digit).count();
    let mut digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits_before_caret == 0 {
        return layout(&digits, 0, Cap::Absolute);
    }
    digits.remove(digits_before_caret - 1);
    layout(&digits, digits_before_caret - 1, Cap::Absolute)
}

/// How many digits a field keeps.
enum Cap {
    /// The detected brand's longest card: extra typed or pasted digits are dropped.
    BrandMaximum,
    /// Any card's longest: a deletion must never take more digits with it.
    Absolute,
}

fn layout(digits: &str, digits_before_caret: usize, cap: Cap) -> Formatted {
    let brands = detect_brands(digits);
    let max_length = match cap {
        Cap::BrandMaximum => brands
            .all()
            .map(|b| usize::from(*b.lengths().last().unwrap_or(&(PAN_LENGTH_MAX as u8))))
            .min()
            .unwrap_or(PAN_LENGTH_MAX),
        Cap::Absolute => PAN_LENGTH_MAX,
    };
    let digits = &digits[..digits.len().min(max_length)];
    let digits_before_caret = digits_before_caret.min(digits.len());
    let groups = match brands.network {
        // Diners shows 4-6-4 for its 14-digit cards and fours once a longer card reveals itself.
        Some(Brand::Diners) if digits.len() <= 14 => Brand::Diners.groups(14),
        Some(network) => network.groups(digits.len()),
        None => Brand::Visa.groups(digits.len()),
    };
    let mut text = String::with_capacity(digits.len() + 4);
    let mut caret = 0;
    let mut group = 0;
    let mut in_group = 0;
    for (i, digit) in digits.chars().enumerate() {
        let size = usize::from(groups.get(group).copied().unwrap_or(4));
        if in_group == size {
            text.push(' ');
            group += 1;
            in_group = 0;
        }
        text.push(digit);
        in_group += 1;
        if i + 1 == digits_before_caret {
            caret = text.len();
        }
    }
    Formatted { text, caret, brand: brands.primary() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, caret: usize, text: &str, expected_caret: usize) {
        let got = format_number(input, caret);
        assert_eq!((got.text.as_str(), got.caret), (text, expected_caret), "input {input:?} caret {caret}");
    }

    #[test]
    fn groups_and_caret_follow_the_digits() {
        check("4242424242424242", 16, "4242 4242 4242 4242", 19);
        check("42424", 5, "4242 4", 6);
        check("4242", 4, "4242", 4);
        check("378282246310005", 15, "3782 822463 10005", 17);
        check("36227206271667", 14, "3622 720627 1667", 16);
        check("6205500000000000004", 19, "6205 5000 0000 0000 004", 23);
        // Typing in the middle keeps the caret after the typed digit.
        check("4242 14242", 6, "4242 1424 2", 6);
        // Pasting with dashes and letters.
        check("4242-4242-4242-4242", 19, "4242 4242 4242 4242", 19);
        check("", 0, "", 0);
        check("ab", 2, "", 0);
    }

    #[test]
    fn digits_beyond_the_brand_maximum_are_dropped() {
        check("42424242424242424242", 20, "4242 4242 4242 4242 424", 23);
        check("3782822463100051", 16, "3782 822463 10005", 17);
        check("5555555555554444999", 19, "5555 5555 5555 4444", 19);
    }

    #[test]
    fn backspace_over_a_separator_removes_the_digit_before_it() {
        let got = backspace("4242 4242", 5);
        assert_eq!((got.text.as_str(), got.caret), ("4244 242", 3));
        let got = backspace("4242 4", 6);
        assert_eq!((got.text.as_str(), got.caret), ("4242", 4));
        let got = backspace("4242", 0);
        assert_eq!((got.text.as_str(), got.caret), ("4242", 0));
        // Deleting the 4 of a 19-digit Visa leaves a Mastercard-like prefix; no other digit goes.
        let got = backspace("4230 0000 0000 0000 009", 1);
        assert_eq!((got.text.as_str(), got.caret), ("2300 0000 0000 0000 09", 0));
        // Deleting the 4 of a 19-digit Visa leaves a Mastercard-like prefix; no other digit goes.
        let got = backspace("4230 0000 0000 0000 009", 1);
        assert_eq!((got.text.as_str(), got.caret), ("2300 0000 0000 0000 09", 0));
    }

    #[test]
    fn brand_is_reported_while_typing() {
        assert_eq!(format_number("4", 1).brand, Some(Brand::Visa));
        assert_eq!(format_number("446404", 6).brand, Some(Brand::Mada));
        assert_eq!(format_number("3", 1).brand, None);
    }
}
