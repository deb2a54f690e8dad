//! Merchants: the owners of every other object.

use crate::ids::new_id;
use paygate_core::id::{MerchantId, MerchantKind};
use sqlx::PgPool;

/// Merchant names are for people; a generous bound keeps them from becoming a storage channel.
pub const NAME_CHARS_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum MerchantError {
    #[error("merchant name must be 1 to {NAME_CHARS_MAX} characters")]
    InvalidName,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn create(pool: &PgPool, name: &str) -> Result<MerchantId, MerchantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
        return Err(MerchantError::InvalidName);
    }
    let id: MerchantId = new_id::<MerchantKind>();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, $2)")
        .bind(id.to_string())
        .bind(name)
        .execute(&mut *tx)
        .await?;
    // Test mode works from the first minute: the sandbox account is every test-mode merchant's default.
    crate::domain::processors::accounts::ensure_sandbox(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn exists(pool: &PgPool, id: MerchantId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
}
