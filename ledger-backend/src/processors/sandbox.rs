//! The connector for the sandbox acquirer (`crate::sandbox`), which plays the card network in test
//! mode and local development.

use super::{AuthorizationLookup, AuthorizeOutcome, AuthorizeRequest, OperationOutcome, VaultForward};
use crate::processors::vault_forward::{ForwardError, ForwardRequest};
use paygate_core::Amount;
use paygate_core::internal::{PLACEHOLDER_CVC, PLACEHOLDER_EXP_MONTH, PLACEHOLDER_EXP_YEAR, PLACEHOLDER_NUMBER};
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SandboxConnector {
    base_url: String,
    http: reqwest::Client,
}

impl SandboxConnector {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder().timeout(timeout).build().expect("a plain HTTP client always builds");
        SandboxConnector { base_url: base_url.trim_end_matches('/').to_owned(), http }
    }

    pub async fn authorize(
        &self,
        vault: &VaultForward,
        request: &AuthorizeRequest<'_>,
        request_id: &str,
    ) -> AuthorizeOutcome {
        // The card fields are placeholders the edge fills in; this process never holds them. The
        // sandbox takes the expiry as JSON numbers, so those placeholders must stand unquoted: they are
        // written as marker strings and unquoted after serialisation.
        let template = json!({
            "reference": request.attempt_id,
            "amount": request.amount.minor(),
            "currency": request.currency.code(),
            "capture": request.capture,
            "card": { "number": PLACEHOLDER_NUMBER, "exp_month": "EXP_MONTH", "exp_year": "EXP_YEAR", "cvc": PLACEHOLDER_CVC },
        })
        .to_string()
        .replace("\"EXP_MONTH\"", PLACEHOLDER_EXP_MONTH)
        .replace("\"EXP_YEAR\"", PLACEHOLDER_EXP_YEAR);
        let forward = ForwardRequest {
            token: request.token.to_owned(),
            destination: "sandbox".into(),
            method: "POST".into(),
            path: "/authorizations".into(),
            body: template,
        };
        let answer = match vault.forward(request.merchant_id, request.mode, request_id, &forward).await {
            Ok(answer) => answer,
            Err(ForwardError::TokenRejected(detail)) => return AuthorizeOutcome::TokenRejected { detail },
            Err(ForwardError::Unavailable(detail)) => return AuthorizeOutcome::Unknown { detail },
        };
        if answer.status != 201 {
            return AuthorizeOutcome::Unknown { detail: format!("sandbox answered {}", answer.status) };
        }
        let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
            return AuthorizeOutcome::Unknown { detail: "sandbox answered something that is not JSON".into() };
        };
        match (body["status"].as_str(), body["id"].as_str()) {
            (Some("approved"), Some(id)) => AuthorizeOutcome::Approved {
                processor_reference: id.to_owned(),
                captured: body["captured"].as_i64().unwrap_or(0) > 0,
                card: answer.card,
            },
            (Some("declined"), _) => AuthorizeOutcome::Declined {
                code: body["decline_code"].as_str().unwrap_or("generic_decline").to_owned(),
                card: answer.card,
            },
            _ => AuthorizeOutcome::Unknown { detail: format!("unexpected sandbox answer {body}") },
        }
    }

    pub async fn find_authorization(&self, attempt_id: &str) -> AuthorizationLookup {
        let url = format!("{}/authorizations", self.base_url);
        self.lookup(self.http.get(url).query(&[("reference", attempt_id)])).await
    }

    pub async fn authorization_state(&self, processor_reference: &str) -> AuthorizationLookup {
        self.lookup(self.http.get(format!("{}/authorizations/{processor_reference}", self.base_url))).await
    }

    async fn lookup(&self, request: reqwest::RequestBuilder) -> AuthorizationLookup {
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(error) => return AuthorizationLookup::Unknown { detail: error.to_string() },
        };
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return AuthorizationLookup::NotFound;
        }
        let Ok(body) = answer.json::<Value>().await else {
            return AuthorizationLookup::Unknown {
                detail: "sandbox lookup answered something that is not JSON".into(),
            };
        };
        match (body["status"].as_str(), body["id"].as_str()) {
            (Some("approved"), Some(id)) => AuthorizationLookup::Approved {
                processor_reference: id.to_owned(),
                amount_captured: body["captured"].as_i64().unwrap_or(0),
                voided: body["voided"].as_bool().unwrap_or(false),
            },
            (Some("declined"), _) => AuthorizationLookup::Declined {
                code: body["decline_code"].as_str().unwrap_or("generic_decline").to_owned(),
            },
            _ => AuthorizationLookup::Unknown { detail: format!("unexpected sandbox lookup {body}") },
        }
    }

    pub async fn capture(&self, processor_reference: &str, amount: Amount) -> OperationOutcome {
        let url = format!("{}/authorizations/{processor_reference}/capture", self.base_url);
        self.operation(self.http.post(url).json(&json!({ "amount": amount.minor() }))).await
    }

    pub async fn void(&self, processor_reference: &str) -> OperationOutcome {
        let url = format!("{}/authorizations/{processor_reference}/void", self.base_url);
        self.operation(self.http.post(url).json(&json!({}))).await
    }

    pub async fn refund(&self, processor_reference: &str, amount: Amount, refund_reference: &str) -> OperationOutcome {
        let body =
            json!({ "authorization": processor_reference, "amount": amount.minor(), "reference": refund_reference });
        self.operation(self.http.post(format!("{}/refunds", self.base_url)).json(&body)).await
    }

    /// 2xx succeeded; 4xx is the acquirer's definite refusal; anything else is unknown.
    async fn operation(&self, request: reqwest::RequestBuilder) -> OperationOutcome {
        match request.send().await {
            Ok(answer) if answer.status().is_success() => OperationOutcome::Succeeded,
            Ok(answer) if answer.status().is_client_error() => {
                let body: Value = answer.json().await.unwrap_or(Value::Null);
                OperationOutcome::Failed { code: body["error"].as_str().unwrap_or("refused").to_owned() }
            }
            Ok(answer) => OperationOutcome::Unknown { detail: format!("sandbox answered {}", answer.status()) },
            Err(error) => OperationOutcome::Unknown { detail: error.to_string() },
        }
    }
}
