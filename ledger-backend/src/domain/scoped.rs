//! Reading one object by id inside a merchant's scope. Every public object lives in a table with
//! `id`, `merchant_id` and `mode`; the scope is bound here, once, so no lookup can forget half of it
//! (invariant 6: merchant A never sees merchant B's data, test keys never see live data).

use crate::domain::tenancy::Scope;
use paygate_core::id::{Id, IdKind};
use sqlx::PgPool;
use sqlx::postgres::PgRow;

/// `SELECT <columns> FROM <table>` for the row with `id` in `scope`, or None. `table` and `columns` are
/// our own constants, never input.
pub async fn find<T, K: IdKind>(
    pool: &PgPool,
    scope: Scope,
    table: &'static str,
    columns: &'static str,
    id: Id<K>,
) -> Result<Option<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let select = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2 AND mode = $3");
    sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .fetch_optional(pool)
        .await
}
