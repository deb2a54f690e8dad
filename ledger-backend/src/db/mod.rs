//! The connection pool and the migrations, which are embedded in the binary so that a deployed
//! backend can migrate its database without the source tree.

use crate::config::DB_ACQUIRE_TIMEOUT;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(database_url: &str, connections_max: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(connections_max)
        .acquire_timeout(DB_ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Our hot tables are partitioned. With the default plan cache mode PostgreSQL re-plans
                // every execution of a prepared statement on them (a custom plan prunes partitions at
                // plan time and so always looks cheaper), which the benchmark measured as a third of the
                // database's time. Generic plans prune at executor start instead, once per execution.
                sqlx::Executor::execute(conn, "SET plan_cache_mode = force_generic_plan").await.map(|_| ())
            })
        })
        .connect(database_url)
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

pub mod partitions;
