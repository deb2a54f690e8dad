//! The optional second factor: a TOTP app (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew), whose
//! secret is sealed at rest like every secret here (`core::sealed`, bound to the user). A code is good once: the
//! step it matched is spent. Wrong codes count as failed sign-ins of the address, so guessing is throttled too.

use super::accounts::{self, AccountError};
use super::sessions::{self, Session};
use paygate_core::sealed::{self, DataKeys, Sealed};
use sqlx::PgPool;
use totp_rs::{Builder, Secret, Totp};

const ISSUER: &str = "Paygate";

#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error("that code is wrong or was used already; enter the current code from your app")]
    WrongCode,
    #[error("the setup key is not one this page gave; start again")]
    BadSecret,
    #[error("two-step sign-in is not set up for this account")]
    NotEnabled,
    #[error("two-step sign-in is on already; turn it off first, with a code from your app")]
    AlreadyOn,
    #[error("the second factor could not be sealed or opened: {0}")]
    Sealing(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn totp(secret: Vec<u8>, email: &str) -> Result<Totp, SecondFactorError> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(email.replace(':', ""))
        .build()
        .map_err(|_| SecondFactorError::BadSecret)
}

fn now() -> u64 {
    crate::ids::unix_seconds_now().max(0) as u64
}

/// A fresh secret for the setup page: its base32 (to type in) and the `otpauth://` URL (for apps that take one).
pub fn new_setup(email: &str) -> (String, String) {
    let mut random = [0u8; 20];
    getrandom::fill(&mut random).expect("the operating system's random source is unavailable");
    let secret = Secret::from(random.to_vec());
    let base32 = secret.to_base32();
    let url = totp(random.to_vec(), email)
        .and_then(|t| t.to_url().map_err(|_| SecondFactorError::BadSecret))
        .unwrap_or_default();
    (base32, url)
}

fn context(session: &Session) -> String {
    format!("totp:{}", session.user_id)
}

/// Turns the second factor on, once `code` proves the user's app holds `secret_base32`.
pub async fn enable(
    pool: &PgPool,
    keys: &DataKeys,
    session: &Session,
    secret_base32: &str,
    code: &str,
) -> Result<(), SecondFactorError> {
    // A second factor in place is changed only by turning it off first, with a code from it: a session alone
    // (a stolen cookie, say) cannot swap in its own.
    if session.has_totp {
        return Err(SecondFactorError::AlreadyOn);
    }
    let secret = Secret::try_from_base32(secret_base32.trim()).map_err(|_| SecondFactorError::BadSecret)?;
    let bytes = secret.as_ref().to_vec();
    let step = totp(bytes.clone(), &session.email)?.check(code.trim(), now()).ok_or(SecondFactorError::WrongCode)?;
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| SecondFactorError::Sealing(e.to_string()))?;
    let sealed =
        sealed::seal(keys, &bytes, &context(session), nonce).map_err(|e| SecondFactorError::Sealing(e.to_string()))?;
    let stored = serde_json::to_vec(&sealed).expect("a sealed value always serializes");
    sessions::set_totp(pool, &session.token, Some(stored)).await?;
    sessions::spend_totp_step(pool, &session.token, step as i64).await?;
    audit(pool, session, "user.two_step_enabled").await?;
    Ok(())
}

/// The audit row of a change to the user's second factor, in the merchant the session works in (run inside its
/// tenancy scope).
async fn audit(pool: &PgPool, session: &Session, action: &str) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let user = session.user_id.to_string();
    let entry = crate::domain::journal::AuditEntry {
        actor: &user,
        action,
        object_type: "user",
        object_id: &user,
        request_id: None,
        data: serde_json::json!({}),
    };
    crate::domain::journal::audit(&mut conn, session.scope(), entry).await
}

/// The user's app, opened from its sealed secret.
async fn app_of(pool: &PgPool, keys: &DataKeys, session: &Session) -> Result<Totp, SecondFactorError> {
    let stored: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT totp_secret FROM dashboard_credentials($1)")
        .bind(&session.email)
        .fetch_optional(pool)
        .await?;
    let stored = stored.flatten().ok_or(SecondFactorError::NotEnabled)?;
    let sealed: Sealed = serde_json::from_slice(&stored).map_err(|e| SecondFactorError::Sealing(e.to_string()))?;
    let bytes =
        sealed::open(keys, &sealed, &context(session)).map_err(|e| SecondFactorError::Sealing(e.to_string()))?;
    totp(bytes, &session.email)
}

/// Checks `code` for the session's user, once; a wrong one is a failed sign-in of the address.
async fn check(pool: &PgPool, keys: &DataKeys, session: &Session, code: &str) -> Result<(), SecondFactorError> {
    let attempt = accounts::Attempt::begin(pool, &session.email).await?;
    let app = app_of(pool, keys, session).await?;
    let spent = match app.check(code.trim(), now()) {
        Some(step) => sessions::spend_totp_step(pool, &session.token, step as i64).await?,
        None => false,
    };
    if !spent {
        return Err(SecondFactorError::WrongCode);
    }
    attempt.succeeded(pool).await?;
    Ok(())
}

/// The sign-in's second step: a new, verified session replaces the one that gave only the password (a token seen
/// before the second factor never carries its rights).
pub async fn verify(
    pool: &PgPool,
    keys: &DataKeys,
    session: &Session,
    code: &str,
) -> Result<sessions::SessionToken, SecondFactorError> {
    check(pool, keys, session, code).await?;
    let token = sessions::open(pool, session.user_id, session.merchant_id, true).await?;
    sessions::revoke(pool, &session.token, false).await?;
    Ok(token)
}

/// Turns the second factor off, with a current code.
pub async fn disable(pool: &PgPool, keys: &DataKeys, session: &Session, code: &str) -> Result<(), SecondFactorError> {
    check(pool, keys, session, code).await?;
    sessions::set_totp(pool, &session.token, None).await?;
    audit(pool, session, "user.two_step_disabled").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_key_reads_back_to_an_app_whose_codes_check() {
        let (base32, url) = new_setup("ada@example.com");
        assert!(url.starts_with("otpauth://totp/Paygate:ada%40example.com?secret="), "{url}");
        let bytes = Secret::try_from_base32(&base32).unwrap().as_ref().to_vec();
        let app = totp(bytes, "ada@example.com").unwrap();
        let code = app.generate(1_000_000);
        assert_eq!(app.check(&code.to_string(), 1_000_000), Some(1_000_000 / 30));
        assert_eq!(app.check("000000x", 1_000_000), None);
    }
}
