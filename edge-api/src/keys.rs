//! `ApiKeyCache`: one Durable Object per API-key hash, holding what the backend said about the key for at
//! most `CACHE_SECONDS`. One object per key (not a per-isolate map) is what makes revocation immediate:
//! the backend's revocation notice (`POST /internal/api_keys/revoked`, signed) purges the one object every
//! isolate asks, and without a notice the entry expires, so a revoked key stops working within 60 s at most.
//! Unknown keys are not cached: a key created a moment ago works at once.

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
pub const BINDING: &str = "API_KEY_CACHE";

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

/// The caller a key hash belongs to, `None` when no active key has it.
pub async fn lookup(env: &Env, key_hash: &str, request_id: &str) -> std::result::Result<Option<Caller>, Refusal> {
    let stub = durable::object(env, BINDING, key_hash).map_err(internal)?;
    let body = serde_json::json!({ "key_hash": key_hash, "request_id": request_id }).to_string();
    let mut answer = durable::post(&stub, "/lookup", body).await.map_err(internal)?;
    let answer: LookupAnswer = answer.json().await.map_err(internal)?;
    if let Some((_, code)) = answer.refused {
        return Err(Refusal::new(ErrorCode::parse(&code).unwrap_or(ErrorCode::ServiceUnavailable)));
    }
    Ok(answer.caller)
}

/// Forgets what is cached about `key_hash` (the backend revoked it).
pub async fn purge(env: &Env, key_hash: &str) -> std::result::Result<(), Refusal> {
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
