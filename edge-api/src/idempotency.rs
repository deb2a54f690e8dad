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
struct Record {
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
        self.call("/begin", serde_json::json!({ "fingerprint": self.fingerprint })).await?.json().await
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

/// In flight is held in the object's memory (the object is unique and single-threaded, so this is the one
/// place that knows); only finished answers are written to storage, after the answer was sent. So the
/// request path waits for no storage write. Should the object be evicted while a request is in flight, a
/// retry in that moment proceeds to the backend, whose own deduplication answers it with the first charge.
#[durable_object]
pub struct IdempotencyRecord {
    state: State,
    in_flight: std::cell::RefCell<Option<(String, i64)>>,
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
        IdempotencyRecord { state, in_flight: std::cell::RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = req.json().await?;
        let now = crate::backend::now_seconds();
        match req.path().as_str() {
            "/begin" => {
                let flying = self.in_flight.borrow().clone().filter(|(_, at)| now - at < IN_FLIGHT_SECONDS_MAX);
                let outcome = match flying {
                    Some((fingerprint, _)) if fingerprint != ask.fingerprint => Begin::Mismatch,
                    Some(_) => Begin::InFlight,
                    None => match storage.get::<Record>("record").await? {
                        Some(r) if r.fingerprint != ask.fingerprint => Begin::Mismatch,
                        Some(Record { answer: Some(answer), .. }) => Begin::Replay(answer),
                        _ => {
                            self.in_flight.replace(Some((ask.fingerprint, now)));
                            Begin::Proceed
                        }
                    },
                };
                Response::from_json(&outcome)
            }
            "/finish" => {
                let ours = self.in_flight.borrow().as_ref().is_some_and(|(f, _)| *f == ask.fingerprint);
                if ours && ask.answer.is_some() {
                    let record = Record { fingerprint: ask.fingerprint, finished_at: now, answer: ask.answer };
                    storage.put("record", &record).await?;
                    // An i64 alarm time is an offset from now in workers-rs, not a timestamp.
                    let ttl = ask.ttl.unwrap_or(TTL_SECONDS_DEFAULT).max(1) as u64;
                    storage.set_alarm(std::time::Duration::from_secs(ttl)).await?;
                    self.in_flight.replace(None);
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
        Response::ok("expired")
    }
}
