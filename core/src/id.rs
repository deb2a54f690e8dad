//! Typed, prefixed, time-sortable ids: `ch_01jd3x...`. The body is a ULID (48-bit millisecond time, then
//! 80 random bits) in lower-case Crockford base32, so ids sort by creation time as plain strings and as
//! database text, and a `ChargeId` can never be passed where a `RefundId` is expected.
//!
//! Core cannot read the clock or a random source: callers pass both in.

use core::fmt;
use core::marker::PhantomData;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 26 base32 characters carry 130 bits; the first holds only the top 3 of the 128.
const BODY_CHARS: usize = 26;

/// The kinds of object that have ids, each with its wire prefix.
pub trait IdKind {
    const PREFIX: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id must start with `{expected}_`")]
    WrongPrefix { expected: &'static str },
    #[error("id is malformed")]
    Malformed,
}

/// An id of kind `K`. Stored as its 128-bit value; rendered with the prefix.
pub struct Id<K> {
    value: u128,
    kind: PhantomData<K>,
}

impl<K: IdKind> Id<K> {
    /// Builds an id from the creation time and 80 random bits.
    pub fn new(unix_ms: u64, random: [u8; 10]) -> Self {
        let mut value = u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80;
        for (i, byte) in random.iter().enumerate() {
            value |= u128::from(*byte) << (72 - 8 * i);
        }
        Id { value, kind: PhantomData }
    }

    pub fn parse(text: &str) -> Result<Self, IdError> {
        let body = text
            .strip_prefix(K::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(IdError::WrongPrefix { expected: K::PREFIX })?;
        if body.len() != BODY_CHARS {
            return Err(IdError::Malformed);
        }
        let mut value: u128 = 0;
        for (i, byte) in body.bytes().enumerate() {
            let digit = ALPHABET.iter().position(|&a| a == byte).ok_or(IdError::Malformed)? as u128;
            // The first character may only carry 3 bits, or the value would pass 128 bits.
            if i == 0 && digit > 7 {
                return Err(IdError::Malformed);
            }
            value = (value << 5) | digit;
        }
        Ok(Id { value, kind: PhantomData })
    }

    /// Creation time in Unix milliseconds.
    pub fn unix_ms(&self) -> u64 {
        (self.value >> 80) as u64
    }

    pub fn as_u128(&self) -> u128 {
        self.value
    }
}

/// Mints ids that strictly increase, also within one millisecond (a monotonic ULID): when the clock has
/// not moved past the last id's time, the next id keeps that time and adds one to its random part. Objects
/// written in one transaction, such as a refund and the charge event it causes, then list in the order they
/// were made. Pure: the caller passes the time and fresh randomness, and owns the minter (one per process).
#[derive(Debug, Clone, Copy, Default)]
pub struct Minter {
    last_ms: u64,
    last_random: u128,
}

/// The random part is 80 bits.
const RANDOM_MAX: u128 = (1 << 80) - 1;

impl Minter {
    pub const fn new() -> Self {
        Minter { last_ms: 0, last_random: 0 }
    }

    pub fn next<K: IdKind>(&mut self, now_ms: u64, random: [u8; 10]) -> Id<K> {
        let fresh = random.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let (ms, random) = if now_ms > self.last_ms {
            (now_ms, fresh)
        } else if self.last_random < RANDOM_MAX {
            (self.last_ms, self.last_random + 1)
        } else {
            // 2^80 ids in one millisecond cannot happen; stay correct anyway by borrowing the next one.
            (self.last_ms + 1, fresh)
        };
        (self.last_ms, self.last_random) = (ms, random);
        let bytes = random.to_be_bytes();
        let mut tail = [0u8; 10];
        tail.copy_from_slice(&bytes[6..]);
        Id::new(ms, tail)
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body = [0u8; BODY_CHARS];
        for (i, slot) in body.iter_mut().enumerate() {
            let shift = 5 * (BODY_CHARS - 1 - i);
            *slot = ALPHABET[((self.value >> shift) & 0x1F) as usize];
        }
        // The alphabet is ASCII, so the body is valid UTF-8.
        write!(f, "{}_{}", K::PREFIX, core::str::from_utf8(&body).unwrap_or_default())
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// Manual impls: derives would needlessly require `K` itself to be Clone, Eq, ...
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Id<K> {}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}
impl<K> core::hash::Hash for Id<K> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<K: IdKind> core::str::FromStr for Id<K> {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::parse(s)
    }
}

impl<K: IdKind> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, K: IdKind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Id::parse(&raw).map_err(serde::de::Error::custom)
    }
}

macro_rules! id_kinds {
    ($($(#[$doc:meta])* $alias:ident, $kind:ident, $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $kind {}
        impl IdKind for $kind {
            const PREFIX: &'static str = $prefix;
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    )*};
}

id_kinds! {
    /// A merchant account.
    MerchantId, MerchantKind, "acct";
    /// An API key's public identifier (not the secret key itself).
    ApiKeyId, ApiKeyKind, "key";
    ChargeId, ChargeKind, "ch";
    /// One processor call made for a charge.
    AttemptId, AttemptKind, "att";
    RefundId, RefundKind, "re";
    /// A single-use card token in the edge vault.
    TokenId, TokenKind, "tok";
    EventId, EventKind, "evt";
    WebhookEndpointId, WebhookEndpointKind, "we";
    /// One delivery attempt of an event to an endpoint.
    DeliveryId, DeliveryKind, "dlv";
    /// A merchant's account at a processor (connector, sealed credentials, settings).
    ProcessorAccountId, ProcessorAccountKind, "pa";
    /// A processor's settlement report, imported.
    SettlementReportId, SettlementReportKind, "srpt";
    /// One reconciliation of a processor account's report rows against the ledger.
    ReconciliationRunId, ReconciliationRunKind, "rrun";
    /// A discrepancy reconciliation found, worked by an operator.
    ReconciliationExceptionId, ReconciliationExceptionKind, "rexc";
    /// Money paid out to a merchant's bank by a processor.
    PayoutId, PayoutKind, "po";
    /// A web domain a merchant registered for Apple Pay.
    ApplePayDomainId, ApplePayDomainKind, "apd";
    /// A ledger journal transaction.
    LedgerTransactionId, LedgerTransactionKind, "ltx";
    /// A row of the hash-chained audit log.
    AuditId, AuditKind, "aud";
    /// A person who signs in to the merchant dashboard (one may belong to several merchants).
    UserId, UserKind, "usr";
    /// An invitation to join a merchant's team in the dashboard.
    InvitationId, InvitationKind, "inv";
    /// A charge list's filter, saved by a dashboard user under a name.
    SavedViewId, SavedViewKind, "view";
    /// A request, as carried in the `Request-Id` header.
    RequestId, RequestKind, "req";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_prefix_check() {
        let id = ChargeId::new(1_795_240_800_000, [0xAB; 10]);
        let text = id.to_string();
        assert!(text.starts_with("ch_") && text.len() == 29, "{text}");
        assert_eq!(ChargeId::parse(&text), Ok(id));
        assert_eq!(id.unix_ms(), 1_795_240_800_000);
        assert_eq!(RefundId::parse(&text), Err(IdError::WrongPrefix { expected: "re" }));
        assert_eq!(ChargeId::parse("ch_"), Err(IdError::Malformed));
        assert_eq!(ChargeId::parse("ch_8zzzzzzzzzzzzzzzzzzzzzzzzz"), Err(IdError::Malformed));
        assert_eq!(ChargeId::parse("ch_0000000000000000000000000u"), Err(IdError::Malformed));
        assert_eq!(ChargeId::parse("ch_7zzzzzzzzzzzzzzzzzzzzzzzzz").map(|i| i.as_u128()), Ok(u128::MAX));
    }

    #[test]
    fn a_minter_strictly_increases_within_a_millisecond_and_when_the_clock_steps_back() {
        let mut minter = Minter::default();
        let mut previous = minter.next::<ChargeKind>(1_000, [0xFF; 10]);
        for (ms, random) in [(1_000, [0u8; 10]), (1_000, [7; 10]), (999, [0; 10]), (1_001, [0; 10]), (1_001, [0; 10])] {
            let id = minter.next::<ChargeKind>(ms, random);
            assert!(id.to_string() > previous.to_string(), "{id} after {previous}");
            previous = id;
        }
        // The random part is full at 1000 ms: the minter moves on to the next millisecond.
        let mut full = Minter::default();
        let a = full.next::<ChargeKind>(5, [0xFF; 10]);
        let b = full.next::<ChargeKind>(5, [0; 10]);
        assert_eq!((a.unix_ms(), b.unix_ms()), (5, 6));
    }

    #[test]
    fn later_ids_sort_after_earlier_ones_as_text() {
        let early = ChargeId::new(1_000, [0xFF; 10]).to_string();
        let late = ChargeId::new(1_001, [0x00; 10]).to_string();
        assert!(early < late);
    }
}
