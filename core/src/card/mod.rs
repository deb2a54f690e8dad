//! Card data rules: normalising what a person typed, Luhn, brand detection by BIN range (with Mada
//! co-badging), allowed lengths and CVC lengths per brand, expiry against an injected clock, masking
//! and display formatting with caret tracking for the SDK's input fields.
//!
//! Card numbers are secrets: `CardNumber` never prints its digits through `Debug`, and has no `Display`.

mod brand;
mod expiry;
mod format;
mod luhn;
mod mada_bins;
mod number;

pub use brand::{Brand, Brands, detect_brands};
pub use expiry::{EXPIRY_YEARS_AHEAD_MAX, Expiry, ExpiryError};
pub use format::{Formatted, FormattedExpiry, ascii_digits, backspace, backspace_expiry, format_expiry, format_number};
pub use luhn::luhn_valid;
pub use number::{CardNumber, CardNumberError, Cvc, CvcError, PAN_LENGTH_MAX, PAN_LENGTH_MIN, digits_of};

/// The Mada BIN table, for checks against the vendored list.
pub fn mada_bins() -> &'static [&'static str] {
    mada_bins::MADA_BINS
}
