//! `paygate-edge`: the only public entry point. Per request: authenticate the key, rate-limit, enforce
//! idempotency, forward to the ledger backend with the edge signature, relay the answer. It also keeps the
//! card vault: tokens in, and the backend's vault-forward out to allow-listed processors.
//!
//! Invariants: every answer carries `Request-Id`; every error is a problem+json document from core's
//! catalogue; card data never leaves the vault except toward an allow-listed processor, and is never logged.

mod apple_pay;
mod assets;
mod auth;
mod authentication_return;
mod backend;
mod body;
mod config;
mod dashboard;
mod durable;
mod fetch;
mod idempotency;
mod keys;
mod problem;
mod processor_events;
mod rate_limit;
mod request_id;
mod timing;
mod vault;
mod webcrypto;

use auth::{Caller, Needs};
use backend::OnBehalf;
use idempotency::{Begin, Slot, StoredAnswer};
use paygate_core::edge_routes::{self, Audience, EdgeRoute};
use paygate_core::{ErrorCode, Mode, internal};
use problem::Refusal;
use rate_limit::Limit;
use serde_json::json;
use timing::Timings;
use worker::{Context, Env, Headers, Method, Request, Response, Result, event};

const KEY_LIMIT_DEFAULT: Limit = Limit { capacity: 100, per_seconds: 1 };
const TOKENS_PER_IP_DEFAULT: Limit = Limit { capacity: 30, per_seconds: 60 };
const TOKENS_PER_CARD_DEFAULT: Limit = Limit { capacity: 5, per_seconds: 60 };

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let request_id = request_id::new();
    let timings = Timings::start();
    let path = req.path();
    let mut response = match route(&mut req, &env, &ctx, &request_id, &timings).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(&request_id),
    };
    let headers = response.headers_mut();
    headers.set(paygate_core::signature::edge::HEADER_REQUEST_ID, &request_id)?;
    if timing::enabled(&env) {
        headers.set("server-timing", &timings.header())?;
    }
    if edge_routes::resolve(&path).is_some_and(EdgeRoute::is_browser_api) {
        cors(headers)?;
    }
    Ok(response)
}

fn cors(headers: &mut Headers) -> Result<()> {
    // Publishable keys are meant to be public and nothing rides on cookies, so any shop origin may call.
    headers.set("access-control-allow-origin", "*")?;
    headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    headers.set("access-control-allow-headers", "authorization, content-type, idempotency-key")?;
    headers.set(
        "access-control-expose-headers",
        "request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset",
    )?;
    headers.set("access-control-max-age", "600")
}

async fn route(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    timings: &Timings,
) -> std::result::Result<Response, Refusal> {
    let path = req.path();
    let method = req.method();
    // The edge's own routes are core's table (which the public OpenAPI document is written from); every
    // other /v1 path goes to the backend.
    let Some(route) = edge_routes::resolve(&path) else {
        let forwarded = (path == "/v1" || path.starts_with("/v1/")) && !path.starts_with(internal::INTERNAL_V1_PREFIX);
        return match forwarded {
            true => proxy(req, env, ctx, request_id, timings).await,
            false => Err(ErrorCode::RouteNotFound.into()),
        };
    };
    if !route.allows(method.as_ref()) {
        // An internal route does not tell a stranger it exists.
        return Err(match route.audience() {
            Audience::Internal => ErrorCode::RouteNotFound.into(),
            _ => ErrorCode::MethodNotAllowed.into(),
        });
    }
    if method == Method::Options && route.is_browser_api() {
        return Response::empty().map(|r| r.with_status(204)).map_err(internal);
    }
    match route {
        EdgeRoute::Health => json_response(200, &json!({ "status": "ok" })),
        EdgeRoute::Ready => ready(env, request_id).await,
        EdgeRoute::OpenApi => openapi(env, request_id).await,
        EdgeRoute::VaultForward => {
            let body = body::read(req).await?;
            let answer = vault::forward::handle(req, env, &body, request_id).await?;
            Response::from_json(&answer).map(|r| r.with_status(200)).map_err(internal)
        }
        EdgeRoute::VaultDescribe => {
            let body = body::read(req).await?;
            let summary = vault::describe::handle(req, env, &body, request_id).await?;
            Response::from_json(&summary).map(|r| r.with_status(200)).map_err(internal)
        }
        EdgeRoute::KeyRevoked => {
            let body = body::read(req).await?;
            backend::verify_signed(req, env, internal::KEY_REVOKED_PATH, &body)?;
            let notice: internal::KeyHash = serde_json::from_slice(&body)
                .map_err(|e| Refusal::new(ErrorCode::ParameterInvalid).param("key_hash").detail(e.to_string()))?;
            keys::purge(env, &notice.key_hash).await?;
            json_response(200, &json!({ "purged": true }))
        }
        EdgeRoute::ApplePayDomainAssociation => apple_pay::domain_association(env),
        EdgeRoute::Dashboard => dashboard::handle(req, env, request_id).await,
        EdgeRoute::Assets => assets::serve(req, env).await,
        EdgeRoute::Tokens => {
            let caller = auth::authenticate(req, env, request_id, Needs::Publishable, per_key(env)).await?;
            let ip = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".into());
            let per_ip = Limit::from_env(env, "RATE_LIMIT_TOKENS_PER_IP", TOKENS_PER_IP_DEFAULT);
            rate_limit::enforce(env, format!("tokens-ip:{}:{ip}", caller.mode.as_str()), per_ip).await?;
            let body = body::read(req).await?;
            let per_card = Limit::from_env(env, "RATE_LIMIT_TOKENS_PER_CARD", TOKENS_PER_CARD_DEFAULT);
            let merchant = caller.merchant_id.clone();
            let token = vault::tokens::create(env, &caller, &body, request_id, |fingerprint: String| {
                rate_limit::enforce(env, format!("tokens-card:{merchant}:{fingerprint}"), per_card)
            })
            .await?;
            json_response(201, &token)
        }
        EdgeRoute::ApplePaySessions => {
            let caller = auth::authenticate(req, env, request_id, Needs::Publishable, per_key(env)).await?;
            let body = body::read(req).await?;
            json_response(200, &apple_pay::create_session(env, &caller, &body, request_id).await?)
        }
        EdgeRoute::PublicConfig => public_config(req, env, request_id).await,
        EdgeRoute::AuthenticationReturn => {
            let reference = edge_routes::authentication_reference(&path).unwrap_or_default().to_owned();
            let ip = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".into());
            authentication_return::handle(env, method, &ip, &reference, request_id).await
        }
        EdgeRoute::ProcessorEvents => {
            let (connector, account) = edge_routes::processor_events_target(&path).unwrap_or_default();
            let (connector, account) = (connector.to_owned(), account.to_owned());
            let (status, content_type, body) =
                processor_events::handle(req, env, request_id, &connector, &account).await?;
            relay(status, &content_type, body, false)
        }
    }
}

fn per_key(env: &Env) -> Limit {
    Limit::from_env(env, "RATE_LIMIT_PER_KEY", KEY_LIMIT_DEFAULT)
}

fn internal(error: worker::Error) -> Refusal {
    worker::console_error!("response: {error}");
    Refusal::new(ErrorCode::InternalError)
}

fn json_response(status: u16, value: &serde_json::Value) -> std::result::Result<Response, Refusal> {
    Response::from_json(value).map(|r| r.with_status(status)).map_err(internal)
}

/// Ready when the backend behind us answers its own readiness check.
async fn ready(env: &Env, request_id: &str) -> std::result::Result<Response, Refusal> {
    let backend = config::backend_url(env)?;
    let url = format!("{backend}/ready").parse().map_err(|_| Refusal::new(ErrorCode::ServiceUnavailable))?;
    match worker::Fetch::Url(url).send().await {
        Ok(r) if r.status_code() == 200 => json_response(200, &json!({ "status": "ready" })),
        _ => {
            worker::console_error!("{request_id} backend not ready");
            Err(Refusal::new(ErrorCode::ServiceUnavailable).retry_after(5))
        }
    }
}

/// `GET /v1/openapi.json`: the public API's document. The backend writes it (it holds the schemas) from its
/// endpoint table and core's table of the edge's routes; it changes only with a deploy.
async fn openapi(env: &Env, request_id: &str) -> std::result::Result<Response, Refusal> {
    let backend = config::backend_url(env)?;
    let url = format!("{backend}{}", internal::PUBLIC_OPENAPI_PATH)
        .parse()
        .map_err(|_| Refusal::new(ErrorCode::ServiceUnavailable))?;
    let answer = match worker::Fetch::Url(url).send().await {
        Ok(answer) if answer.status_code() == 200 => answer,
        _ => {
            worker::console_error!("{request_id} backend could not give the OpenAPI document");
            return Err(Refusal::new(ErrorCode::ServiceUnavailable).retry_after(5));
        }
    };
    let body = crate::fetch::body(answer).await.map_err(internal)?;
    let mut response = Response::from_bytes(body).map_err(internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "application/json").map_err(internal)?;
    headers.set("cache-control", "public, max-age=300").map_err(internal)?;
    headers.set("access-control-allow-origin", "*").map_err(internal)?;
    Ok(response)
}

/// `GET /v1/public/config?key=pk_…`: what the SDK needs before it renders, for a publishable key.
async fn public_config(req: &Request, env: &Env, request_id: &str) -> std::result::Result<Response, Refusal> {
    let url = req.url().map_err(internal)?;
    let key = url.query_pairs().find(|(name, _)| name == "key").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let caller =
        auth::authenticate_key(env, request_id, &key, Needs::Publishable, per_key(env)).await.map_err(|refusal| {
            match refusal.code {
                ErrorCode::ApiKeyInvalid | ErrorCode::PermissionDenied => refusal.param("key"),
                _ => refusal,
            }
        })?;
    json_response(
        200,
        &json!({
            "object": "public_config",
            "livemode": caller.mode == Mode::Live,
            "payment_methods": ["card"],
            "apple_pay": match apple_pay::merchant_id(env) {
                Some(merchant_id) => json!({ "enabled": true, "merchant_id": merchant_id }),
                None => json!({ "enabled": false }),
            },
        }),
    )
}

/// Every other `/v1` route: a secret key, rate limit, idempotency, then the backend.
async fn proxy(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    timings: &Timings,
) -> std::result::Result<Response, Refusal> {
    let authenticated = auth::authenticate_overlapping(req, env, request_id, Needs::Secret, per_key(env));
    let (caller, limit) = timings.hop("key", authenticated).await?;
    // The key's rate limit and the idempotency record are two object calls: made together, the request waits
    // for the slower, not for both. Nothing goes on to the backend before the limit allows it.
    let (limited, prepared) = match limit {
        Some(limit) => {
            let limited = timings.hop("limit", limit.enforce(env));
            futures_util::future::join(limited, prepare(req, env, &caller, timings)).await
        }
        None => (Ok(()), prepare(req, env, &caller, timings).await),
    };
    if let Err(refusal) = limited {
        if let Ok(Next::Forward(Prepared { slot: Some(slot), .. })) = prepared {
            // This request took the key only to be refused: free it for the retry the refusal asks for.
            ctx.wait_until(async move {
                let _ = slot.abort().await;
            });
        }
        return Err(refusal);
    }
    let Prepared { method, path_and_query, body, extra, slot } = match prepared? {
        Next::Forward(prepared) => prepared,
        Next::Replay(answer) => return relay(answer.status, &answer.content_type, answer.body.into_bytes(), true),
    };
    let on_behalf =
        OnBehalf { merchant_id: &caller.merchant_id, mode: caller.mode.as_str(), request_id, key_id: &caller.key_id };
    let Some(slot) = slot else {
        let answer =
            timings.hop("backend", backend::call(env, method, &path_and_query, &body, on_behalf, &extra)).await?;
        return relay(answer.status, &answer.content_type, answer.body, false);
    };
    let ttl = env.var("IDEMPOTENCY_TTL_SECONDS").ok().and_then(|v| v.to_string().parse().ok());
    let ttl = ttl.unwrap_or(idempotency::TTL_SECONDS_DEFAULT);
    let answer =
        match timings.hop("backend", backend::call(env, method, &path_and_query, &body, on_behalf, &extra)).await {
            Ok(answer) => answer,
            Err(refusal) => {
                // The outcome is unknown: store nothing, so a retry reaches the backend (which deduplicates).
                ctx.wait_until(async move {
                    let _ = slot.abort().await;
                });
                return Err(refusal);
            }
        };
    // Which answers are kept is core's rule: outcomes yes (declines included); refusals before execution
    // (validation...) and 5xx no, so a corrected request may reuse the key. A kept answer is recorded after
    // it is on its way (a retry racing the write sees "in flight", 409, and retries); a key that keeps
    // nothing is released before answering, so the corrected request sent at once finds it free.
    let code = answer_code(&answer.content_type, &answer.body);
    let request_id = request_id.to_owned();
    if paygate_core::idempotency::stores_answer(answer.status, code) {
        let stored = StoredAnswer {
            status: answer.status,
            content_type: answer.content_type.clone(),
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        };
        ctx.wait_until(async move {
            if let Err(error) = slot.finish(&stored, ttl).await {
                worker::console_error!("{request_id} idempotency record not written: {error}");
            }
        });
    } else if let Err(error) = slot.abort().await {
        // The key stays held until its in-flight mark ages out (IN_FLIGHT_SECONDS_MAX); a retry meanwhile
        // is told 409 and the backend's own record still answers it correctly.
        worker::console_error!("{request_id} idempotency key not released: {error}");
    }
    relay(answer.status, &answer.content_type, answer.body, false)
}

/// What a proxied request comes to once read, checked and, when it has an idempotency record (a POST with an
/// Idempotency-Key), once the record was asked: the backend's to answer, or a replay of a finished answer.
enum Next {
    Forward(Prepared),
    Replay(StoredAnswer),
}

struct Prepared {
    method: Method,
    path_and_query: String,
    body: Vec<u8>,
    /// The Idempotency-Key header, passed on so the backend deduplicates too.
    extra: Vec<(&'static str, String)>,
    slot: Option<Slot>,
}

async fn prepare(
    req: &mut Request,
    env: &Env,
    caller: &Caller,
    timings: &Timings,
) -> std::result::Result<Next, Refusal> {
    let method = req.method();
    let url = req.url().map_err(internal)?;
    let path = url.path().to_owned();
    let path_and_query = match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    let body = match method {
        Method::Get | Method::Head => Vec::new(),
        _ => body::read_at_most(req, paygate_core::limits::body_bytes_max(method.as_ref(), &path)).await?,
    };
    let key = idempotency::key_of(req)?;
    if paygate_core::idempotency::requires_key(method.as_ref(), &path) && key.is_none() {
        return Err(Refusal::new(ErrorCode::IdempotencyKeyMissing)
            .detail("send an Idempotency-Key header (a UUID works) so a retry can never charge twice"));
    }
    let extra = key.iter().map(|k| (paygate_core::idempotency::HEADER, k.as_str().to_owned())).collect();
    let Some(key) = key.filter(|_| method == Method::Post) else {
        return Ok(Next::Forward(Prepared { method, path_and_query, body, extra, slot: None }));
    };
    let fingerprint = paygate_core::idempotency::fingerprint(method.as_ref(), &path_and_query, &body);
    let slot =
        Slot::new(env, &caller.merchant_id, caller.mode.as_str(), key.as_str(), fingerprint).map_err(internal)?;
    match timings.hop("idempotency", slot.begin()).await.map_err(internal)? {
        Begin::Proceed => Ok(Next::Forward(Prepared { method, path_and_query, body, extra, slot: Some(slot) })),
        Begin::InFlight => Err(ErrorCode::IdempotencyInFlight.into()),
        Begin::Mismatch => Err(ErrorCode::IdempotencyKeyReused.into()),
        Begin::Replay(answer) => Ok(Next::Replay(answer)),
    }
}

/// The problem code of an error answer from the backend, if it is a problem document.
fn answer_code(content_type: &str, body: &[u8]) -> Option<ErrorCode> {
    if !content_type.starts_with(paygate_core::problem::CONTENT_TYPE) {
        return None;
    }
    serde_json::from_slice::<paygate_core::Problem>(body).ok().map(|problem| problem.code)
}

fn relay(status: u16, content_type: &str, body: Vec<u8>, replayed: bool) -> std::result::Result<Response, Refusal> {
    let headers = Headers::new();
    if !content_type.is_empty() {
        headers.set("content-type", content_type).map_err(internal)?;
    }
    if replayed {
        headers.set("idempotent-replayed", "true").map_err(internal)?;
    }
    Response::from_bytes(body).map(|r| r.with_status(status).with_headers(headers)).map_err(internal)
}
