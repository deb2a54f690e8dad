//! Settlement and reconciliation: processors' reports imported (`import`), matched against our ledger
//! (`matching`), and what does not match kept as exceptions an operator works (`exceptions`).

pub mod booking;
mod classify;
pub mod exceptions;
pub mod import;
pub mod matching;
pub mod payouts;
