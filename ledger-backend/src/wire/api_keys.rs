//! An API key as the API answers it: never the key itself, except once, at creation.

use super::{Timestamp, livemode};
use paygate_core::api_key::KeyKind;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ApiKey {
    pub id: String,
    object: &'static str,
    pub kind: KeyKind,
    pub livemode: bool,
    /// The prefix and last characters, to recognise the key by.
    pub redacted: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
    /// When the edge last looked it up (to within a minute: the edge caches what it looked up).
    pub last_used: Option<Timestamp>,
}

impl ApiKey {
    pub fn new(
        id: String,
        kind: KeyKind,
        mode: paygate_core::Mode,
        redacted: String,
        created: i64,
        revoked: Option<i64>,
        last_used: Option<i64>,
    ) -> Self {
        ApiKey {
            id,
            object: "api_key",
            kind,
            livemode: livemode(mode),
            redacted,
            created: Timestamp(created),
            revoked: revoked.map(Timestamp),
            last_used: last_used.map(Timestamp),
        }
    }
}

/// A new key with the key itself: answered once, at creation (only its keyed hash is stored).
#[derive(Debug, Serialize)]
pub struct WithKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    pub key: String,
}
