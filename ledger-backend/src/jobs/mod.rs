//! Background work that runs at its own pace from tables, never inline in a request. Each job takes a
//! bounded batch; jobs that must not run twice at once take a PostgreSQL advisory lock, so any number
//! of worker processes may run them.

pub mod audit_seal;
