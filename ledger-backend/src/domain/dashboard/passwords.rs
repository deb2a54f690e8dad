//! Password hashes: argon2id with the crate's defaults (OWASP's m = 19 MiB, t = 2, p = 1), in PHC strings.
//!
//! Hashing is deliberately slow and memory-hungry, so it runs on the blocking pool, at most `CONCURRENT` at a
//! time: a burst of sign-ins queues instead of taking every core and gigabytes of memory. A sign-in for an
//! address without an account checks the password against a dummy hash all the same, so both failures take
//! the same time and say the same thing.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Shortest and longest passwords taken (NIST SP 800-63B: at least 8; a bound keeps hashing cost fixed).
pub const CHARS_MIN: usize = 10;
pub const BYTES_MAX: usize = 256;
const CONCURRENT: usize = 2;

static SLOTS: Semaphore = Semaphore::const_new(CONCURRENT);
static DUMMY: LazyLock<String> = LazyLock::new(|| hash_now("paygate dummy password").unwrap_or_default());

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {CHARS_MIN} characters")]
    TooShort,
    #[error("the password must be at most {BYTES_MAX} bytes")]
    TooLong,
}

/// Whether `password` may be chosen.
pub fn acceptable(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < CHARS_MIN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > BYTES_MAX {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

fn hash_now(password: &str) -> Option<String> {
    Argon2::default().hash_password(password.as_bytes()).ok().map(|hash| hash.to_string())
}

/// The PHC string of a new hash of `password`.
pub async fn hash(password: String) -> String {
    let _slot = SLOTS.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .ok()
        .flatten()
        .expect("argon2 with its default parameters hashes any password of bounded length")
}

/// Whether `password` matches `hash`; with no hash (no such account) the work is done against a dummy and
/// the answer is false.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    if password.len() > BYTES_MAX {
        return false;
    }
    let _slot = SLOTS.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.clone());
        Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hash = super::hash("correct horse battery".to_owned()).await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify("correct horse battery".to_owned(), Some(hash.clone())).await);
        assert!(!verify("correct horse battery!".to_owned(), Some(hash)).await);
        assert!(!verify("paygate dummy password".to_owned(), None).await, "no account never matches");
    }

    #[test]
    fn passwords_are_bounded() {
        assert_eq!(acceptable("short"), Err(PasswordError::TooShort));
        assert_eq!(acceptable(&"x".repeat(BYTES_MAX + 1)), Err(PasswordError::TooLong));
        assert_eq!(acceptable("ten chars!"), Ok(()));
    }
}
