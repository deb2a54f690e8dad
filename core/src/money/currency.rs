//! A currency is a reference into the static ISO 4217 table, so it is `Copy`, compares by code and
//! always knows its exponent. Only currencies with a defined minor unit can carry money: codes whose
//! ISO minor unit is "N.A." (gold, SDR, XXX...) are rejected at parse time.

use super::currency_table::CURRENCIES;
use core::fmt;

/// One row of the ISO 4217 table.
#[derive(Debug, PartialEq, Eq)]
pub struct CurrencyInfo {
    pub code: &'static str,
    pub numeric: u16,
    /// Digits after the decimal point; `None` where ISO says N.A.
    pub exponent: Option<u8>,
    /// ISO "fund" codes (CLF, USN, ...) are real but unusual for card payments.
    pub is_fund: bool,
}

#[derive(Clone, Copy)]
pub struct Currency(&'static CurrencyInfo);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("currency must be a three-letter ISO 4217 code")]
    Malformed,
    #[error("unknown currency code")]
    Unknown,
    #[error("currency has no minor unit and cannot carry an amount")]
    NoMinorUnit,
}

impl Currency {
    /// Parses a three-letter code, case-insensitively (`"kwd"` and `"KWD"` are the same currency).
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CurrencyError::Malformed);
        }
        let upper = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase(), bytes[2].to_ascii_uppercase()];
        let info = CURRENCIES
            .binary_search_by(|row| row.code.as_bytes().cmp(&upper[..]))
            .map(|i| &CURRENCIES[i])
            .map_err(|_| CurrencyError::Unknown)?;
        if info.exponent.is_none() {
            return Err(CurrencyError::NoMinorUnit);
        }
        Ok(Currency(info))
    }

    /// The upper-case ISO code, as it appears in every API answer.
    pub fn code(self) -> &'static str {
        self.0.code
    }

    pub fn numeric(self) -> u16 {
        self.0.numeric
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD, 4 for CLF.
    pub fn exponent(self) -> u8 {
        // Parse rejects codes without a minor unit, so this is always present.
        self.0.exponent.unwrap_or(0)
    }

    pub fn is_fund(self) -> bool {
        self.0.is_fund
    }

    /// Every currency that can carry an amount, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().filter(|c| c.exponent.is_some()).map(Currency)
    }

    /// Every row of the ISO table, including codes without a minor unit (for table checks).
    pub fn table() -> &'static [CurrencyInfo] {
        CURRENCIES
    }
}

impl PartialEq for Currency {
    fn eq(&self, other: &Self) -> bool {
        self.0.code == other.0.code
    }
}
impl Eq for Currency {}

impl core::hash::Hash for Currency {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.code.hash(state)
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Currency {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.code.cmp(other.0.code)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl core::str::FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.code)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Currency::parse(&raw).map_err(serde::de::Error::custom)
    }
}
