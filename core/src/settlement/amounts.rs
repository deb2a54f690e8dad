//! Report amounts are decimal text in major units (`-30.00`, `0.9215`); ours are signed integers of minor units.

use super::reader::FieldError;
use crate::money::{Amount, Currency};

/// `text` in major units of `currency` as signed minor units. Digits past the currency's exponent are accepted
/// only when they are zeros (`100.00` yen is 100): a report never rounds money for us.
pub fn signed_minor(text: &str, currency: Currency) -> Result<i64, String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let exponent = usize::from(currency.exponent());
    let digits = match digits.split_once('.') {
        Some((whole, fraction)) if fraction.len() > exponent => {
            let (kept, extra) = fraction.split_at(exponent);
            if !extra.bytes().all(|b| b == b'0') {
                return Err(format!("{text} has more decimals than {} takes", currency.code()));
            }
            if kept.is_empty() { whole.to_owned() } else { format!("{whole}.{kept}") }
        }
        _ => digits.to_owned(),
    };
    let amount = Amount::parse_decimal(&digits, currency.exponent()).map_err(|e| format!("{text}: {e}"))?;
    Ok(if negative { -amount.minor() } else { amount.minor() })
}

/// A required amount column.
pub fn amount(text: &str, column: &'static str, currency: Currency) -> Result<i64, FieldError> {
    signed_minor(text, currency).map_err(|reason| FieldError::new(column, reason))
}

/// An optional amount column (empty is zero, as in Adyen's exports).
pub fn amount_or_zero(text: Option<&str>, column: &'static str, currency: Currency) -> Result<i64, FieldError> {
    text.map_or(Ok(0), |t| amount(t, column, currency))
}

/// A currency column, in any case (`usd`, `EUR`).
pub fn currency(text: &str, column: &'static str) -> Result<Currency, FieldError> {
    Currency::parse(&text.to_ascii_uppercase()).map_err(|e| FieldError::new(column, e.to_string()))
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`, and a trailing `Z`) as Unix seconds, read as UTC shifted by
/// `offset_seconds` (the zone the text is in).
pub fn timestamp(text: &str, column: &'static str, offset_seconds: i64) -> Result<i64, FieldError> {
    let bad = || FieldError::new(column, format!("{text} is not a YYYY-MM-DD HH:MM:SS time"));
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    // Digits only: a sign or a space is not part of a date or a time.
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let mut date_parts = date.splitn(3, '-');
    let (year, month, day) = match (date_parts.next(), date_parts.next(), date_parts.next()) {
        (Some(y), Some(m), Some(d)) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            (number(y)?, number(m)?, number(d)?)
        }
        _ => return Err(bad()),
    };
    let time = time.split('.').next().unwrap_or(time);
    let mut time_parts = time.splitn(3, ':');
    let (hours, minutes, seconds) = match (time_parts.next(), time_parts.next(), time_parts.next()) {
        (Some(h), Some(m), Some(s)) => (number(h)?, number(m)?, number(s)?),
        _ => return Err(bad()),
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&month) || !(1..=days_in_month).contains(&day) || hours > 23 || minutes > 59 || seconds > 60 {
        return Err(bad());
    }
    let midnight = crate::time::unix_seconds_of(year as i32, month as u8, day as u8);
    Ok(midnight + hours * 3_600 + minutes * 60 + seconds - offset_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn major_units_become_signed_minor_units_by_the_currency_exponent() {
        assert_eq!(signed_minor("100.00", currency("USD")), Ok(10_000));
        assert_eq!(signed_minor("-30.00", currency("USD")), Ok(-3_000));
        assert_eq!(signed_minor("-0.07", currency("USD")), Ok(-7));
        assert_eq!(signed_minor("12.345", currency("KWD")), Ok(12_345));
        assert_eq!(signed_minor("12.3", currency("KWD")), Ok(12_300));
        assert_eq!(signed_minor("1500", currency("JPY")), Ok(1_500));
        assert_eq!(signed_minor("1500.00", currency("JPY")), Ok(1_500), "trailing zeros are no rounding");
        assert!(signed_minor("1500.50", currency("JPY")).is_err(), "a fraction of a yen is refused, not rounded");
        assert!(signed_minor("1.005", currency("USD")).is_err());
        for bad in ["", "-", "1,00", "1e3", "--1", "1.2.3", "NaN"] {
            assert!(signed_minor(bad, currency("USD")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_read_as_utc_or_shifted_from_their_zone() {
        assert_eq!(timestamp("1970-01-02 00:00:01", "t", 0), Ok(86_401));
        assert_eq!(timestamp("2026-11-01T09:15:02Z", "t", 0), timestamp("2026-11-01 12:15:02", "t", 3 * 3_600));
        assert!(timestamp("2026-13-01 00:00:00", "t", 0).is_err());
        assert!(timestamp("2026-02-31 00:00:00", "t", 0).is_err(), "no 31st of February");
        assert!(timestamp("2028-02-29 00:00:00", "t", 0).is_ok(), "a leap day");
        assert!(timestamp("2026-11-01 -1:00:00", "t", 0).is_err(), "no negative hours");
        assert!(timestamp("01/11/2026", "t", 0).is_err());
    }
}
