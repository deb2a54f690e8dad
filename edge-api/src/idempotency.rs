//! Idempotency at the edge (draft-ietf-httpapi-idempotency-key-header; docs/design.md §5): the object that holds
//! a (merchant, mode, Idempotency-Key) alone decides, one request at a time, whether a request proceeds, is
//! still in flight (409), reuses the key for a different request (422) or is a retry of a finished one (the
//! stored answer, replayed with `Idempotent-Replayed: true`). Answers of 5xx are not stored (the request's outcome
//! is unknown), so a retry reaches the backend, whose own deduplication on (merchant, mode, key) makes it safe.
//! Records live `ttl` (24 h by default); an alarm deletes them.
//!
//! One object holds the keys of one of `BUCKETS` buckets of a merchant's mode (the bucket is a digit of the key's
//! hash), not one object per key: a new key then reaches an object that is already running, with its storage
//! open, instead of creating one. Creating an object per charge was the largest part of the edge's idempotency
//! hop (the benchmark's Server-Timing: about 1.9 ms for a new key against 0.3 ms for a replay on a live object).
//! Each record is a storage entry of its key, with an entry of its expiry beside it, which the alarm walks.

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::idempotency::{self, IdempotencyKey};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use worker::{DurableObject, Env, ListOptions, Request, Response, Result, State, durable_object};

pub const BINDING: &str = "IDEMPOTENCY";
/// How long a record (and so a replay) lives, unless `IDEMPOTENCY_TTL_SECONDS` says otherwise.
pub const TTL_SECONDS_DEFAULT: i64 = 24 * 60 * 60;
/// An in-flight record older than this belongs to a request that died with its isolate: the key may be
/// used again (the backend's deduplication still holds the first request's outcome).
pub const IN_FLIGHT_SECONDS_MAX: i64 = 60;

/// The key of a request, checked by core's rule (the backend applies the same one).
pub fn key_of(req: &Request) -> std::result::Result<Option<IdempotencyKey>, Refusal> {
    let Some(key) = req.headers().get(idempotency::HEADER).ok().flatten() else { return Ok(None) };
    IdempotencyKey::parse(key.as_bytes()).map(Some).map_err(|error| {
        Refusal::new(ErrorCode::IdempotencyKeyInvalid).param("Idempotency-Key").detail(error.to_string())
    })
}

/// A finished request's answer, as stored and replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Begin {
    Proceed,
    InFlight,
    Mismatch,
    Replay(StoredAnswer),
}

/// A finished request's record, as stored under its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    fingerprint: String,
    answer: StoredAnswer,
    /// Unix seconds; from then on the key is free again, whether or not the alarm has deleted the record yet.
    expires_at: i64,
}

/// Objects per merchant and mode: each holds the keys whose hash starts with its hex digit, so a merchant's
/// idempotent requests are spread over this many objects, each one request at a time.
pub const BUCKETS: usize = 16;

/// One (merchant, mode, key), in the object of its bucket.
pub struct Slot {
    stub: worker::Stub,
    /// The key's hash: no key text reaches object names or storage (object names show in dashboards).
    key: String,
    fingerprint: String,
}

impl Slot {
    pub fn new(env: &Env, merchant: &str, mode: &str, key: &str, fingerprint: String) -> Result<Self> {
        let key = idempotency::fingerprint(merchant, mode, key.as_bytes());
        let stub = crate::durable::object(env, BINDING, &object_name(merchant, mode, &key))?;
        Ok(Slot { stub, key, fingerprint })
    }

    async fn call(&self, path: &str, body: serde_json::Value) -> Result<Response> {
        crate::durable::post(&self.stub, path, body.to_string()).await
    }

    pub async fn begin(&self) -> Result<Begin> {
        let body = serde_json::json!({ "key": self.key, "fingerprint": self.fingerprint });
        crate::fetch::json(self.call("/begin", body).await?).await
    }

    /// Stores the finished answer for replays during `ttl_seconds`.
    pub async fn finish(&self, answer: &StoredAnswer, ttl_seconds: i64) -> Result<()> {
        let body = serde_json::json!({ "key": self.key, "fingerprint": self.fingerprint, "answer": answer, "ttl": ttl_seconds });
        self.call("/finish", body).await.map(|_| ())
    }

    pub async fn abort(&self) -> Result<()> {
        self.call("/abort", serde_json::json!({ "key": self.key, "fingerprint": self.fingerprint })).await.map(|_| ())
    }
}

/// The object holding `key` (a key's hash, hex): its merchant, its mode and the bucket of its first digit.
fn object_name(merchant: &str, mode: &str, key: &str) -> String {
    let digit = key.chars().next().and_then(|c| c.to_digit(16)).unwrap_or(0) as usize;
    format!("{merchant}:{mode}:{}", digit % BUCKETS)
}

/// The first half of a begin, from memory alone: a request of this key still in flight (and younger than
/// `IN_FLIGHT_SECONDS_MAX`) decides it; `None` means the stored record must decide (`begin_from_record`).
pub fn begin_in_memory(in_flight: Option<&(String, i64)>, fingerprint: &str, now: i64) -> Option<Begin> {
    match in_flight.filter(|(_, at)| now - at < IN_FLIGHT_SECONDS_MAX) {
        Some((flying, _)) if flying != fingerprint => Some(Begin::Mismatch),
        Some(_) => Some(Begin::InFlight),
        None => None,
    }
}

/// The second half: a finished answer under another request is a mismatch, under this one a replay; none, or
/// one past its time, lets the request proceed.
pub fn begin_from_record(record: Option<Record>, fingerprint: &str, now: i64) -> Begin {
    match record.filter(|r| r.expires_at > now) {
        Some(r) if r.fingerprint != fingerprint => Begin::Mismatch,
        Some(r) => Begin::Replay(r.answer),
        None => Begin::Proceed,
    }
}

/// Where a key's record is stored, and where the entry of its expiry is (ordered by time, for the alarm).
fn record_entry(key: &str) -> String {
    format!("r:{key}")
}

fn expiry_entry(expires_at: i64, key: &str) -> String {
    format!("{EXPIRY_PREFIX}{expires_at:012}:{key}")
}

/// `expiry_entry` read back: the expiry and the key.
fn parse_expiry_entry(entry: &str) -> Option<(i64, &str)> {
    let (at, key) = entry.strip_prefix(EXPIRY_PREFIX)?.split_once(':')?;
    Some((at.parse().ok()?, key))
}

const EXPIRY_PREFIX: &str = "x:";
/// Expiry entries the alarm takes per run: each goes with its record, so a run deletes at most 128 keys,
/// Cloudflare's limit for one `delete` of several.
const EXPIRED_PER_ALARM: usize = 64;

/// In flight is held in the object's memory (the object is single-threaded, so this is the one place that
/// knows); only finished answers are written to storage, after the answer was sent. So the request path waits
/// for no storage write. Should the object be evicted while a request is in flight, a retry in that moment
/// proceeds to the backend, whose own deduplication answers it with the first charge.
///
/// Expiry is checked on every read, so a record is never replayed after its time, whenever the alarm that
/// deletes it runs.
#[durable_object]
pub struct IdempotencyRecord {
    state: State,
    /// Per key hash: the fingerprint of the request in flight and when it began.
    in_flight: RefCell<HashMap<String, (String, i64)>>,
    /// An alarm is known to be set (so a finish need not ask storage).
    alarm_set: Cell<bool>,
}

#[derive(Deserialize)]
struct Ask {
    key: String,
    fingerprint: String,
    #[serde(default)]
    ttl: Option<i64>,
    #[serde(default)]
    answer: Option<StoredAnswer>,
}

impl IdempotencyRecord {
    /// Arms the alarm for the earliest expiry left (at once when the last run left expired entries behind), or
    /// notes that none is left.
    async fn arm(&self, now: i64) -> Result<()> {
        let storage = self.state.storage();
        let first = storage.list_with_options(ListOptions::new().prefix(EXPIRY_PREFIX).limit(1)).await?;
        let at = entry_keys(&first).first().and_then(|entry| Some(parse_expiry_entry(entry)?.0));
        match at {
            Some(at) => {
                // An i64 alarm time is an offset from now in workers-rs, not a timestamp.
                let after = (at - now).max(1) as u64;
                storage.set_alarm(std::time::Duration::from_secs(after)).await?;
                self.alarm_set.set(true);
            }
            None => self.alarm_set.set(false),
        }
        Ok(())
    }
}

/// The keys of a storage listing.
fn entry_keys(listing: &js_sys::Map) -> Vec<String> {
    listing.keys().into_iter().filter_map(|key| key.ok()?.as_string()).collect()
}

impl DurableObject for IdempotencyRecord {
    fn new(state: State, _env: Env) -> Self {
        IdempotencyRecord { state, in_flight: RefCell::new(HashMap::new()), alarm_set: Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = req.json().await?;
        let now = crate::backend::now_seconds();
        let ours = |in_flight: &HashMap<String, (String, i64)>| {
            in_flight.get(&ask.key).is_some_and(|(f, _)| *f == ask.fingerprint)
        };
        match req.path().as_str() {
            "/begin" => {
                // A request that died with its isolate never finished: forget it once it no longer holds its key.
                self.in_flight.borrow_mut().retain(|_, (_, at)| now - *at < IN_FLIGHT_SECONDS_MAX);
                let decided = begin_in_memory(self.in_flight.borrow().get(&ask.key), &ask.fingerprint, now);
                let outcome = match decided {
                    Some(outcome) => outcome,
                    None => {
                        let record = storage.get::<Record>(&record_entry(&ask.key)).await?;
                        // Another begin of this key may have been decided while storage was read.
                        match begin_in_memory(self.in_flight.borrow().get(&ask.key), &ask.fingerprint, now) {
                            Some(outcome) => outcome,
                            None => begin_from_record(record, &ask.fingerprint, now),
                        }
                    }
                };
                if matches!(outcome, Begin::Proceed) {
                    self.in_flight.borrow_mut().insert(ask.key, (ask.fingerprint, now));
                }
                Response::from_json(&outcome)
            }
            "/finish" => {
                let ours = ours(&self.in_flight.borrow());
                if ours && let Some(answer) = ask.answer.clone() {
                    let ttl = ask.ttl.unwrap_or(TTL_SECONDS_DEFAULT).max(1);
                    let record = Record { fingerprint: ask.fingerprint.clone(), answer, expires_at: now + ttl };
                    // Both writes are issued before either is awaited, so storage commits them together.
                    let (put, indexed) = futures_util::future::join(
                        storage.put(&record_entry(&ask.key), &record),
                        storage.put(&expiry_entry(record.expires_at, &ask.key), true),
                    )
                    .await;
                    put?;
                    indexed?;
                    self.in_flight.borrow_mut().remove(&ask.key);
                    if !self.alarm_set.get() {
                        // The first record of this object's life: an alarm may be set already (from before an
                        // eviction), and an earlier one must stay.
                        match storage.get_alarm().await? {
                            Some(_) => self.alarm_set.set(true),
                            None => self.arm(now).await?,
                        }
                    }
                }
                Response::ok("finished")
            }
            "/abort" => {
                let ours = ours(&self.in_flight.borrow());
                if ours {
                    self.in_flight.borrow_mut().remove(&ask.key);
                }
                Response::ok("aborted")
            }
            _ => Response::error("no such idempotency operation", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let now = crate::backend::now_seconds();
        let end = expiry_entry(now + 1, "");
        let listing = storage
            .list_with_options(ListOptions::new().prefix(EXPIRY_PREFIX).end(&end).limit(EXPIRED_PER_ALARM))
            .await?;
        let mut gone = Vec::new();
        for entry in entry_keys(&listing) {
            if let Some((_, key)) = parse_expiry_entry(&entry) {
                // A key used again after its record expired has a newer record, with its own expiry entry: keep it.
                let record = storage.get::<Record>(&record_entry(key)).await?;
                if record.is_some_and(|r| r.expires_at <= now) {
                    gone.push(record_entry(key));
                }
            }
            gone.push(entry);
        }
        if !gone.is_empty() {
            storage.delete_multiple(gone).await?;
        }
        // An object of one key, as the edge made them before the buckets: its whole storage was that record.
        storage.delete("record").await?;
        self.arm(now).await?;
        Response::ok("expired")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(fingerprint: &str, expires_at: i64) -> Record {
        let answer = StoredAnswer { status: 201, content_type: "application/json".into(), body: "{}".into() };
        Record { fingerprint: fingerprint.into(), answer, expires_at }
    }

    #[test]
    fn a_request_in_flight_decides_from_memory_until_it_is_too_old() {
        let flying = ("f1".to_owned(), 100);
        assert!(matches!(begin_in_memory(Some(&flying), "f1", 110), Some(Begin::InFlight)));
        assert!(matches!(begin_in_memory(Some(&flying), "f2", 110), Some(Begin::Mismatch)));
        // A request that died with its isolate no longer holds the key.
        assert!(begin_in_memory(Some(&flying), "f1", 100 + IN_FLIGHT_SECONDS_MAX).is_none());
        assert!(begin_in_memory(None, "f1", 110).is_none());
    }

    #[test]
    fn the_stored_record_replays_refuses_a_different_request_or_lets_it_proceed() {
        assert!(matches!(begin_from_record(Some(stored("f1", 200)), "f1", 100), Begin::Replay(a) if a.status == 201));
        assert!(matches!(begin_from_record(Some(stored("f1", 200)), "f2", 100), Begin::Mismatch));
        assert!(matches!(begin_from_record(None, "f1", 100), Begin::Proceed));
        // Past its time a record is no record, for the same request and for another, before the alarm deletes it.
        assert!(matches!(begin_from_record(Some(stored("f1", 200)), "f1", 200), Begin::Proceed));
        assert!(matches!(begin_from_record(Some(stored("f1", 200)), "f2", 250), Begin::Proceed));
    }

    #[test]
    fn expiry_entries_sort_by_time_and_name_their_key() {
        let key = "ab".repeat(32);
        let entry = expiry_entry(1_764_000_000, &key);
        assert_eq!(parse_expiry_entry(&entry), Some((1_764_000_000, key.as_str())));
        assert_eq!(parse_expiry_entry(&record_entry(&key)), None, "a record is no expiry entry");
        assert!(expiry_entry(999, "f") < expiry_entry(1_000, "a"), "earlier expiries list first");
        assert!(expiry_entry(1_000, "f") < expiry_entry(1_001, ""), "the alarm's end bound covers its second");
    }

    #[test]
    fn a_key_lives_in_the_bucket_of_its_hash_first_digit_under_its_merchant_and_mode() {
        let key = idempotency::fingerprint("acct_1", "test", b"order-42");
        let name = object_name("acct_1", "test", &key);
        let digit = key[..1].to_owned();
        assert_eq!(name, format!("acct_1:test:{}", usize::from_str_radix(&digit, 16).unwrap()));
        assert!(!name.contains("order-42"), "no key text in an object's name");
        assert_eq!(object_name("acct_1", "live", "f0"), "acct_1:live:15");
        assert_eq!(object_name("acct_2", "test", "0f"), "acct_2:test:0");
        // Every digit has its bucket, and no bucket is outside the count.
        let buckets: std::collections::BTreeSet<String> =
            "0123456789abcdef".chars().map(|c| object_name("m", "test", &c.to_string())).collect();
        assert_eq!(buckets.len(), BUCKETS);
    }
}
