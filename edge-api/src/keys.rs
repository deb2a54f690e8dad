//! `ApiKeyCache`: one Durable Object per API-key hash, holding what the backend said about the key for at
//! most `CACHE_SECONDS`. One object per key (not a per-isolate map) is what makes revocation reach every
//! isolate: the backend's revocation notice (`POST /internal/api_keys/revoked`, signed) purges the one object
//! every isolate asks, and without a notice the entry expires. Unknown keys are not cached: a key created a
//! moment ago works at once.
//!
//! In front of the object, each isolate keeps what the object told it for `ISOLATE_CACHE_SECONDS`, so a
//! busy key costs one object call per isolate every few seconds instead of one per request. That bounds
//! revocation: the isolate the notice reaches forgets the key at once; every other isolate within
//! `ISOLATE_CACHE_SECONDS` of the notice; with no notice at all, within `CACHE_SECONDS` +
//! `ISOLATE_CACHE_SECONDS`.

use crate::auth::Caller;
use crate::backend::{self, OnBehalf};
use crate::durable;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::internal;
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Method, Request, Response, Result, State, durable_object};

/// How long a positive lookup is trusted without asking the backend again.
pub const CACHE_SECONDS: i64 = 30;
/// How long an isolate trusts the object's positive answer without asking it again: the most a revoked
/// key keeps working in an isolate the revocation notice did not reach.
pub const ISOLATE_CACHE_SECONDS: i64 = 5;
/// Keys one isolate remembers at most (an isolate serves many merchants; memory stays bounded).
const ISOLATE_CACHE_ENTRIES_MAX: usize = 10_000;
pub const BINDING: &str = "API_KEY_CACHE";

/// What one isolate remembers: key hash → (caller, when the object said so, in ms). Pure, so its rule is
/// tested without a runtime.
#[derive(Default)]
pub struct IsolateCache {
    entries: std::collections::HashMap<String, (Caller, f64)>,
}

impl IsolateCache {
    /// The caller behind `key_hash`, if the object said so less than `ISOLATE_CACHE_SECONDS` ago.
    pub fn get(&self, key_hash: &str, now_ms: f64) -> Option<Caller> {
        let (caller, at) = self.entries.get(key_hash)?;
        // A clock that steps back does not make an entry young again.
        let age = now_ms - at;
        (0.0..(ISOLATE_CACHE_SECONDS * 1_000) as f64).contains(&age).then(|| caller.clone())
    }

    pub fn remember(&mut self, key_hash: &str, caller: Caller, now_ms: f64) {
        if self.entries.len() >= ISOLATE_CACHE_ENTRIES_MAX && !self.entries.contains_key(key_hash) {
            self.entries.retain(|_, (_, at)| now_ms - *at < (ISOLATE_CACHE_SECONDS * 1_000) as f64);
            if self.entries.len() >= ISOLATE_CACHE_ENTRIES_MAX {
                self.entries.clear();
            }
        }
        self.entries.insert(key_hash.to_owned(), (caller, now_ms));
    }

    pub fn forget(&mut self, key_hash: &str) {
        self.entries.remove(key_hash);
    }
}

thread_local! {
    /// An isolate runs one request at a time on one thread: this is the isolate's own map.
    static ISOLATE: std::cell::RefCell<IsolateCache> = std::cell::RefCell::new(IsolateCache::default());
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

#[derive(Serialize, Deserialize)]
struct Entry {
    caller: Caller,
    fetched_at: i64,
}

#[derive(Serialize, Deserialize)]
struct LookupAnswer {
    caller: Option<Caller>,
    /// Set when the backend could not answer: (status, problem code).
    refused: Option<(u16, String)>,
}

/// The caller behind `key_hash` if this isolate knows it already (see `IsolateCache`): no object call.
pub fn cached(key_hash: &str) -> Option<Caller> {
    ISOLATE.with(|cache| cache.borrow().get(key_hash, now_ms()))
}

/// The caller a key hash belongs to, `None` when no active key has it.
pub async fn lookup(env: &Env, key_hash: &str, request_id: &str) -> std::result::Result<Option<Caller>, Refusal> {
    if let Some(caller) = cached(key_hash) {
        return Ok(Some(caller));
    }
    let stub = durable::object(env, BINDING, key_hash).map_err(internal)?;
    let body = serde_json::json!({ "key_hash": key_hash, "request_id": request_id }).to_string();
    let answer = durable::post(&stub, "/lookup", body).await.map_err(internal)?;
    let answer: LookupAnswer = crate::fetch::json(answer).await.map_err(internal)?;
    if let Some((_, code)) = answer.refused {
        return Err(Refusal::new(ErrorCode::parse(&code).unwrap_or(ErrorCode::ServiceUnavailable)));
    }
    ISOLATE.with(|cache| match &answer.caller {
        Some(caller) => cache.borrow_mut().remember(key_hash, caller.clone(), now_ms()),
        None => cache.borrow_mut().forget(key_hash),
    });
    Ok(answer.caller)
}

/// Forgets what is cached about `key_hash` (the backend revoked it): in the object every isolate asks, and
/// in this isolate.
pub async fn purge(env: &Env, key_hash: &str) -> std::result::Result<(), Refusal> {
    ISOLATE.with(|cache| cache.borrow_mut().forget(key_hash));
    let stub = durable::object(env, BINDING, key_hash).map_err(internal)?;
    durable::post(&stub, "/purge", String::new()).await.map_err(internal)?;
    Ok(())
}

fn internal(error: worker::Error) -> Refusal {
    worker::console_error!("api key cache: {error}");
    Refusal::new(ErrorCode::InternalError)
}

/// The entry lives in the object's memory, not its storage: it is a cache, and an evicted object simply
/// asks the backend again. (The benchmark measured a storage read per request as most of the edge's cost.)
#[durable_object]
pub struct ApiKeyCache {
    env: Env,
    entry: std::cell::RefCell<Option<Entry>>,
}

impl DurableObject for ApiKeyCache {
    fn new(_state: State, env: Env) -> Self {
        ApiKeyCache { env, entry: std::cell::RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() == "/purge" {
            self.entry.replace(None);
            return Response::ok("purged");
        }
        #[derive(Deserialize)]
        struct Ask {
            key_hash: String,
            request_id: String,
        }
        let ask: Ask = req.json().await?;
        let now = backend::now_seconds();
        let cached =
            self.entry.borrow().as_ref().filter(|e| now - e.fetched_at < CACHE_SECONDS).map(|e| e.caller.clone());
        if let Some(caller) = cached {
            return Response::from_json(&LookupAnswer { caller: Some(caller), refused: None });
        }
        let body = serde_json::to_string(&internal::KeyHash { key_hash: ask.key_hash }).map_err(worker::Error::from)?;
        let on_behalf = OnBehalf { merchant_id: "", mode: "", request_id: &ask.request_id, key_id: "" };
        let answer =
            match backend::call(&self.env, Method::Post, internal::KEY_LOOKUP_PATH, body.as_bytes(), on_behalf, &[])
                .await
            {
                Ok(answer) => answer,
                Err(refusal) => {
                    let refused = Some((refusal.code.status(), refusal.code.as_str().to_owned()));
                    return Response::from_json(&LookupAnswer { caller: None, refused });
                }
            };
        match answer.status {
            200 => {
                let caller: Caller = serde_json::from_slice(&answer.body)
                    .map_err(|e| worker::Error::RustError(format!("bad lookup answer: {e}")))?;
                self.entry.replace(Some(Entry { caller: caller.clone(), fetched_at: now }));
                Response::from_json(&LookupAnswer { caller: Some(caller), refused: None })
            }
            404 => {
                self.entry.replace(None);
                Response::from_json(&LookupAnswer { caller: None, refused: None })
            }
            status => {
                worker::console_error!("{} key lookup answered {status}", ask.request_id);
                let refused = Some((503, ErrorCode::ServiceUnavailable.as_str().to_owned()));
                Response::from_json(&LookupAnswer { caller: None, refused })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_core::Mode;
    use paygate_core::api_key::KeyKind;

    fn caller(merchant: &str) -> Caller {
        Caller { merchant_id: merchant.into(), mode: Mode::Test, kind: KeyKind::Secret, key_id: "key_1".into() }
    }

    #[test]
    fn an_isolate_trusts_an_answer_for_a_few_seconds_only_and_forgets_on_purge() {
        let mut cache = IsolateCache::default();
        cache.remember("h1", caller("acct_a"), 1_000.0);
        assert_eq!(cache.get("h1", 1_000.0).map(|c| c.merchant_id), Some("acct_a".into()));
        let last = 1_000.0 + (ISOLATE_CACHE_SECONDS * 1_000) as f64 - 1.0;
        assert!(cache.get("h1", last).is_some());
        assert!(cache.get("h1", last + 1.0).is_none(), "the revocation bound is ISOLATE_CACHE_SECONDS");
        assert!(cache.get("h1", 999.0).is_none(), "a clock stepping back does not extend an entry");
        assert!(cache.get("h2", 1_000.0).is_none());
        cache.remember("h1", caller("acct_a"), 2_000.0);
        cache.forget("h1");
        assert!(cache.get("h1", 2_000.0).is_none());
    }

    #[test]
    fn an_isolate_remembers_a_bounded_number_of_keys() {
        let mut cache = IsolateCache::default();
        for i in 0..ISOLATE_CACHE_ENTRIES_MAX + 10 {
            cache.remember(&format!("h{i}"), caller("acct_a"), i as f64);
        }
        assert!(cache.entries.len() <= ISOLATE_CACHE_ENTRIES_MAX);
        let newest = format!("h{}", ISOLATE_CACHE_ENTRIES_MAX + 9);
        assert!(cache.get(&newest, (ISOLATE_CACHE_ENTRIES_MAX + 9) as f64).is_some());
    }
}
