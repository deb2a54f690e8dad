//! The sandbox acquirer: a small stand-in for a card network that test mode and local development
//! charge against (docs/design.md §9). It speaks a documented JSON API of its own (below), answers
//! deterministically by test card, keeps its state in memory, and runs as its own binary
//! (`paygate-sandbox-acquirer`) or inside tests.
//!
//! API (amounts in minor units; `reference` is the caller's attempt id, the idempotency handle):
//! - `POST /authorizations {merchant, reference, charge?, amount, currency, capture, card: {number, exp_month,
//!   exp_year, cvc}}` (`merchant`: the sandbox account; `charge`: our charge id, for its reports), or with
//!   `network_token: {number, exp_month, exp_year, cryptogram, eci?, wallet?}` instead of `card` (a wallet's
//!   device card; a cryptogram authorizes once, a second use is declined `cryptogram_reused`)
//!   → 201 `{id, reference, status: approved|declined|requires_action, amount, captured, decline_code?,
//!   authentication?, redirect_url?, return_url?}`; 500 for the processing-error card; the slow card answers
//!   after `SLOW_ANSWER_MS`. `return_url` (optional) is where a 3-D Secure authentication sends the browser back:
//!   the challenge card answers `requires_action` with `redirect_url`, the sandbox's authentication page
//!   (`authentication`: `GET|POST /authentications/{id}`, approve, fail or abandon), or, without a `return_url`,
//!   declines `authentication_required`; the frictionless card is approved at once.
//! - `GET /authorizations?reference=…` → the authorization made for that reference, or 404 (recovery).
//! - `POST /authorizations/{id}/void` also cancels an authorization still waiting for its authentication (then
//!   declined `authentication_abandoned`; its page refuses a late decision).
//! - `POST /authorizations/{id}/capture {amount}`, `POST /authorizations/{id}/void`,
//!   `POST /refunds {authorization, amount, reference}` → 200 with the updated object, 409 when the
//!   state or amount does not allow it.
//! - `GET /refunds?reference=…` → the refund made for that reference (`status: succeeded|failed`), or 404.
//! - `GET /reports/daily?merchant=…&from=…&to=…` → the merchant's settlement report over `[from, to)` (Unix
//!   seconds, at most a day, already ended) in the sandbox daily format, `text/csv` (`reports`).

mod authentication;
mod cards;
pub mod reports;
mod server;

pub use cards::{Behaviour, TEST_CARDS, behaviour_of};
pub use server::{SLOW_ANSWER_MS, router};

/// Serves the sandbox acquirer on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(crate::no_delay(listener), router()).with_graceful_shutdown(shutdown).await
}
