//! `paygate-core`: the pure logic every Paygate part shares: the browser SDK, the edge worker and the
//! ledger backend. It performs no I/O and cannot observe time or randomness: callers pass `now` and
//! random bytes in. It builds for native targets and for `wasm32-unknown-unknown`.

pub mod api_key;
pub mod apple_pay_sheet;
#[cfg(feature = "applepay")]
pub mod applepay;
pub mod authentication;
pub mod card;
pub mod charge;
pub mod decline;
pub mod edge_routes;
pub mod hex;
pub mod id;
#[cfg(feature = "sqlx")]
mod id_sqlx;
pub mod idempotency;
pub mod internal;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod payment_method;
pub mod problem;
pub mod processor;
pub mod routing;
pub mod sealed;
#[cfg(feature = "reports")]
pub mod settlement;
pub mod signature;
pub mod text;
pub mod time;

pub use api_key::{ApiKey, KeyKind, Mode};
pub use money::{Amount, Currency, Money};
pub use problem::{ErrorCode, Problem};
