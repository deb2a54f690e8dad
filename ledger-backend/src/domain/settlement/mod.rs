//! Settlement and reconciliation: processors' reports imported (`import`), then matched against our ledger.

pub mod import;
