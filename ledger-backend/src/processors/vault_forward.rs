//! The vault-forward contract (docs/design.md §5), client side: "send this processor request, substituting
//! the card fields of token T". The backend never sees the card: it sends a template, the edge fills
//! it from its vault, sends it to an allow-listed processor host, scrubs the answer and returns it
//! with the card's safe summary.
//!
//! `POST {edge}/internal/vault/forward`, signed with the edge↔backend signature for the charge's
//! merchant and mode:
//! request  `{token, calls: [{destination, method, path, content_type, headers, body}]}`; a `body` may contain
//!          the placeholders `{{card.number}}`, `{{card.exp_month}}`, `{{card.exp_year}}`, `{{card.cvc}}`,
//!          replaced textually by digits only (safe inside JSON strings, as JSON numbers and in forms);
//! answer   200 `{tried: [{result: answered, status, body} | {result: not_sent} | {result: unknown}], card}`:
//!          the first call is sent, the next only when the one before never reached its processor; 4xx
//!          problem when the token is unknown, used, expired or not the merchant's, or (param `calls[i]…`)
//!          when a call may not be sent.

use paygate_core::internal::{self, KEY_REVOKED_PATH, VAULT_DESCRIBE_PATH, VAULT_FORWARD_PATH};
use paygate_core::signature::edge::{EdgeSecret, SignedRequest};
use std::sync::Arc;
use std::time::Duration;

pub use paygate_core::internal::{
    CardSummary, VaultForwardAnswer as ForwardResponse, VaultForwardRequest as ForwardRequest,
};

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the vault refused the token: {0}")]
    TokenRejected(String),
    /// The edge will not send one of the calls (a processor not allowed in the mode): a configuration
    /// problem, found before the token was spent.
    #[error("the edge refused the processor call: {0}")]
    CallRefused(String),
    #[error("the vault or processor could not be reached: {0}")]
    Unavailable(String),
}

#[derive(Clone)]
pub struct VaultForward {
    edge_url: String,
    secret: Arc<EdgeSecret>,
    http: reqwest::Client,
}

impl VaultForward {
    pub fn new(edge_url: &str, secret: EdgeSecret, timeout: Duration) -> Self {
        let http = reqwest::Client::builder().timeout(timeout).build().expect("a plain HTTP client always builds");
        VaultForward { edge_url: edge_url.trim_end_matches('/').to_owned(), secret: Arc::new(secret), http }
    }

    /// Tells the edge to forget what it caches about the key with `key_hash` (it was revoked).
    pub async fn notify_key_revoked(&self, key_hash: &str, request_id: &str) -> Result<(), ForwardError> {
        let notice = internal::KeyHash { key_hash: key_hash.to_owned() };
        let body = serde_json::to_vec(&notice).map_err(|e| ForwardError::Unavailable(e.to_string()))?;
        let answer = self.signed_post(KEY_REVOKED_PATH, body, "", "", request_id).await?;
        if !answer.status().is_success() {
            return Err(ForwardError::Unavailable(format!("edge answered {}", answer.status())));
        }
        Ok(())
    }

    /// POSTs `body` to the edge's `path`, signed for `merchant_id` and `mode` (both empty for the edge itself).
    async fn signed_post(
        &self,
        path: &str,
        body: Vec<u8>,
        merchant_id: &str,
        mode: &str,
        request_id: &str,
    ) -> Result<reqwest::Response, ForwardError> {
        let timestamp = crate::ids::unix_seconds_now();
        let signed =
            SignedRequest { timestamp, method: "POST", path, body: &body, merchant_id, mode, request_id, key_id: "" };
        let signature = signed.sign(&[&self.secret]).map_err(|e| ForwardError::Unavailable(e.to_string()))?;
        let mut request = self.http.post(format!("{}{path}", self.edge_url)).header("content-type", "application/json");
        for (name, value) in signed.headers(signature) {
            request = request.header(name, value);
        }
        request.body(body).send().await.map_err(|e| ForwardError::Unavailable(e.to_string()))
    }

    /// The safe summary of `token`'s card (brands, issuing country) without spending it; `Ok(None)` when the
    /// vault will not say (unknown, used, another merchant's token): routing then knows nothing of the card,
    /// and the authorization itself reports what is wrong with the token. An error when it cannot be asked.
    pub async fn describe(
        &self,
        merchant_id: &str,
        mode: &str,
        request_id: &str,
        token: &str,
    ) -> Result<Option<CardSummary>, ForwardError> {
        let body = serde_json::to_vec(&internal::TokenRef { token: token.to_owned() })
            .map_err(|e| ForwardError::Unavailable(e.to_string()))?;
        let answer = self.signed_post(VAULT_DESCRIBE_PATH, body, merchant_id, mode, request_id).await?;
        let status = answer.status();
        if status.is_client_error() {
            tracing::info!(status = status.as_u16(), "the vault did not describe the token");
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ForwardError::Unavailable(format!("vault answered {status}")));
        }
        answer.json().await.map(Some).map_err(|e| ForwardError::Unavailable(format!("bad vault answer: {e}")))
    }

    pub async fn forward(
        &self,
        merchant_id: &str,
        mode: &str,
        request_id: &str,
        request: &ForwardRequest,
    ) -> Result<ForwardResponse, ForwardError> {
        let body = serde_json::to_vec(request).map_err(|e| ForwardError::Unavailable(e.to_string()))?;
        let answer = self.signed_post(VAULT_FORWARD_PATH, body, merchant_id, mode, request_id).await?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| ForwardError::Unavailable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| ForwardError::Unavailable(format!("bad vault answer: {e}")));
        }
        if status.is_client_error() {
            // The problem body names why (token_used, resource_not_found...); it holds no card data. A refused
            // call names its field under `calls`.
            let param = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|problem| problem["param"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if param.starts_with("calls") {
                return Err(ForwardError::CallRefused(text));
            }
            return Err(ForwardError::TokenRejected(text));
        }
        Err(ForwardError::Unavailable(format!("vault answered {status}")))
    }
}
