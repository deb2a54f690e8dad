//! Card expiry. A card is valid through the last day of its expiry month; "now" is passed in.

use crate::time::date_of_unix;

/// Cards are not issued for longer than this; a later year is a typing mistake.
pub const EXPIRY_YEARS_AHEAD_MAX: i32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expiry {
    year: u16,
    month: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("expiry must look like MM/YY")]
    Malformed,
    #[error("expiry month must be between 1 and 12")]
    InvalidMonth,
    #[error("expiry year is not valid")]
    InvalidYear,
    #[error("card has expired")]
    Expired,
    #[error("expiry is too far in the future")]
    TooFarAhead,
}

impl Expiry {
    /// From separate fields. Two-digit years are taken as 20YY, as printed on cards.
    pub fn new(month: u32, year: u32) -> Result<Self, ExpiryError> {
        if !(1..=12).contains(&month) {
            return Err(ExpiryError::InvalidMonth);
        }
        let year = match year {
            0..=99 => 2000 + year,
            2000..=2999 => year,
            _ => return Err(ExpiryError::InvalidYear),
        };
        Ok(Expiry { year: year as u16, month: month as u8 })
    }

    /// Parses what a person types: `MM/YY`, `MM / YY`, `MM/YYYY`, `MMYY` or `MM-YY`.
    pub fn parse(text: &str) -> Result<Self, ExpiryError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (month, year) = match compact.split_once(['/', '-']) {
            Some((m, y)) => (m, y),
            None if compact.len() == 4 || compact.len() == 6 => compact.split_at(2),
            None => return Err(ExpiryError::Malformed),
        };
        let numeric = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
        if !numeric(month) || month.len() > 2 || !numeric(year) || !(year.len() == 2 || year.len() == 4) {
            return Err(ExpiryError::Malformed);
        }
        // Both are at most four ASCII digits, so parsing cannot fail.
        Expiry::new(month.parse().unwrap_or(0), year.parse().unwrap_or(0))
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn year(self) -> u16 {
        self.year
    }

    /// Ok while the card is usable at `now_unix_seconds` (UTC): through the end of the expiry month.
    pub fn check_at(self, now_unix_seconds: i64) -> Result<(), ExpiryError> {
        let today = date_of_unix(now_unix_seconds);
        let this_month = (today.year, today.month);
        let expiry = (i32::from(self.year), self.month);
        if expiry < this_month {
            return Err(ExpiryError::Expired);
        }
        if expiry.0 > today.year + EXPIRY_YEARS_AHEAD_MAX {
            return Err(ExpiryError::TooFarAhead);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-21T06:00:00Z
    const NOW: i64 = 1_795_240_800;

    #[test]
    fn typed_forms_parse() {
        let nov_28 = Expiry::new(11, 28).unwrap();
        for text in ["11/28", "11 / 28", "11/2028", "1128", "11-28", "112028"] {
            assert_eq!(Expiry::parse(text), Ok(nov_28), "{text}");
        }
        assert_eq!(Expiry::parse("13/28"), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::parse("00/28"), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::parse("1/2"), Err(ExpiryError::Malformed));
        assert_eq!(Expiry::parse("ab/cd"), Err(ExpiryError::Malformed));
        assert_eq!(Expiry::parse(""), Err(ExpiryError::Malformed));
        assert_eq!(Expiry::parse("11/028"), Err(ExpiryError::Malformed));
        assert_eq!(Expiry::new(1, 1999), Err(ExpiryError::InvalidYear));
    }

    #[test]
    fn a_card_is_valid_through_its_expiry_month() {
        assert_eq!(Expiry::new(11, 2026).unwrap().check_at(NOW), Ok(()));
        assert_eq!(Expiry::new(10, 2026).unwrap().check_at(NOW), Err(ExpiryError::Expired));
        assert_eq!(Expiry::new(12, 2025).unwrap().check_at(NOW), Err(ExpiryError::Expired));
        assert_eq!(Expiry::new(1, 2046).unwrap().check_at(NOW), Ok(()));
        assert_eq!(Expiry::new(1, 2047).unwrap().check_at(NOW), Err(ExpiryError::TooFarAhead));
        // The last second of November 2026 still accepts a card expiring 11/26.
        let last_second_of_november = 1_796_083_199;
        assert_eq!(Expiry::new(11, 2026).unwrap().check_at(last_second_of_november), Ok(()));
        assert_eq!(Expiry::new(11, 2026).unwrap().check_at(last_second_of_november + 1), Err(ExpiryError::Expired));
    }
}
