//! The internal contract between the edge and the backend, defined once so the two sides (and the tests'
//! stand-ins) cannot drift: the internal paths, the key lookup, the revocation notice and the vault-forward
//! call. Every one of these requests carries the edge signature (`signature::edge`); the shapes below are
//! their JSON bodies.

use crate::api_key::{KeyKind, Mode};
use serde::{Deserialize, Serialize};

/// Backend: which merchant, mode and kind an active key's hash belongs to (asked by the edge).
pub const KEY_LOOKUP_PATH: &str = "/v1/internal/api_keys/lookup";
/// Edge: "this key was revoked, forget it now" (told by the backend).
pub const KEY_REVOKED_PATH: &str = "/internal/api_keys/revoked";
/// Edge: "send this processor request with the card fields of token T filled in" (asked by the backend).
pub const VAULT_FORWARD_PATH: &str = "/internal/vault/forward";

/// How long the edge waits for a processor behind the vault; the backend waits the same before it calls
/// the outcome unknown.
pub const VAULT_FORWARD_TIMEOUT_SECONDS: u64 = 10;

/// Body of `KEY_LOOKUP_PATH` and of `KEY_REVOKED_PATH`: the key's keyed hash (64 lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyHash {
    pub key_hash: String,
}

/// The answer to a key lookup: who the key belongs to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyIdentity {
    pub key_id: String,
    pub merchant_id: String,
    pub mode: Mode,
    pub kind: KeyKind,
}

/// The placeholders a vault-forward body may hold; the edge replaces them textually with digits only, so
/// they are safe inside JSON strings and as JSON numbers.
pub const PLACEHOLDER_NUMBER: &str = "{{card.number}}";
pub const PLACEHOLDER_EXP_MONTH: &str = "{{card.exp_month}}";
pub const PLACEHOLDER_EXP_YEAR: &str = "{{card.exp_year}}";
pub const PLACEHOLDER_CVC: &str = "{{card.cvc}}";

/// Body of `VAULT_FORWARD_PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultForwardRequest {
    pub token: String,
    /// The processor, by name; the edge maps it to its allow-listed host for the mode.
    pub destination: String,
    /// `POST` or `PUT`.
    pub method: String,
    /// A plain absolute path on the processor's host.
    pub path: String,
    /// The processor request's body, with placeholders.
    pub body: String,
}

/// What may be known about a card outside the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
    pub bin: String,
    pub exp_month: i16,
    pub exp_year: i16,
    /// Keyed: the same card gives the same fingerprint for one Paygate deployment, and nothing else.
    pub fingerprint: String,
}

/// The answer to a vault-forward: the processor's status and body (card number scrubbed) and the card's
/// summary. Refusals (token unknown, used, another merchant's) are problem documents instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultForwardAnswer {
    pub status: u16,
    pub body: String,
    pub card: Option<CardSummary>,
}
