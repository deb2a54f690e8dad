//! API keys: `pk_test_…`, `pk_live_…`, `sk_test_…`, `sk_live_…`. The prefix states what the key may do
//! (publishable or secret) and which data it sees (test or live); the random part is at least 32 base62
//! characters. Keys are stored only as keyed hashes (see `signature::keyed_hash`).

use core::fmt;

/// Characters of randomness in keys we issue. 43 base62 characters carry more than 240 bits even after
/// the small modulo bias of drawing them from bytes.
pub const API_KEY_RANDOM_CHARS: usize = 43;
/// The least we accept from a caller, per the API contract.
pub const API_KEY_RANDOM_CHARS_MIN: usize = 32;
/// Longer input is not one of our keys; refuse it before hashing anything.
pub const API_KEY_RANDOM_CHARS_MAX: usize = 128;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which world a key lives in. Test and live data never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    pub fn is_live(self) -> bool {
        self == Mode::Live
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// `pk_`: safe in a browser; may only create tokens and read public configuration.
    Publishable,
    /// `sk_`: everything else; lives on the merchant's server.
    Secret,
}

impl KeyKind {
    pub const ALL: [KeyKind; 2] = [KeyKind::Publishable, KeyKind::Secret];

    /// Every kind's spelling, for the API's documented enums.
    pub fn names() -> [&'static str; 2] {
        KeyKind::ALL.map(KeyKind::as_str)
    }

    /// The kind as stored and sent between the parts: `publishable` or `secret`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Publishable => "publishable",
            KeyKind::Secret => "secret",
        }
    }

    pub fn parse(text: &str) -> Option<KeyKind> {
        match text {
            "publishable" => Some(KeyKind::Publishable),
            "secret" => Some(KeyKind::Secret),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Publishable => "pk",
            KeyKind::Secret => "sk",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("API key must start with pk_test_, pk_live_, sk_test_ or sk_live_")]
    UnknownPrefix,
    #[error("API key is malformed")]
    Malformed,
}

/// A syntactically valid API key. Whether it exists and is active is the backend's answer, not ours.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    text: String,
    kind: KeyKind,
    mode: Mode,
}

impl ApiKey {
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let (kind, mode, random) = [
            (KeyKind::Publishable, Mode::Test),
            (KeyKind::Publishable, Mode::Live),
            (KeyKind::Secret, Mode::Test),
            (KeyKind::Secret, Mode::Live),
        ]
        .into_iter()
        .find_map(|(kind, mode)| {
            let prefix = format!("{}_{}_", kind.prefix(), mode.as_str());
            text.strip_prefix(prefix.as_str()).map(|rest| (kind, mode, rest))
        })
        .ok_or(ApiKeyError::UnknownPrefix)?;
        let length_ok = (API_KEY_RANDOM_CHARS_MIN..=API_KEY_RANDOM_CHARS_MAX).contains(&random.len());
        if !length_ok || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiKeyError::Malformed);
        }
        Ok(ApiKey { text: text.to_owned(), kind, mode })
    }

    /// Issues a new key from `API_KEY_RANDOM_CHARS` random bytes supplied by the caller's CSPRNG.
    pub fn generate(kind: KeyKind, mode: Mode, random: [u8; API_KEY_RANDOM_CHARS]) -> Self {
        let mut text = format!("{}_{}_", kind.prefix(), mode.as_str());
        text.extend(random.iter().map(|b| BASE62[usize::from(*b) % BASE62.len()] as char));
        ApiKey { text, kind, mode }
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The key as the merchant holds it. Shown once at creation; never logged or stored.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `sk_test_…a1B2`: enough to recognise a key in a dashboard, useless to an attacker.
    pub fn redacted(&self) -> String {
        let prefix_len = self.kind.prefix().len() + self.mode.as_str().len() + 2;
        format!("{}…{}", &self.text[..prefix_len], &self.text[self.text.len() - 4..])
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_decide_kind_and_mode() {
        let key = ApiKey::generate(KeyKind::Secret, Mode::Live, [7; API_KEY_RANDOM_CHARS]);
        let parsed = ApiKey::parse(key.expose()).unwrap();
        assert_eq!((parsed.kind(), parsed.mode()), (KeyKind::Secret, Mode::Live));
        let pk = format!("pk_test_{}", "a".repeat(32));
        assert_eq!(ApiKey::parse(&pk).map(|k| (k.kind(), k.mode())), Ok((KeyKind::Publishable, Mode::Test)));
        assert_eq!(ApiKey::parse(&format!("rk_test_{}", "a".repeat(32))), Err(ApiKeyError::UnknownPrefix));
        assert_eq!(ApiKey::parse(&format!("sk_test_{}", "a".repeat(31))), Err(ApiKeyError::Malformed));
        assert_eq!(ApiKey::parse(&format!("sk_test_{}!", "a".repeat(32))), Err(ApiKeyError::Malformed));
        assert_eq!(ApiKey::parse(&format!("sk_test_{}", "a".repeat(129))), Err(ApiKeyError::Malformed));
        assert_eq!(ApiKey::parse(""), Err(ApiKeyError::UnknownPrefix));
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::generate(KeyKind::Secret, Mode::Test, [200; API_KEY_RANDOM_CHARS]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose()), "{shown}");
        assert!(shown.starts_with("ApiKey(sk_test_…"));
    }
}
