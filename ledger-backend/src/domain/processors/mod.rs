//! The merchant's side of processors: its accounts at them (`accounts`) and where its payments go
//! (`routing`).

pub mod accounts;
pub mod events;
pub mod routing;
