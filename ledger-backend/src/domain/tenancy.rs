//! Whose data a piece of work may touch: the tenancy `Scope` (merchant and mode; rows decode both typed),
//! and the task-local that carries it to the database.
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
