//! Dashboard sessions, kept server-side in PostgreSQL (migration 0022). The browser holds a random token in an
//! HttpOnly cookie; the database holds only its SHA-256, so a copy of the table opens nothing. A session has an
//! idle and an absolute lifetime, is replaced by a new one at every sign-in (no fixation), and sign-out revokes
//! it (or every session of the user). Each carries its own CSRF token, which every state-changing request
//! sends back.

use super::Role;
use paygate_core::Mode;
use paygate_core::id::{MerchantId, UserId};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;

/// A session unused for this long is over.
pub const IDLE: Duration = Duration::from_secs(60 * 60);
/// And any session this old, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// The secret the browser holds: 32 random bytes, base64url. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    fn generate() -> SessionToken {
        SessionToken(random_text())
    }

    /// The token of a cookie's value, if it has a token's shape (anything else opens nothing).
    pub fn parse(text: &str) -> Option<SessionToken> {
        (text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| SessionToken(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// 32 random bytes as base64url without padding (43 characters).
pub fn random_text() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A live session: who, for which merchant and mode, with which role.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: SessionToken,
    pub user_id: UserId,
    pub email: String,
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    pub role: Role,
    pub mode: Mode,
    pub csrf_token: String,
    /// False while a second factor is still owed.
    pub verified: bool,
    /// Whether the merchant has live mode (its owner completed the business profile).
    pub live_enabled: bool,
    pub has_totp: bool,
}

impl Session {
    pub fn scope(&self) -> crate::domain::tenancy::Scope {
        crate::domain::tenancy::Scope { merchant_id: self.merchant_id, mode: self.mode }
    }

    /// Whether `sent` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, sent: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.csrf_token.as_bytes().ct_eq(sent.as_bytes()))
    }
}

/// A new session for `user` looking at `merchant` in test mode. `verified` is false when a second factor is
/// still owed.
pub async fn open(
    pool: &PgPool,
    user: UserId,
    merchant: MerchantId,
    verified: bool,
) -> Result<SessionToken, sqlx::Error> {
    let token = SessionToken::generate();
    let opened: bool = sqlx::query_scalar("SELECT dashboard_session_open($1, $2, $3, $4, $5)")
        .bind(token.hash())
        .bind(user.to_string())
        .bind(merchant.to_string())
        .bind(random_text())
        .bind(verified)
        .fetch_one(pool)
        .await?;
    if !opened {
        // Only a member gets a session in a merchant (migration 0023); the callers ask for their own.
        return Err(sqlx::Error::Protocol(format!("{user} is not a member of {merchant}")));
    }
    Ok(token)
}

/// The live session of `token`, touched (at most once a minute); `None` when unknown, revoked, idle too long, too old, or its user no
/// longer belongs to its merchant.
pub async fn find(pool: &PgPool, token: &SessionToken) -> Result<Option<Session>, sqlx::Error> {
    type Row = (String, String, String, String, String, String, String, bool, bool, bool);
    let row: Option<Row> = sqlx::query_as(
        "SELECT user_id, email, merchant_id, merchant_name, role, mode, csrf_token, verified, live_enabled, has_totp
         FROM dashboard_session($1, make_interval(secs => $2), make_interval(secs => $3))",
    )
    .bind(token.hash())
    .bind(IDLE.as_secs() as f64)
    .bind(ABSOLUTE.as_secs() as f64)
    .fetch_optional(pool)
    .await?;
    let Some((user, email, merchant, merchant_name, role, mode, csrf_token, verified, live_enabled, has_totp)) = row
    else {
        return Ok(None);
    };
    let corrupt = |what: &str| sqlx::Error::Decode(format!("dashboard session: bad {what}").into());
    Ok(Some(Session {
        token: token.clone(),
        user_id: UserId::parse(&user).map_err(|_| corrupt("user id"))?,
        email,
        merchant_id: MerchantId::parse(&merchant).map_err(|_| corrupt("merchant id"))?,
        merchant_name,
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        mode: Mode::parse(&mode).ok_or_else(|| corrupt("mode"))?,
        csrf_token,
        verified,
        live_enabled,
        has_totp,
    }))
}

/// Points the session at `merchant` in `mode` (the user must belong to it) and records whether its second
/// factor was given. False when the session is gone or the user is not a member.
pub async fn set(
    pool: &PgPool,
    token: &SessionToken,
    merchant: MerchantId,
    mode: Mode,
    verified: bool,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT dashboard_session_set($1, $2, $3, $4)")
        .bind(token.hash())
        .bind(merchant.to_string())
        .bind(mode.as_str())
        .bind(verified)
        .fetch_one(pool)
        .await
}

/// Ends the session, or every session of its user; returns how many ended.
pub async fn revoke(pool: &PgPool, token: &SessionToken, everywhere: bool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT dashboard_session_revoke($1, $2)")
        .bind(token.hash())
        .bind(everywhere)
        .fetch_one(pool)
        .await
}

/// Spends a TOTP time step for the session's user: true only the first time (a code is good once).
pub async fn spend_totp_step(pool: &PgPool, token: &SessionToken, step: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT dashboard_totp_spend($1, $2)").bind(token.hash()).bind(step).fetch_one(pool).await
}

/// Sets (or with `None` clears) the sealed TOTP secret of the session's user.
pub async fn set_totp(pool: &PgPool, token: &SessionToken, sealed: Option<Vec<u8>>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT dashboard_totp_set($1, $2)").bind(token.hash()).bind(sealed).fetch_one(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_shape_parses() {
        let (a, b) = (SessionToken::generate(), SessionToken::generate());
        assert_ne!(a, b);
        assert_eq!(SessionToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(format!("{a:?}"), "SessionToken(***)");
        for bad in ["", "short", &format!("{}=", &a.expose()[..42]), &format!("{}\0", &a.expose()[..42])] {
            assert_eq!(SessionToken::parse(bad), None, "{bad:?}");
        }
    }
}
