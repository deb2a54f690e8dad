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
    #[error("country must be an ISO 3166-1 alpha-2 code in upper case (SA, DE, ...)")]
    InvalidCountry,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn create(pool: &PgPool, name: &str) -> Result<MerchantId, MerchantError> {
    create_in(pool, name, None).await
}

/// A merchant in `country` (ISO 3166-1 alpha-2): where it trades decides local rules such as Mada's.
pub async fn create_in(pool: &PgPool, name: &str, country: Option<&str>) -> Result<MerchantId, MerchantError> {
    let id: MerchantId = new_id::<MerchantKind>();
    let mut tx = pool.begin().await?;
    insert(&mut tx, id, name, country).await?;
    tx.commit().await?;
    Ok(id)
}

/// Records merchant `id` with its sandbox account, in the caller's transaction (the dashboard's sign-up adds
/// its owner and keys to the same one).
pub async fn insert(
    conn: &mut sqlx::PgConnection,
    id: MerchantId,
    name: &str,
    country: Option<&str>,
) -> Result<(), MerchantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
        return Err(MerchantError::InvalidName);
    }
    if country.is_some_and(|c| !valid_country(c)) {
        return Err(MerchantError::InvalidCountry);
    }
    sqlx::query("INSERT INTO merchants (id, name, country) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(name)
        .bind(country)
        .execute(&mut *conn)
        .await?;
    // Test mode works from the first minute: the sandbox account is every test-mode merchant's default.
    crate::domain::processors::accounts::ensure_sandbox(conn, id).await?;
    Ok(())
}

/// An ISO 3166-1 alpha-2 code's shape: two upper-case letters.
pub fn valid_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The merchant's country, if it has one (read within the request's scope).
pub async fn country(conn: &mut sqlx::PgConnection, id: MerchantId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT country FROM merchants WHERE id = $1").bind(id.to_string()).fetch_one(conn).await
}

pub async fn exists(pool: &PgPool, id: MerchantId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
}
