//! A user's saved charge filters: a name and the list's query string, per merchant and mode.

use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use paygate_core::id::{SavedViewId, SavedViewKind, UserId};
use sqlx::PgPool;

/// At most this many views per user, merchant and mode.
pub const VIEWS_MAX: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SavedView {
    pub id: String,
    pub name: String,
    pub query: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("a view's name is 1 to 80 characters on one line")]
    Name,
    #[error("at most {VIEWS_MAX} saved views")]
    TooMany,
    #[error("this filter is too long to save")]
    TooLong,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn list(pool: &PgPool, scope: Scope, user: UserId) -> Result<Vec<SavedView>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, query FROM saved_views WHERE merchant_id = $1 AND mode = $2 AND user_id = $3 ORDER BY name, id")
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(user.to_string())
        .fetch_all(pool)
        .await
}

/// Saves `query` (the filter form's query string, already read by the list) under `name`.
pub async fn save(pool: &PgPool, scope: Scope, user: UserId, name: &str, query: &str) -> Result<(), ViewError> {
    let name = name.trim();
    if paygate_core::text::single_line(name, 80).is_err() || name.is_empty() {
        return Err(ViewError::Name);
    }
    if query.len() > 2_000 {
        return Err(ViewError::TooLong);
    }
    let mut tx = pool.begin().await?;
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM saved_views WHERE merchant_id = $1 AND mode = $2 AND user_id = $3")
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(user.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if count >= VIEWS_MAX {
        return Err(ViewError::TooMany);
    }
    sqlx::query(
        "INSERT INTO saved_views (id, merchant_id, mode, user_id, name, query) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id::<SavedViewKind>().to_string())
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(user.to_string())
    .bind(name)
    .bind(query)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the user's own view; false when there is no such view of theirs.
pub async fn delete(pool: &PgPool, scope: Scope, user: UserId, id: SavedViewId) -> Result<bool, sqlx::Error> {
    let deleted =
        sqlx::query("DELETE FROM saved_views WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND user_id = $4")
            .bind(id.to_string())
            .bind(scope.merchant_id)
            .bind(scope.mode)
            .bind(user.to_string())
            .execute(pool)
            .await?;
    Ok(deleted.rows_affected() == 1)
}
