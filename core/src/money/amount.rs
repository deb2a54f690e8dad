//! Amounts are integers of a currency's minor unit (cents, fils, yen). `Amount` is never negative and
//! never above `AMOUNT_MINOR_MAX`; `Money` pairs an amount with its currency so that arithmetic across
//! currencies is a type-checked error instead of a silent bug.

use super::Currency;
use core::fmt;

/// The largest amount we accept in any currency: 10^12 - 1 minor units (just under ten billion USD).
/// It keeps every sum of up to nine million maximal amounts inside `i64`, so ledger totals cannot
/// overflow in practice, and it is far above any single card payment in any currency.
pub const AMOUNT_MINOR_MAX: i64 = 999_999_999_999;

/// A non-negative amount in minor units, at most `AMOUNT_MINOR_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must not be negative")]
    Negative,
    #[error("amount must be greater than zero")]
    Zero,
    #[error("amount exceeds the maximum of {AMOUNT_MINOR_MAX} minor units")]
    TooLarge,
    #[error("amount is not a decimal number")]
    Malformed,
    #[error("amount has more decimal places than the currency's {exponent}")]
    TooPrecise { exponent: u8 },
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// Accepts `0..=AMOUNT_MINOR_MAX`.
    pub fn new(minor: i64) -> Result<Self, AmountError> {
        if minor < 0 {
            Err(AmountError::Negative)
        } else if minor > AMOUNT_MINOR_MAX {
            Err(AmountError::TooLarge)
        } else {
            Ok(Amount(minor))
        }
    }

    /// Accepts `1..=AMOUNT_MINOR_MAX`: what a charge, capture or refund may move.
    pub fn positive(minor: i64) -> Result<Self, AmountError> {
        match Amount::new(minor)? {
            Amount(0) => Err(AmountError::Zero),
            amount => Ok(amount),
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `None` when the sum would pass `AMOUNT_MINOR_MAX`.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).and_then(|v| Amount::new(v).ok())
    }

    /// `None` when the result would be negative.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).and_then(|v| Amount::new(v).ok())
    }

    /// Parses a decimal string such as `"12.345"` in a currency with `exponent` digits after the point.
    /// Fewer digits are padded (`"12.3"` KWD is 12300 fils); more are rejected, never rounded.
    pub fn parse_decimal(text: &str, exponent: u8) -> Result<Amount, AmountError> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(AmountError::Malformed);
        }
        if fraction.len() > usize::from(exponent) {
            return Err(AmountError::TooPrecise { exponent });
        }
        // Accumulate digit by digit with checked arithmetic: no intermediate can overflow unnoticed.
        let mut minor: i64 = 0;
        let padding = usize::from(exponent) - fraction.len();
        let digits = whole.bytes().chain(fraction.bytes()).chain(core::iter::repeat_n(b'0', padding));
        for digit in digits {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or(AmountError::TooLarge)?;
        }
        Amount::new(minor)
    }

    /// Formats with exactly `exponent` digits after the point (`12345` with exponent 3 is `"12.345"`).
    pub fn to_decimal_string(self, exponent: u8) -> String {
        let digits = self.0.to_string();
        let exponent = usize::from(exponent);
        if exponent == 0 {
            return digits;
        }
        let padded = format!("{:0>width$}", digits, width = exponent + 1);
        let split = padded.len() - exponent;
        format!("{}.{}", &padded[..split], &padded[split..])
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let minor = i64::deserialize(d)?;
        Amount::new(minor).map_err(serde::de::Error::custom)
    }
}

/// An amount together with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount: Amount,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("result leaves the allowed amount range")]
    OutOfRange,
    #[error(transparent)]
    Amount(#[from] AmountError),
}

impl Money {
    pub fn new(amount: Amount, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { amount: Amount::ZERO, currency }
    }

    /// Parses a decimal string in this currency's precision (`"1.5"` JPY is an error, `"1.5"` KWD is 1500).
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Ok(Money { amount: Amount::parse_decimal(text, currency.exponent())?, currency })
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::OutOfRange)?;
        Ok(Money { amount, currency: self.currency })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::OutOfRange)?;
        Ok(Money { amount, currency: self.currency })
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }
}

impl fmt::Display for Money {
    /// `KWD 12.345`, `JPY 500`, `CLF 1.0000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount.to_decimal_string(self.currency.exponent()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn decimal_strings_respect_the_currency_exponent() {
        let check = |text: &str, code: &str, expected: Result<i64, AmountError>| {
            let got = Money::parse_decimal(text, cur(code)).map(|m| m.amount.minor());
            assert_eq!(got, expected.map_err(MoneyError::Amount), "{text} {code}");
        };
        check("12.345", "KWD", Ok(12_345));
        check("12.3", "KWD", Ok(12_300));
        check("12", "KWD", Ok(12_000));
        check("12.3456", "KWD", Err(AmountError::TooPrecise { exponent: 3 }));
        check("500", "JPY", Ok(500));
        check("500.5", "JPY", Err(AmountError::TooPrecise { exponent: 0 }));
        check("1.2345", "CLF", Ok(12_345));
        check("0.01", "USD", Ok(1));
        check("10.", "USD", Err(AmountError::Malformed));
        check(".5", "USD", Err(AmountError::Malformed));
        check("1e3", "USD", Err(AmountError::Malformed));
        check("-1", "USD", Err(AmountError::Negative));
        check("", "USD", Err(AmountError::Malformed));
        check("9999999999.99", "USD", Ok(AMOUNT_MINOR_MAX));
        check("10000000000.00", "USD", Err(AmountError::TooLarge));
        check("99999999999999999999999", "USD", Err(AmountError::TooLarge));
    }

    #[test]
    fn display_pads_to_the_exponent() {
        let show = |minor: i64, code: &str| Money::new(Amount::new(minor).unwrap(), cur(code)).to_string();
        assert_eq!(show(12_345, "KWD"), "KWD 12.345");
        assert_eq!(show(5, "KWD"), "KWD 0.005");
        assert_eq!(show(500, "JPY"), "JPY 500");
        assert_eq!(show(1, "CLF"), "CLF 0.0001");
        assert_eq!(show(0, "EUR"), "EUR 0.00");
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_range_exits() {
        let usd = Money::new(Amount::new(100).unwrap(), cur("USD"));
        let eur = Money::new(Amount::new(100).unwrap(), cur("EUR"));
        assert_eq!(usd.checked_add(eur), Err(MoneyError::CurrencyMismatch { left: cur("USD"), right: cur("EUR") }));
        let max = Money::new(Amount::new(AMOUNT_MINOR_MAX).unwrap(), cur("USD"));
        assert_eq!(max.checked_add(usd), Err(MoneyError::OutOfRange));
        assert_eq!(usd.checked_sub(max), Err(MoneyError::OutOfRange));
        assert_eq!(max.checked_sub(usd).unwrap().amount.minor(), AMOUNT_MINOR_MAX - 100);
    }

    #[test]
    fn bounds_are_enforced_at_construction() {
        assert_eq!(Amount::new(-1), Err(AmountError::Negative));
        assert_eq!(Amount::new(AMOUNT_MINOR_MAX + 1), Err(AmountError::TooLarge));
        assert_eq!(Amount::positive(0), Err(AmountError::Zero));
        assert_eq!(Amount::positive(1).unwrap().minor(), 1);
    }
}
