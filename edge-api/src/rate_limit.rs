//! Rate limits (docs/design.md §5): token buckets in one Durable Object per bucket name: per API key for every
//! request, and for token creation also per client IP and per card fingerprint (the card-testing defence:
//! many cards from one place, or one card tried again and again). A refusal is a 429 problem with
//! `Retry-After` and the `RateLimit-*` headers of draft-ietf-httpapi-ratelimit-headers.
//!
//! An isolate takes requests from a large bucket a few at a time (a lease: `lease_size`, at most
//! `LEASE_MAX`, spent within `LEASE_MS`), so a busy key's requests mostly skip the object call. A lease is
//! taken out of the bucket, so the limit is never exceeded; tokens a lease leaves unspent when it lapses are
//! lost, so a key spread over many isolates may be refused up to `LEASE_MAX - 1` requests per isolate early
//! in a window. A bucket of fewer than 20 (the card-testing limits) leases one at a time: exactly as before.

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
    /// Requests taken for the caller (at least 1 when allowed; more is a lease for the isolate to spend).
    #[serde(default)]
    pub granted: u32,
}

/// At most this many requests are leased to an isolate at once.
pub const LEASE_MAX: u32 = 10;
/// A lease's unspent requests lapse this long after it was granted.
pub const LEASE_MS: f64 = 1_000.0;
/// Isolate-side leases kept at most (one per bucket name in use); beyond, lapsed ones are dropped first.
const LEASES_MAX: usize = 10_000;

/// How many requests an isolate asks for at once: a tenth of the bucket, 1 to `LEASE_MAX`.
pub fn lease_size(limit: Limit) -> u32 {
    (limit.capacity / 10).clamp(1, LEASE_MAX)
}

/// The requests leased to this isolate, per bucket name: how many are left and until when. Pure, so the rule
/// is tested without a runtime.
#[derive(Default)]
pub struct Leases {
    leases: std::collections::HashMap<String, (u32, f64)>,
}

impl Leases {
    /// Spends one leased request of `name`, if one is left and its lease has not lapsed.
    pub fn spend(&mut self, name: &str, now_ms: f64) -> bool {
        match self.leases.get_mut(name) {
            // A clock that steps back does not make a lease young again.
            Some((left, until)) if *left > 0 && now_ms < *until && now_ms >= *until - LEASE_MS => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Keeps `spare` requests of `name` for this isolate (what a grant gave beyond the request that asked).
    pub fn keep(&mut self, name: &str, spare: u32, now_ms: f64) {
        if spare == 0 {
            return;
        }
        if self.leases.len() >= LEASES_MAX && !self.leases.contains_key(name) {
            self.leases.retain(|_, (left, until)| *left > 0 && now_ms < *until);
            if self.leases.len() >= LEASES_MAX {
                self.leases.clear();
            }
        }
        self.leases.insert(name.to_owned(), (spare, now_ms + LEASE_MS));
    }
}

thread_local! {
    /// An isolate runs on one thread: this is the isolate's own.
    static LEASES: std::cell::RefCell<Leases> = std::cell::RefCell::new(Leases::default());
}

/// Takes one request from bucket `name`, or refuses with 429 and the RateLimit headers' values.
pub async fn enforce(env: &Env, name: String, limit: Limit) -> std::result::Result<(), Refusal> {
    let now = worker::Date::now().as_millis() as f64;
    if LEASES.with(|leases| leases.borrow_mut().spend(&name, now)) {
        return Ok(());
    }
    let decision = take(env, &name, limit, lease_size(limit)).await.map_err(|e| {
        worker::console_error!("rate limiter: {e}");
        Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1)
    })?;
    if decision.allowed {
        LEASES.with(|leases| leases.borrow_mut().keep(&name, decision.granted.saturating_sub(1), now));
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

/// What an isolate asks a bucket's object for: up to `wanted` requests under `limit`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Ask {
    #[serde(flatten)]
    limit: Limit,
    wanted: u32,
}

/// Takes one request from bucket `name`, and up to `wanted` when the bucket holds them.
pub async fn take(env: &Env, name: &str, limit: Limit, wanted: u32) -> Result<Decision> {
    let stub = crate::durable::object(env, BINDING, name)?;
    let ask = serde_json::to_string(&Ask { limit, wanted })?;
    crate::fetch::json(crate::durable::post(&stub, "/take", ask).await?).await
}

/// A token bucket: how many requests it holds now, as of when. (Fractions of a request accrue between
/// requests; this counts requests, never money.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    tokens: f64,
    at_ms: f64,
}

/// Up to `wanted` whole requests taken from `bucket` (a new one starts full) at `now_ms`: at least one, or
/// none and a refusal. The bucket after it, and the decision with the `RateLimit-*` values; what is granted
/// beyond the one request that asked is the isolate's lease. The whole rule, pure, so it is tested without a
/// runtime.
pub fn lease_from(bucket: Option<Bucket>, limit: Limit, now_ms: f64, wanted: u32) -> (Bucket, Decision) {
    let capacity = f64::from(limit.capacity);
    let rate_per_ms = capacity / (f64::from(limit.per_seconds) * 1_000.0);
    let bucket = bucket.unwrap_or(Bucket { tokens: capacity, at_ms: now_ms });
    // A clock that steps back adds nothing.
    let tokens = (bucket.tokens + (now_ms - bucket.at_ms).max(0.0) * rate_per_ms).min(capacity);
    let granted = if tokens >= 1.0 { (tokens.floor() as u32).min(wanted.max(1)) } else { 0 };
    let (allowed, left) = (granted > 0, tokens - f64::from(granted));
    let retry_after = if allowed { 0 } else { ((1.0 - left) / rate_per_ms / 1_000.0).ceil().max(1.0) as u64 };
    let decision = Decision { allowed, limit: limit.capacity, remaining: left.floor() as u32, retry_after, granted };
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
        let ask: Ask = req.json().await?;
        let now = worker::Date::now().as_millis() as f64;
        let (bucket, decision) = lease_from(self.bucket.get(), ask.limit, now, ask.wanted);
        self.bucket.set(Some(bucket));
        Response::from_json(&decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_A_MINUTE: Limit = Limit { capacity: 5, per_seconds: 60 };

    /// One request taken, as an object is asked for by a bucket that leases one at a time.
    fn take_from(bucket: Option<Bucket>, limit: Limit, now_ms: f64) -> (Bucket, Decision) {
        lease_from(bucket, limit, now_ms, 1)
    }

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

    #[test]
    fn a_lease_takes_what_the_bucket_holds_up_to_what_is_wanted_and_never_more_than_the_limit() {
        let hundred = Limit { capacity: 100, per_seconds: 1 };
        assert_eq!(lease_size(hundred), LEASE_MAX);
        assert_eq!(lease_size(FIVE_A_MINUTE), 1, "the card-testing limits stay exact");
        assert_eq!(lease_size(Limit { capacity: 30, per_seconds: 60 }), 3);
        // At one instant, leases of 10 drain the bucket of 100 in ten grants, then it refuses.
        let (mut bucket, mut granted) = (None, Vec::new());
        for _ in 0..11 {
            let (after, decision) = lease_from(bucket, hundred, 0.0, 10);
            bucket = Some(after);
            granted.push(decision.granted);
            assert_eq!(decision.allowed, decision.granted > 0);
        }
        assert_eq!(granted.iter().sum::<u32>(), 100);
        assert_eq!(granted[10], 0);
        // A bucket holding 3 grants 3 of the 10 wanted.
        let (_, three) = lease_from(Some(Bucket { tokens: 3.5, at_ms: 0.0 }), hundred, 0.0, 10);
        assert_eq!((three.granted, three.remaining), (3, 0));
    }

    #[test]
    fn an_isolate_spends_its_lease_until_it_is_spent_or_lapses() {
        let mut leases = Leases::default();
        assert!(!leases.spend("key:a", 0.0), "nothing leased yet");
        leases.keep("key:a", 2, 0.0);
        assert!(leases.spend("key:a", 10.0));
        assert!(leases.spend("key:a", 20.0));
        assert!(!leases.spend("key:a", 30.0), "spent");
        leases.keep("key:a", 5, 100.0);
        assert!(!leases.spend("key:a", 100.0 + LEASE_MS), "lapsed");
        leases.keep("key:b", 5, 1_000.0);
        assert!(!leases.spend("key:b", 900.0), "a clock stepping back does not spend");
        assert!(!leases.spend("key:c", 1_000.0), "one bucket's lease is not another's");
        leases.keep("key:d", 0, 0.0);
        assert!(!leases.spend("key:d", 0.0));
    }

    #[test]
    fn the_isolate_keeps_a_bounded_number_of_leases() {
        let mut leases = Leases::default();
        for i in 0..LEASES_MAX {
            leases.keep(&format!("key:{i}"), 1, 0.0);
        }
        // Full of live leases: a new one clears the map rather than grow it.
        leases.keep("key:new", 1, 10.0);
        assert!(leases.leases.len() <= LEASES_MAX);
        assert!(leases.spend("key:new", 20.0));
    }
}
