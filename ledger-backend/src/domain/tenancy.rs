//! Whose data a piece of work may touch: the tenancy `Scope` (merchant and mode), parsed from stored text in
//! one place, and carried for the database.
//!
//! Isolation has three layers. The edge decides the scope from the API key; every query binds it (most
//! through `scoped::find`); and the database enforces it on its own with row-level security: a request's
//! connection runs as `paygate_api` (no `BYPASSRLS`) with `paygate.merchant_id` and `paygate.mode` set to the
//! request's scope (`db::connect` sets them from `current()` each time a connection is handed out), so a
//! query that forgot its `WHERE merchant_id` still sees and writes only that merchant's rows in that mode.
//! Jobs, which work across merchants, run as `paygate_jobs` (`BYPASSRLS`). See migration 0010.

use paygate_core::Mode;
use paygate_core::id::MerchantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub merchant_id: MerchantId,
    pub mode: Mode,
}

/// A stored merchant id or mode that does not parse: the database holds something it never should.
#[derive(Debug, thiserror::Error)]
#[error("stored scope is malformed: merchant {merchant:?}, mode {mode:?}")]
pub struct StoredScopeError {
    pub merchant: String,
    pub mode: String,
}

impl Scope {
    /// The scope of a stored row, from its `merchant_id` and `mode` columns; loud when they are malformed.
    pub fn parse(merchant: &str, mode: &str) -> Result<Scope, StoredScopeError> {
        let error = || StoredScopeError { merchant: merchant.to_owned(), mode: mode.to_owned() };
        Ok(Scope {
            merchant_id: MerchantId::parse(merchant).map_err(|_| error())?,
            mode: Mode::parse(mode).ok_or_else(error)?,
        })
    }
}

tokio::task_local! {
    static CURRENT: Scope;
}

/// Runs `work` in `scope`: every connection it takes from an API pool sees only this scope's rows.
pub async fn scope<F: Future>(scope: Scope, work: F) -> F::Output {
    CURRENT.scope(scope, work).await
}

/// The scope of the work being done, if any (none: an API connection sees no merchant's rows at all).
pub fn current() -> Option<Scope> {
    CURRENT.try_with(|scope| *scope).ok()
}
