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
    crate::fetch::json(crate::durable::post(&stub, "/take", serde_json::to_string(&limit)?).await?).await
}

/// A token bucket: how many requests it holds now, as of when. (Fractions of a request accrue between
/// requests; this counts requests, never money.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    tokens: f64,
    at_ms: f64,
}

/// One request taken from `bucket` (a new one starts full) at `now_ms`: the bucket after it, and the
/// decision with the `RateLimit-*` values. The whole rule, pure, so it is tested without a runtime.
pub fn take_from(bucket: Option<Bucket>, limit: Limit, now_ms: f64) -> (Bucket, Decision) {
    let capacity = f64::from(limit.capacity);
    let rate_per_ms = capacity / (f64::from(limit.per_seconds) * 1_000.0);
    let bucket = bucket.unwrap_or(Bucket { tokens: capacity, at_ms: now_ms });
    // A clock that steps back adds nothing.
    let tokens = (bucket.tokens + (now_ms - bucket.at_ms).max(0.0) * rate_per_ms).min(capacity);
    let (allowed, left) = if tokens >= 1.0 { (true, tokens - 1.0) } else { (false, tokens) };
    let retry_after = if allowed { 0 } else { ((1.0 - left) / rate_per_ms / 1_000.0).ceil().max(1.0) as u64 };
    let decision = Decision { allowed, limit: limit.capacity, remaining: left.floor() as u32, retry_after };
    (Bucket { tokens: left, at_ms: now_ms.max(bucket.at_ms) }, decision)
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
        let (bucket, decision) = take_from(self.bucket.get(), limit, worker::Date::now().as_millis() as f64);
        self.bucket.set(Some(bucket));
        Response::from_json(&decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_A_MINUTE: Limit = Limit { capacity: 5, per_seconds: 60 };

    fn takes(limit: Limit, times_ms: &[f64]) -> Vec<Decision> {
        let mut bucket = None;
        times_ms
            .iter()
            .map(|now| {
                let (after, decision) = take_from(bucket, limit, *now);
                bucket = Some(after);
                decision
            })
            .collect()
    }

    #[test]
    fn a_full_bucket_allows_its_capacity_then_refuses_until_it_refills() {
        let decisions = takes(FIVE_A_MINUTE, &[0.0; 6]);
        assert!(decisions[..5].iter().all(|d| d.allowed));
        assert_eq!(decisions.iter().map(|d| d.remaining).collect::<Vec<_>>(), [4, 3, 2, 1, 0, 0]);
        // One request refills every 12 s.
        assert_eq!((decisions[5].allowed, decisions[5].retry_after), (false, 12));
        let later = takes(FIVE_A_MINUTE, &[0.0, 0.0, 0.0, 0.0, 0.0, 11_999.0, 12_000.0]);
        assert_eq!((later[5].allowed, later[6].allowed), (false, true));
    }

    #[test]
    fn refusals_always_say_when_to_come_back_and_a_clock_stepping_back_adds_nothing() {
        let many = Limit { capacity: 1_000, per_seconds: 1 };
        let mut times = vec![0.0; 1_001];
        times.push(-60_000.0);
        let decisions = takes(many, &times);
        let refused = &decisions[1_000..];
        assert!(refused.iter().all(|d| !d.allowed && d.retry_after >= 1), "{refused:?}");
    }
}
