//! `paygate-edge`: the only public entry point. It authenticates keys, enforces idempotency and rate
//! limits, keeps the card vault and forwards signed requests to the ledger backend.
//!
//! Invariants: every answer carries `Request-Id`; every error is a problem+json document from core's
//! catalogue; card data never leaves the vault except toward an allow-listed processor.

mod problem;
mod request_id;

use paygate_core::ErrorCode;
use worker::{Context, Env, Method, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let request_id = request_id::new();
    let mut response = route(req, &env, &request_id).await.unwrap_or_else(|error| {
        // Logged once, here, with the id the caller sees; the message never holds card data.
        worker::console_error!("{request_id} unhandled: {error}");
        problem::respond(ErrorCode::InternalError, &request_id)
    });
    response.headers_mut().set(paygate_core::signature::edge::HEADER_REQUEST_ID, &request_id)?;
    Ok(response)
}

async fn route(req: Request, env: &Env, request_id: &str) -> Result<Response> {
    match (req.method(), req.path().as_str()) {
        (Method::Get, "/health") => Response::from_json(&serde_json::json!({ "status": "ok" })),
        (Method::Get, "/ready") => ready(env, request_id).await,
        (_, "/health" | "/ready") => Ok(problem::respond(ErrorCode::MethodNotAllowed, request_id)),
        _ => Ok(problem::respond(ErrorCode::RouteNotFound, request_id)),
    }
}

/// Ready when the backend behind us answers its own readiness check.
async fn ready(env: &Env, request_id: &str) -> Result<Response> {
    let backend = env.var("BACKEND_URL")?.to_string();
    let answer = worker::Fetch::Url(format!("{backend}/ready").parse()?).send().await;
    match answer {
        Ok(r) if r.status_code() == 200 => Response::from_json(&serde_json::json!({ "status": "ready" })),
        _ => Ok(problem::respond(ErrorCode::ServiceUnavailable, request_id)),
    }
}
