//! Background work that runs at its own pace from tables, never inline in a request. Each job takes a
//! bounded batch; jobs that must not run twice at once take a PostgreSQL advisory lock, so any number
//! of worker processes may run them.

pub mod audit_seal;
pub mod expiry;
pub mod maintenance;
pub mod recovery;
pub mod webhook_delivery;

use crate::processors::Processors;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// How often each job runs in `paygate-ledger work`.
pub const AUDIT_SEAL_EVERY: Duration = Duration::from_secs(2);
pub const EXPIRY_EVERY: Duration = Duration::from_secs(60);
pub const RECOVERY_EVERY: Duration = Duration::from_secs(15);
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(3_600);
/// Authentications (3-D Secure) past their deadline are looked for this often: a charge fails at most this late.
pub const AUTHENTICATION_EXPIRY_EVERY: Duration = Duration::from_secs(30);
/// Each account's pull has its own schedule (`settlement::pull`); this is how often the due ones are looked for.
pub const SETTLEMENT_PULL_EVERY: Duration = Duration::from_secs(60);
/// The replay guard's table gains a row per request; it is trimmed often so it stays small.
pub const REPLAY_GUARD_EVERY: Duration = Duration::from_secs(10);

/// Runs every job until `shutdown` completes: the webhook delivery loop, and the others each on its own
/// interval. A failing run is logged and retried at its next interval; it never stops the other jobs.
pub async fn run(
    pool: PgPool,
    processors: Arc<Processors>,
    senders: webhook_delivery::Senders,
    shutdown: impl Future<Output = ()>,
) {
    use futures::FutureExt;
    let shutdown = shutdown.boxed_local().shared();
    tokio::join!(webhook_delivery::run(pool.clone(), senders, shutdown.clone()), periodic(pool, processors, shutdown));
}

async fn periodic(pool: PgPool, processors: Arc<Processors>, shutdown: impl Future<Output = ()>) {
    let mut seal = tokio::time::interval(AUDIT_SEAL_EVERY);
    let mut expire = tokio::time::interval(EXPIRY_EVERY);
    let mut recover = tokio::time::interval(RECOVERY_EVERY);
    let mut maintain = tokio::time::interval(MAINTENANCE_EVERY);
    let mut replay_guard = tokio::time::interval(REPLAY_GUARD_EVERY);
    let mut settlement = tokio::time::interval(SETTLEMENT_PULL_EVERY);
    let mut authentications = tokio::time::interval(AUTHENTICATION_EXPIRY_EVERY);
    for timer in
        [&mut seal, &mut expire, &mut recover, &mut maintain, &mut replay_guard, &mut settlement, &mut authentications]
    {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    tokio::pin!(shutdown);
    loop {
        let result = tokio::select! {
            _ = &mut shutdown => return,
            _ = seal.tick() => audit_seal::seal_all(&pool).await.map(|_| ()),
            _ = expire.tick() => expiry::run_once(&pool, &processors).await.map(|_| ()),
            _ = authentications.tick() => {
                crate::domain::charges::authentication::give_up_due(&pool, &processors).await.map(|_| ())
            }
            _ = recover.tick() => recovery::run_once(&pool, &processors, recovery::SETTLE_AFTER).await.map(|_| ()),
            _ = maintain.tick() => maintenance::run_once(&pool).await,
            _ = replay_guard.tick() => maintenance::forget_seen_requests(&pool).await,
            _ = settlement.tick() => {
                let now = crate::ids::unix_seconds_now();
                crate::domain::settlement::pull::run_once(&pool, &processors, now).await.map(|_| ())
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, "job run failed; retrying at its next interval");
        }
    }
}
