//! Signing up and signing in. Sign-up creates the merchant, its owner and its test-mode keys in one
//! transaction. Sign-in checks the password with argon2id whether or not the address has an account, answers
//! every failure the same way, and refuses further tries for an address after `FAILURES_MAX` failures within
//! `FAILURE_WINDOW` (counted by the address's hash, account or not, so throttling reveals nothing either).

use super::passwords::{self, PasswordError};
use super::sessions::{self, SessionToken};
use crate::domain::api_keys::{self, Pepper};
use crate::domain::merchants::{self, MerchantError};
use crate::domain::tenancy::{self, Scope};
use crate::ids::new_id;
use paygate_core::Mode;
use paygate_core::api_key::{ApiKey, KeyKind};
use paygate_core::id::{MerchantId, MerchantKind, UserId, UserKind};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;

pub const FAILURES_MAX: i32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const EMAIL_BYTES_MAX: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("enter an email address like name@example.com")]
    InvalidEmail,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("the business name must be 1 to {} characters", merchants::NAME_CHARS_MAX)]
    InvalidName,
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// The one answer for an unknown address and a wrong password.
    #[error("the email address or the password is wrong")]
    WrongCredentials,
    #[error("too many failed sign-ins for this address; try again in 15 minutes")]
    Throttled,
    #[error("this account no longer belongs to any team")]
    NoTeam,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<MerchantError> for AccountError {
    fn from(error: MerchantError) -> Self {
        match error {
            MerchantError::Database(error) => AccountError::Database(error),
            MerchantError::InvalidName | MerchantError::InvalidCountry => AccountError::InvalidName,
        }
    }
}

/// An email address as stored: trimmed, lower case, one `@` between a local part and a dotted domain, no spaces
/// or control characters, at most 254 bytes.
pub fn normalize_email(text: &str) -> Result<String, AccountError> {
    let email = text.trim().to_lowercase();
    let (local, domain) = email.split_once('@').ok_or(AccountError::InvalidEmail)?;
    let well_formed = email.len() <= EMAIL_BYTES_MAX
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    well_formed.then_some(email).ok_or(AccountError::InvalidEmail)
}

pub struct SignUp {
    pub email: String,
    pub password: String,
    pub business_name: String,
}

/// What sign-up made: the session to set, and the test keys, shown this once.
pub struct SignedUp {
    pub merchant_id: MerchantId,
    pub user_id: UserId,
    pub token: SessionToken,
    pub publishable_key: ApiKey,
    pub secret_key: ApiKey,
}

pub async fn sign_up(pool: &PgPool, pepper: &Pepper, form: SignUp) -> Result<SignedUp, AccountError> {
    let email = normalize_email(&form.email)?;
    passwords::acceptable(&form.password)?;
    let name = form.business_name.trim();
    if name.is_empty() || name.chars().count() > merchants::NAME_CHARS_MAX {
        return Err(AccountError::InvalidName);
    }
    let hash = passwords::hash(form.password).await;
    let merchant_id = new_id::<MerchantKind>();
    let user_id = new_id::<UserKind>();
    // The new merchant's rows are written as that merchant, in test mode, like any of its requests.
    let scope = Scope { merchant_id, mode: Mode::Test };
    // The new owner made all of it (the audit rows name them).
    let actor = user_id.to_string();
    let (publishable_key, secret_key) = tenancy::scope(
        scope,
        crate::domain::actor::scope(actor, async {
            let mut tx = pool.begin().await?;
            insert_user(&mut tx, user_id, &email, &hash).await?;
            merchants::insert(&mut tx, merchant_id, name, None).await?;
            add_member(&mut tx, merchant_id, user_id, super::Role::Owner).await?;
            let (_, publishable) =
                api_keys::create(&mut tx, pepper, merchant_id, Mode::Test, KeyKind::Publishable).await?;
            let (_, secret) = api_keys::create(&mut tx, pepper, merchant_id, Mode::Test, KeyKind::Secret).await?;
            tx.commit().await?;
            Ok::<_, AccountError>((publishable, secret))
        }),
    )
    .await?;
    let token = sessions::open(pool, user_id, merchant_id, true).await?;
    Ok(SignedUp { merchant_id, user_id, token, publishable_key, secret_key })
}

/// A new user with `password` in `merchant`'s team as `role`: the operator's CLI (`create-user`), and the demo
/// sign-in `make dev` prints.
pub async fn create_member(
    pool: &PgPool,
    merchant_id: MerchantId,
    email: &str,
    password: String,
    role: super::Role,
) -> Result<UserId, AccountError> {
    let email = normalize_email(email)?;
    passwords::acceptable(&password)?;
    let hash = passwords::hash(password).await;
    let user_id = new_id::<UserKind>();
    let scope = Scope { merchant_id, mode: Mode::Test };
    tenancy::scope(scope, async {
        let mut tx = pool.begin().await?;
        insert_user(&mut tx, user_id, &email, &hash).await?;
        add_member(&mut tx, merchant_id, user_id, role).await?;
        tx.commit().await?;
        Ok(user_id)
    })
    .await
}

/// A new user in the caller's transaction, or `EmailTaken` (the address's owner is not told apart otherwise).
pub(super) async fn insert_user(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    email: &str,
    hash: &str,
) -> Result<(), AccountError> {
    let created: bool = sqlx::query_scalar("SELECT dashboard_user_create($1, $2, $3)")
        .bind(user_id.to_string())
        .bind(email)
        .bind(hash)
        .fetch_one(conn)
        .await?;
    if created { Ok(()) } else { Err(AccountError::EmailTaken) }
}

/// `user` joins `merchant`'s team as `role` (nothing when they are in it already), in the caller's transaction.
pub(super) async fn add_member(
    conn: &mut sqlx::PgConnection,
    merchant_id: MerchantId,
    user_id: UserId,
    role: super::Role,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO memberships (merchant_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(merchant_id.to_string())
        .bind(user_id.to_string())
        .bind(role.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A successful sign-in: the new session, and whether it still owes a second factor.
pub struct SignedIn {
    pub token: SessionToken,
    pub needs_second_factor: bool,
}

pub async fn sign_in(pool: &PgPool, email: &str, password: String) -> Result<SignedIn, AccountError> {
    // A malformed address is checked like an unknown one: the same work, the same answer.
    let email = normalize_email(email).unwrap_or_default();
    let attempt = Attempt::begin(pool, &email).await?;
    let account: Option<(String, String, bool)> =
        sqlx::query_as("SELECT id, password_hash, totp_secret IS NOT NULL FROM dashboard_credentials($1)")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    let (id, hash, totp) = match account {
        Some((id, hash, totp)) => (Some(id), Some(hash), totp),
        None => (None, None, false),
    };
    if !passwords::verify(password, hash).await {
        return Err(AccountError::WrongCredentials);
    }
    let user = id.and_then(|id| UserId::parse(&id).ok()).ok_or(AccountError::WrongCredentials)?;
    attempt.succeeded(pool).await?;
    let merchant = memberships(pool, user).await?.into_iter().next().ok_or(AccountError::NoTeam)?;
    let token = sessions::open(pool, user, merchant.merchant_id, !totp).await?;
    Ok(SignedIn { token, needs_second_factor: totp })
}

/// One try at an address's password or code, counted before it is checked, so parallel guesses cannot all slip
/// under the limit (migration 0023). Taken back when it succeeds; a failure stays counted.
pub struct Attempt {
    email_hash: Vec<u8>,
}

impl Attempt {
    /// Counts the try, or refuses it when the address already had `FAILURES_MAX` within `FAILURE_WINDOW`.
    pub async fn begin(pool: &PgPool, email: &str) -> Result<Attempt, AccountError> {
        let email_hash = Sha256::digest(email.as_bytes()).to_vec();
        let tries: i32 = sqlx::query_scalar("SELECT dashboard_sign_in_attempt($1, make_interval(secs => $2))")
            .bind(&email_hash)
            .bind(FAILURE_WINDOW.as_secs() as f64)
            .fetch_one(pool)
            .await?;
        if tries > FAILURES_MAX {
            return Err(AccountError::Throttled);
        }
        Ok(Attempt { email_hash })
    }

    pub async fn succeeded(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT dashboard_sign_in_succeeded($1)").bind(&self.email_hash).execute(pool).await?;
        Ok(())
    }
}

/// A merchant a user belongs to.
#[derive(Debug, Clone)]
pub struct Membership {
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    pub role: super::Role,
}

/// The merchants `user` belongs to, first joined first.
pub async fn memberships(pool: &PgPool, user: UserId) -> Result<Vec<Membership>, sqlx::Error> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT merchant_id, merchant_name, role FROM dashboard_memberships($1)")
            .bind(user.to_string())
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(merchant, merchant_name, role)| {
            Some(Membership {
                merchant_id: MerchantId::parse(&merchant).ok()?,
                merchant_name,
                role: super::Role::parse(&role)?,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(normalize_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@example", "ada@.com", "ada@com.", "a da@example.com", "a@b@c.de"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
        assert!(normalize_email("ada\0@example.com").is_err());
    }
}
