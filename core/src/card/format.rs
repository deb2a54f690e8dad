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

/// Arabic-Indic (U+0660–0669), Extended Arabic-Indic (U+06F0–06F9) and full-width (U+FF10–FF19) digits as
/// ASCII digits, so a person typing on an Arabic or East Asian keyboard gets the same card number. Every character maps to one character,
/// so carets counted in characters stay where they were.
pub fn ascii_digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            // Full-width digits, as Japanese and Chinese input methods type them.
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            _ => c,
        })
        .collect()
}

/// The expiry field as it is typed: `MM / YY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormattedExpiry {
    pub text: String,
    pub caret: usize,
}

const EXPIRY_SEPARATOR: &str = " / ";

/// Formats the expiry field after an edit. A lone first digit 2–9 can only be a month, so it becomes
/// `0d / `; the separator appears once the month is whole, except while `deleting` (else backspace over
/// it would put it straight back), and a deletion reflows the remaining digits. Autofill's `MM/YYYY` and a typed `1/` keep the month the person meant.
pub fn format_expiry(input: &str, caret: usize, deleting: bool) -> FormattedExpiry {
    let before_caret = input.chars().take(caret).filter(char::is_ascii_digit).count();
    let mut parts = input.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or("");
    let rest: String = parts.collect();
    let has_separator = input.trim_start().chars().skip(first.len()).any(|c| !c.is_ascii_digit());
    let (month, year, padded) = if has_separator && !deleting && (1..=2).contains(&first.len()) {
        let pad = first.len() == 1 && first != "0";
        let month = if pad { ["0", first].concat() } else { first.to_owned() };
        // A four-digit year (autofill, or a person writing 2030) is shown as its last two digits.
        let year = if rest.len() == 4 && rest.starts_with("20") { rest[2..].to_owned() } else { rest };
        (month, year, pad)
    } else {
        let digits: String = [first, rest.as_str()].concat();
        // Deleting reflows the digits as they stand: padding is a typing convenience, not a correction.
        let pad = !deleting && digits.starts_with(|c: char| ('2'..='9').contains(&c));
        let digits = if pad { ["0", &digits].concat() } else { digits };
        let (month, year) = digits.split_at(digits.len().min(2));
        (month.to_owned(), year.to_owned(), pad)
    };
    let year = &year[..year.len().min(2)];
    let mut text = month.clone();
    if !year.is_empty() || (month.len() == 2 && !deleting) {
        text.push_str(EXPIRY_SEPARATOR);
        text.push_str(year);
    }
    // The caret goes after the same digit it followed; a padding zero counts as typed before it.
    let digits_before = (before_caret + usize::from(padded && before_caret > 0)).min(month.len() + year.len());
    let caret = if digits_before < month.len() || (digits_before == 2 && year.is_empty() && deleting) {
        digits_before
    } else if digits_before == month.len() && year.is_empty() {
        text.len()
    } else {
        digits_before + EXPIRY_SEPARATOR.len()
    };
    FormattedExpiry { text, caret }
}

/// Backspace in the expiry field that removed only part of the separator (`12 /| 34`): removes the month
/// digit before it instead, as the number field's `backspace` does across a group space; otherwise the
/// separator would come straight back and the key would seem dead.
pub fn backspace_expiry(previous: &str, caret: usize) -> FormattedExpiry {
    let digits_before_caret = previous.chars().take(caret).filter(char::is_ascii_digit).count();
    let mut digits: String = previous.chars().filter(char::is_ascii_digit).collect();
    if digits_before_caret == 0 {
        return format_expiry(&digits, 0, true);
    }
    digits.remove(digits_before_caret - 1);
    format_expiry(&digits, digits_before_caret - 1, true)
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
    }

    fn expiry(input: &str, caret: usize, deleting: bool) -> (String, usize) {
        let got = format_expiry(input, caret, deleting);
        (got.text, got.caret)
    }

    #[test]
    fn expiry_is_shown_as_month_slash_year() {
        assert_eq!(expiry("1", 1, false), ("1".into(), 1));
        assert_eq!(expiry("12", 2, false), ("12 / ".into(), 5));
        assert_eq!(expiry("12 / 3", 6, false), ("12 / 3".into(), 6));
        assert_eq!(expiry("12 / 345", 8, false), ("12 / 34".into(), 7));
        assert_eq!(expiry("1234", 4, false), ("12 / 34".into(), 7));
        assert_eq!(expiry("", 0, false), ("".into(), 0));
    }

    #[test]
    fn a_first_digit_that_can_only_be_a_month_is_padded() {
        assert_eq!(expiry("4", 1, false), ("04 / ".into(), 5));
        assert_eq!(expiry("1/", 2, false), ("01 / ".into(), 5));
        assert_eq!(expiry("0", 1, false), ("0".into(), 1));
    }

    #[test]
    fn autofilled_four_digit_years_become_two() {
        assert_eq!(expiry("12/2030", 7, false), ("12 / 30".into(), 7));
        assert_eq!(expiry("3/2031", 6, false), ("03 / 31".into(), 7));
        assert_eq!(expiry("12-30", 5, false), ("12 / 30".into(), 7));
    }

    #[test]
    fn deleting_does_not_bring_the_separator_back() {
        // Backspace over "12 / " leaves "12 /": the separator goes and the caret stays after the month.
        assert_eq!(expiry("12 /", 4, true), ("12".into(), 2));
        assert_eq!(expiry("12 / ", 4, true), ("12".into(), 2));
        assert_eq!(expiry("12 / 3", 6, true), ("12 / 3".into(), 6));
        // Deleting a month digit in the middle keeps the caret there.
        assert_eq!(expiry("1 / 34", 1, true), ("13 / 4".into(), 1));
    }

    #[test]
    fn backspace_across_the_expiry_separator_removes_the_month_digit() {
        // "12 / |34": the browser removed the space before the caret; the 2 goes instead.
        let got = backspace_expiry("12 / 34", 5);
        assert_eq!((got.text.as_str(), got.caret), ("13 / 4", 1));
        let got = backspace_expiry("12 / ", 5);
        assert_eq!((got.text.as_str(), got.caret), ("1", 1));
        let got = backspace_expiry("12", 0);
        assert_eq!((got.text.as_str(), got.caret), ("12", 0));
    }

    #[test]
    fn arabic_indic_digits_become_ascii() {
        assert_eq!(ascii_digits("\u{0664}\u{0662}\u{0664}\u{0662}"), "4242");
        assert_eq!(ascii_digits("\u{06F1}\u{06F2}/\u{06F3}\u{06F0}"), "12/30");
        assert_eq!(ascii_digits("4a ٩"), "4a 9");
        assert_eq!(ascii_digits("\u{FF14}\u{FF12}"), "42");
    }

    #[test]
    fn brand_is_reported_while_typing() {
        assert_eq!(format_number("4", 1).brand, Some(Brand::Visa));
        assert_eq!(format_number("446404", 6).brand, Some(Brand::Mada));
        assert_eq!(format_number("3", 1).brand, None);
    }
}
