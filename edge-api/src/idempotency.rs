//! Idempotency at the edge (draft-ietf-httpapi-idempotency-key-header; DESIGN.md §5): one Durable Object
//! per (merchant, mode, Idempotency-Key), which alone decides, one request at a time, whether a request
//! proceeds, is still in flight (409), reuses the key for a different request (422) or is a retry of a
//! finished one (the stored answer, replayed with `Idempotent-Replayed: true`). Answers of 5xx are not
//! stored (the request's outcome is unknown), so a retry reaches the backend, whose own deduplication on
//! (merchant, mode, key) makes it safe. Records live `ttl` (24 h by default) and an alarm deletes them.

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use worker::{DurableObject, Env, Method, Request, RequestInit, Response, Result, State, durable_object};

pub const BINDING: &str = "IDEMPOTENCY";
pub const HEADER: &str = "idempotency-key";
pub const KEY_CHARS_MAX: usize = 255;
/// How long a record (and so a replay) lives, unless `IDEMPOTENCY_TTL_SECONDS` says otherwise.
pub const TTL_SECONDS_DEFAULT: i64 = 24 * 60 * 60;
/// An in-flight record older than this belongs to a request that died with its isolate: the key may be
/// used again (the backend's deduplication still holds the first request's outcome).
pub const IN_FLIGHT_SECONDS_MAX: i64 = 60;

/// The key of a request, checked: 1 to 255 visible ASCII characters.
pub fn key_of(req: &Request) -> std::result::Result<Option<String>, Refusal> {
    let Some(key) = req.headers().get(HEADER).ok().flatten() else { return Ok(None) };
    if key.is_empty() || key.len() > KEY_CHARS_MAX || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(Refusal::new(ErrorCode::IdempotencyKeyInvalid)
            .detail(format!("Idempotency-Key must be 1 to {KEY_CHARS_MAX} visible ASCII characters")));
    }
    Ok(Some(key))
}

/// What identifies "the same request": method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
    started_at: i64,
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
        let name = fingerprint_name(merchant, mode, key);
        Ok(Slot { stub: env.durable_object(BINDING)?.get_by_name(&name)?, fingerprint })
    }

    async fn call(&self, path: &str, body: serde_json::Value) -> Result<Response> {
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.to_string().into()));
        self.stub.fetch_with_request(Request::new_with_init(&format!("https://idempotency{path}"), &init)?).await
    }

    pub async fn begin(&self, ttl_seconds: i64) -> Result<Begin> {
        let body = serde_json::json!({ "fingerprint": self.fingerprint, "ttl": ttl_seconds });
        self.call("/begin", body).await?.json().await
    }

    pub async fn finish(&self, answer: &StoredAnswer) -> Result<()> {
        let body = serde_json::json!({ "fingerprint": self.fingerprint, "answer": answer });
        self.call("/finish", body).await.map(|_| ())
    }

    pub async fn abort(&self) -> Result<()> {
        self.call("/abort", serde_json::json!({ "fingerprint": self.fingerprint })).await.map(|_| ())
    }
}

fn fingerprint_name(merchant: &str, mode: &str, key: &str) -> String {
    fingerprint(merchant, mode, key.as_bytes())
}

#[durable_object]
pub struct IdempotencyRecord {
    state: State,
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
        IdempotencyRecord { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = req.json().await?;
        let now = crate::backend::now_seconds();
        let record = storage.get::<Record>("record").await?;
        match req.path().as_str() {
            "/begin" => {
                let outcome = match record {
                    Some(r) if r.fingerprint != ask.fingerprint => Begin::Mismatch,
                    Some(Record { answer: Some(answer), .. }) => Begin::Replay(answer),
                    Some(r) if now - r.started_at < IN_FLIGHT_SECONDS_MAX => Begin::InFlight,
                    _ => {
                        let record = Record { fingerprint: ask.fingerprint, started_at: now, answer: None };
                        storage.put("record", &record).await?;
                        let ttl = ask.ttl.unwrap_or(TTL_SECONDS_DEFAULT);
                        // An i64 alarm time is an offset from now in workers-rs, not a timestamp.
                        storage.set_alarm(std::time::Duration::from_secs(ttl.max(1) as u64)).await?;
                        Begin::Proceed
                    }
                };
                Response::from_json(&outcome)
            }
            "/finish" => {
                if let Some(mut r) = record.filter(|r| r.fingerprint == ask.fingerprint) {
                    r.answer = ask.answer;
                    storage.put("record", &r).await?;
                }
                Response::ok("finished")
            }
            "/abort" => {
                if record.is_some_and(|r| r.fingerprint == ask.fingerprint && r.answer.is_none()) {
                    storage.delete("record").await?;
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
