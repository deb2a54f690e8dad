//! `POST /internal/vault/describe` (core's `internal::TokenRef` in, `CardSummary` out): what the backend's
//! routing may know of a token's card before it spends it (brands, issuing country), for the merchant and
//! mode that created it only. Nothing of the card beyond the safe summary leaves the vault.

use super::store::{self, Described};
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::internal::{CardSummary, TokenRef};
use worker::{Env, Request};

pub use paygate_core::internal::VAULT_DESCRIBE_PATH as PATH;

pub async fn handle(req: &Request, env: &Env, body: &[u8], request_id: &str) -> Result<CardSummary, Refusal> {
    let (merchant, mode, _) = crate::backend::verify_signed(req, env, PATH, body)?;
    let ask: TokenRef =
        serde_json::from_slice(body).map_err(|e| Refusal::new(ErrorCode::ParameterInvalid).detail(e.to_string()))?;
    match store::describe(env, &ask.token, &merchant, &mode).await {
        Ok(Described::Summary(summary)) => serde_json::from_value(summary).map_err(|e| {
            worker::console_error!("{request_id} vault summary unreadable: {e}");
            Refusal::new(ErrorCode::InternalError)
        }),
        Ok(Described::Used) => Err(Refusal::new(ErrorCode::TokenUsed).param("token")),
        Ok(Described::NotFound) => Err(Refusal::new(ErrorCode::ResourceNotFound).param("token")),
        Err(error) => {
            worker::console_error!("{request_id} vault read failed: {error}");
            Err(Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1))
        }
    }
}
