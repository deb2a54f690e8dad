//! Idempotency at the edge (draft-ietf-httpapi-idempotency-key-header; docs/design.md §5): one Durable Object
//! per (merchant, mode, Idempotency-Key), which alone decides, one request at a time, whether a request
//! proceeds, is still in flight (409), reuses the key for a different request (422) or is a retry of a
//! finished one (the stored answer, replayed with `Idempotent-Replayed: true`). Answers of 5xx are not
//! stored (the request's outcome is unknown), so a retry reaches the backend, whose own deduplication on
//! (merchant, mode, key) makes it safe. Records live `ttl` (24 h by default) and an alarm deletes them.

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::idempotency::{self, IdempotencyKey};
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    fingerprint: String,
    finished_at: i64,
    answer: Option<StoredAnswer>,
}

/// The object of one (merchant, mode, key).
pub struct Slot {
    stub: worker::Stub,
    fingerprint: String,
}

impl Slot {
    pub fn new(env: &Env, merchant: &str, mode: &str, key: &str, fingerprint: String) -> Result<Self> {
        // The name is hashed so no key text reaches object names (which show in dashboards).
        let name = idempotency::fingerprint(merchant, mode, key.as_bytes());
        Ok(Slot { stub: crate::durable::object(env, BINDING, &name)?, fingerprint })
    }

    async fn call(&self, path: &str, body: serde_json::Value) -> Result<Response> {
        crate::durable::post(&self.stub, path, body.to_string()).await
    }

    pub async fn begin(&self) -> Result<Begin> {
        crate::fetch::json(self.call("/begin", serde_json::json!({ "fingerprint": self.fingerprint })).await?).await
    }

    /// Stores the finished answer for replays during `ttl_seconds`.
    pub async fn finish(&self, answer: &StoredAnswer, ttl_seconds: i64) -> Result<()> {
        let body = serde_json::json!({ "fingerprint": self.fingerprint, "answer": answer, "ttl": ttl_seconds });
        self.call("/finish", body).await.map(|_| ())
    }

    pub async fn abort(&self) -> Result<()> {
        self.call("/abort", serde_json::json!({ "fingerprint": self.fingerprint })).await.map(|_| ())
    }
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

/// The second half: a finished answer under another request is a mismatch, under this one a replay; no
/// answer (none stored, or only an unfinished one) lets the request proceed.
pub fn begin_from_record(record: Option<Record>, fingerprint: &str) -> Begin {
    match record {
        Some(r) if r.fingerprint != fingerprint => Begin::Mismatch,
        Some(Record { answer: Some(answer), .. }) => Begin::Replay(answer),
        _ => Begin::Proceed,
    }
}

/// In flight is held in the object's memory (the object is unique and single-threaded, so this is the one
/// place that knows); only finished answers are written to storage, after the answer was sent. So the
/// request path waits for no storage write. Should the object be evicted while a request is in flight, a
/// retry in that moment proceeds to the backend, whose own deduplication answers it with the first charge.
///
/// The stored record is read at most once in the object's life and then kept in memory (the object is its
/// only writer), so a retry or replay reaching a live object reads no storage. A key never seen still costs
/// that one read: a new object cannot know its storage is empty without looking.
#[durable_object]
pub struct IdempotencyRecord {
    state: State,
    in_flight: std::cell::RefCell<Option<(String, i64)>>,
    /// The stored record once read or written (`Some(None)`: storage holds none); `None` until then.
    stored: std::cell::RefCell<Option<Option<Record>>>,
}

#[derive(Deserialize)]
struct Ask {
    fingerprint: String,
    #[serde(default)]
    ttl: Option<i64>,
    #[serde(default)]
    answer: Option<StoredAnswer>,
}

impl DurableObject for IdempotencyRecord {
    fn new(state: State, _env: Env) -> Self {
        IdempotencyRecord { state, in_flight: std::cell::RefCell::new(None), stored: std::cell::RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = req.json().await?;
        let now = crate::backend::now_seconds();
        match req.path().as_str() {
            "/begin" => {
                let decided = begin_in_memory(self.in_flight.borrow().as_ref(), &ask.fingerprint, now);
                let outcome = match decided {
                    Some(outcome) => outcome,
                    None => {
                        let known = self.stored.borrow().clone();
                        let record = match known {
                            Some(record) => record,
                            None => {
                                let read = storage.get::<Record>("record").await?;
                                self.stored.replace(Some(read.clone()));
                                read
                            }
                        };
                        begin_from_record(record, &ask.fingerprint)
                    }
                };
                if matches!(outcome, Begin::Proceed) {
                    self.in_flight.replace(Some((ask.fingerprint, now)));
                }
                Response::from_json(&outcome)
            }
            "/finish" => {
                let ours = self.in_flight.borrow().as_ref().is_some_and(|(f, _)| *f == ask.fingerprint);
                if ours && ask.answer.is_some() {
                    let record = Record { fingerprint: ask.fingerprint, finished_at: now, answer: ask.answer };
                    // An i64 alarm time is an offset from now in workers-rs, not a timestamp.
                    let ttl = ask.ttl.unwrap_or(TTL_SECONDS_DEFAULT).max(1) as u64;
                    // Both writes are issued before either is awaited, so storage commits them together (one
                    // write instead of two; the profile of the edge under load showed each as a cost).
                    let (put, alarm) = futures_util::future::join(
                        storage.put("record", &record),
                        storage.set_alarm(std::time::Duration::from_secs(ttl)),
                    )
                    .await;
                    put?;
                    self.stored.replace(Some(Some(record)));
                    self.in_flight.replace(None);
                    alarm?;
                }
                Response::ok("finished")
            }
            "/abort" => {
                let ours = self.in_flight.borrow().as_ref().is_some_and(|(f, _)| *f == ask.fingerprint);
                if ours {
                    self.in_flight.replace(None);
                }
                Response::ok("aborted")
            }
            _ => Response::error("no such idempotency operation", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        self.stored.replace(Some(None));
        Response::ok("expired")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(fingerprint: &str, answer: Option<u16>) -> Record {
        let answer =
            answer.map(|status| StoredAnswer { status, content_type: "application/json".into(), body: "{}".into() });
        Record { fingerprint: fingerprint.into(), finished_at: 0, answer }
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
        assert!(matches!(begin_from_record(Some(stored("f1", Some(201))), "f1"), Begin::Replay(a) if a.status == 201));
        assert!(matches!(begin_from_record(Some(stored("f1", Some(201))), "f2"), Begin::Mismatch));
        assert!(matches!(begin_from_record(Some(stored("f1", None)), "f1"), Begin::Proceed));
        assert!(matches!(begin_from_record(None, "f1"), Begin::Proceed));
    }
}
