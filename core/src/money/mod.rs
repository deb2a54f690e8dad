//! Money: ISO 4217 currencies with their minor-unit exponent, and amounts as checked integers of minor
//! units. Floats never appear; every operation that can overflow or mix currencies returns an error.

mod amount;
mod currency;
mod currency_table;

pub use amount::{AMOUNT_MINOR_MAX, Amount, AmountError, Money, MoneyError};
pub use currency::{Currency, CurrencyError};
