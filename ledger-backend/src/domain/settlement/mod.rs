//! Settlement and reconciliation: processors' reports imported (`import`), matched against our ledger
//! (`matching`), and what does not match kept as exceptions an operator works (`exceptions`). Reports come
//! from files, uploads and the scheduled pull from each processor account (`pull`).

pub mod booking;
mod classify;
pub mod exceptions;
pub mod import;
pub mod matching;
pub mod payouts;
pub mod pull;
