//! The connection pool and the migrations, which are embedded in the binary so that a deployed
//! backend can migrate its database without the source tree.

use crate::config::DB_ACQUIRE_TIMEOUT;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Whom a pool's connections act as (migration 0010 creates the roles and the row-level security).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user in `DATABASE_URL`, owner of the schema: migrations, partitions, the operator's CLI.
    Owner,
    /// API requests: `paygate_api`, which row-level security confines to the scope of the request
    /// (`tenancy::current()`), set on the connection each time the pool hands it out.
    Api,
    /// Background jobs, across merchants: `paygate_jobs` (`BYPASSRLS`).
    Jobs,
}

pub async fn connect(database_url: &str, connections_max: u32, role: Role) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(connections_max)
        .acquire_timeout(DB_ACQUIRE_TIMEOUT)
        // sqlx pings an idle connection before handing it out; an API connection's `before_acquire` statement
        // (below) already proves it alive, and a failure there closes it and takes another, so the ping would
        // be a second round trip for nothing on every hand-out.
        .test_before_acquire(role != Role::Api)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Our hot tables are partitioned. With the default plan cache mode PostgreSQL re-plans
                // every execution of a prepared statement on them (a custom plan prunes partitions at
                // plan time and so always looks cheaper), which the benchmark measured as a third of the
                // database's time. Generic plans prune at executor start instead, once per execution.
                sqlx::Executor::execute(&mut *conn, "SET plan_cache_mode = force_generic_plan").await?;
                match role {
                    Role::Jobs => sqlx::Executor::execute(&mut *conn, "SET ROLE paygate_jobs").await.map(|_| ())?,
                    // A new connection is handed out without `before_acquire`: scope it here too. It is
                    // opened inside the acquiring request's task, so that request's scope is the current one.
                    Role::Api => scope_connection(conn).await?,
                    Role::Owner => {}
                }
                Ok(())
            })
        })
        .before_acquire(move |conn, _| {
            Box::pin(async move {
                if role == Role::Api {
                    scope_connection(conn).await?;
                }
                Ok(true)
            })
        })
        .connect(database_url)
        .await
}

/// Makes an API connection act for the current request's scope, or for nobody outside one: one statement,
/// whenever the connection is handed out (new or reused), so no query on it can run unscoped.
async fn scope_connection(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let scope = crate::domain::tenancy::current();
    let merchant = scope.map(|s| s.merchant_id.to_string()).unwrap_or_default();
    let mode = scope.map_or("", |s| s.mode.as_str());
    sqlx::query(
        "SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', $1, false),
                set_config('paygate.mode', $2, false)",
    )
    .bind(merchant)
    .bind(mode)
    .execute(conn)
    .await?;
    Ok(())
}

/// A pool for the replay guard's one statement (`http::edge_auth`), which runs before a request has a scope:
/// its connections act as `paygate_api` for nobody, set once when each opens and never changed, so a hand-out
/// sends no statement (an API pool's hand-out costs one round trip for its scope). Made from `api`'s options,
/// lazily. A connection idle for longer than `UNSCOPED_PING_AFTER` is pinged before it is handed out (one
/// broken while idle is replaced, not failed in a request); a busier one is not.
pub fn unscoped(api: &PgPool, connections_max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(connections_max)
        .acquire_timeout(DB_ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(
                    &mut *conn,
                    "SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', '', false),
                            set_config('paygate.mode', '', false)",
                )
                .await?;
                Ok(())
            })
        })
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > UNSCOPED_PING_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with((*api.connect_options()).clone())
}

/// How long an unscoped connection may sit idle and still be handed out without a ping.
const UNSCOPED_PING_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

pub mod partitions;
