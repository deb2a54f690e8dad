//! Webhooks (docs/design.md §8): endpoints a merchant configures, the deliveries of its events to them, and the
//! guard that keeps live deliveries away from internal addresses.

pub mod deliveries;
pub mod endpoints;
pub mod url_guard;
