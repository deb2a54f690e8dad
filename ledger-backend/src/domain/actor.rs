//! Who performs a change, for the audit log: the API key the edge authenticated for the request (signed
//! into `paygate-key-id`), or `system:<job>` for background work. Set once where the work enters (the edge
//! signature middleware, each job), read where audit rows are written, so no function in between carries it.

tokio::task_local! {
    static ACTOR: String;
}

/// Runs `work` as `actor`.
pub async fn scope<F: Future>(actor: String, work: F) -> F::Output {
    ACTOR.scope(actor, work).await
}

/// The current actor; `system` outside any scope.
pub fn current() -> String {
    ACTOR.try_with(Clone::clone).unwrap_or_else(|_| "system".to_owned())
}
