//! Rate limits (docs/design.md §5): token buckets in one Durable Object per bucket name: per API key for every
//! request, and for token creation also per client IP and per card fingerprint (the card-testing defence:
//! many cards from one place, or one card tried again and again). A refusal is a 429 problem with
//! `Retry-After` and the `RateLimit-*` headers of draft-ietf-httpapi-ratelimit-headers.

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

pub const BINDING: &str = "RATE_LIMITER";

/// A bucket's size and how fast it refills.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limit {
    pub capacity: u32,
    pub per_seconds: u32,
}

impl Limit {
    /// `capacity` requests per `per_seconds`, from the variable `name` written as `"<capacity>/<seconds>"`.
    pub fn from_env(env: &Env, name: &str, default: Limit) -> Limit {
        let parsed = env.var(name).ok().map(|v| v.to_string()).and_then(|text| {
            let (capacity, seconds) = text.split_once('/')?;
            Some(Limit { capacity: capacity.trim().parse().ok()?, per_seconds: seconds.trim().parse().ok()? })
        });
        parsed.filter(|l| l.capacity > 0 && l.per_seconds > 0).unwrap_or(default)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a request is allowed again (0 when allowed).
    pub retry_after: u64,
}

/// Takes one request from bucket `name`, or refuses with 429 and the RateLimit headers' values.
pub async fn enforce(env: &Env, name: String, limit: Limit) -> std::result::Result<(), Refusal> {
    let decision = take(env, &name, limit).await.map_err(|e| {
        worker::console_error!("rate limiter: {e}");
        Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1)
    })?;
    if decision.allowed {
        return Ok(());
    }
    Err(Refusal::new(ErrorCode::RateLimited)
        .detail(format!(
            "at most {} requests per {} s; retry after {} s",
            decision.limit, limit.per_seconds, decision.retry_after
        ))
        .retry_after(decision.retry_after)
        .rate_limit(decision.limit, decision.remaining, decision.retry_after))
}

/// Takes one request from bucket `name`.
pub async fn take(env: &Env, name: &str, limit: Limit) -> Result<Decision> {
    let stub = crate::durable::object(env, BINDING, name)?;
    crate::durable::post(&stub, "/take", serde_json::to_string(&limit)?).await?.json().await
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Bucket {
    tokens: f64,
    at_ms: f64,
}

/// The bucket lives in the object's memory: an object is single-threaded, so each take is atomic, and an
/// evicted object (idle for a while) starting full again is harmless for a limit. No storage round trip.
#[durable_object]
pub struct RateLimiter {
    bucket: std::cell::Cell<Option<Bucket>>,
}

impl DurableObject for RateLimiter {
    fn new(_state: State, _env: Env) -> Self {
        RateLimiter { bucket: std::cell::Cell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let limit: Limit = req.json().await?;
        let now = worker::Date::now().as_millis() as f64;
        let capacity = f64::from(limit.capacity);
        let rate_per_ms = capacity / (f64::from(limit.per_seconds) * 1_000.0);
        let bucket = self.bucket.get().unwrap_or(Bucket { tokens: capacity, at_ms: now });
        let tokens = (bucket.tokens + (now - bucket.at_ms).max(0.0) * rate_per_ms).min(capacity);
        let (allowed, left) = if tokens >= 1.0 { (true, tokens - 1.0) } else { (false, tokens) };
        self.bucket.set(Some(Bucket { tokens: left, at_ms: now }));
        let retry_after = if allowed { 0 } else { ((1.0 - left) / rate_per_ms / 1_000.0).ceil() as u64 };
        Response::from_json(&Decision { allowed, limit: limit.capacity, remaining: left.floor() as u32, retry_after })
    }
}
