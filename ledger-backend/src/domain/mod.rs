//! Business rules of the backend over the database: each function loads what it needs, applies the
//! pure rule from `paygate_core`, and persists the answer in one transaction. Handlers and the CLI only
//! parse input and call these.

pub mod actor;
pub mod api_keys;
pub mod apple_pay_domains;
pub mod audit_check;
pub mod balance;
pub mod charges;
pub mod dashboard;
pub mod events;
pub mod idempotency;
pub mod journal;
pub mod ledger_journal;
pub mod merchants;
pub mod page;
pub mod pricing;
pub mod processors;
pub mod refunds;
pub mod scoped;
pub mod settlement;
pub mod tenancy;
pub mod webhooks;
