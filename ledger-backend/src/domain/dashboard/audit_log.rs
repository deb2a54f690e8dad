//! The audit log as the dashboard lists it: who (an API key, a dashboard user, a job) did what to which object,
//! newest first, optionally for one object.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub request_id: Option<String>,
    pub created: i64,
}

pub async fn list(
    pool: &PgPool,
    scope: Scope,
    object_id: Option<&str>,
    page: &Page,
) -> Result<(Vec<AuditRow>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("id", 4);
    let select = format!(
        "SELECT id, actor, action, object_type, object_id, request_id, extract(epoch FROM created_at)::bigint AS created
         FROM audit_log WHERE merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR object_id = $3) {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode).bind(object_id);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
