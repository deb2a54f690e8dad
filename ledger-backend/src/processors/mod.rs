//! Processor connectors. A connector is pure translation (`sandbox`, `stripe`): per flow, our request to
//! the processor's HTTP call (`call::HttpCall`) and its answer to our outcome (`outcome`). One executor
//! sends the calls that carry no card; authorizations, which need the card only the edge holds, go
//! through the edge's vault (`vault_forward`) with card placeholders. Outcomes are the same for every
//! connector: succeeded, declined (normalized code, raw code kept), pending, misconfigured, not sent
//! (safe to send elsewhere) or unknown (never treated as failure: recovery asks the processor later).
//!
//! `Processors` is what the domain holds: the vault client, the executor, each connector's base URL and
//! the keys processor credentials are sealed under. A `Connector` is built per processor account.

pub mod call;
pub mod checkout;
pub mod checkout_reports;
pub mod credentials;
pub mod events;
mod executor;
pub mod flows;
pub mod outcome;
pub mod sandbox;
pub mod stripe;
pub mod stripe_reports;
pub mod vault_forward;

pub use credentials::{Credentials, Secret};
pub use flows::{Authorization, AuthorizeRequest, Flow};
pub use outcome::{AuthorizationLookup, AuthorizeOutcome, OperationLookup, OperationOutcome};
pub use vault_forward::{CardSummary, VaultForward};

use call::{HttpAnswer, HttpCall, Sent};
use paygate_core::internal::{CallResult, ProcessorCall, VaultForwardRequest};
use paygate_core::processor::ConnectorKind;
use paygate_core::{Amount, Mode};
use std::time::Duration;
use vault_forward::ForwardError;

/// Every outbound processor call gives up after this long (the request's caller is waiting).
pub const PROCESSOR_TIMEOUT_MS: u64 = 10_000;

/// Where each connector's API lives. Stripe serves both modes from one host (the key picks the mode);
/// Checkout.com has a sandbox host for test mode and another for live.
#[derive(Debug, Clone)]
pub struct ConnectorUrls {
    pub sandbox: String,
    pub stripe: String,
    pub checkout_test: String,
    pub checkout_live: String,
}

/// One processor account's connector, credentials opened.
#[derive(Debug, Clone)]
pub enum Connector {
    /// The sandbox acquirer knows each sandbox account as one of its merchants (by our account id).
    Sandbox {
        merchant: String,
    },
    Stripe {
        secret_key: Secret,
    },
    Checkout {
        secret_key: Secret,
        processing_channel_id: String,
        live: bool,
    },
}

impl Connector {
    pub fn new(
        account: paygate_core::id::ProcessorAccountId,
        kind: ConnectorKind,
        credentials: Option<Credentials>,
        mode: Mode,
    ) -> Result<Connector, String> {
        match (kind, credentials) {
            (ConnectorKind::Sandbox, None) => Ok(Connector::Sandbox { merchant: account.to_string() }),
            (ConnectorKind::Stripe, Some(Credentials::Stripe { secret_key, .. })) => {
                Ok(Connector::Stripe { secret_key })
            }
            (ConnectorKind::Checkout, Some(Credentials::Checkout { secret_key, processing_channel_id, .. })) => {
                Ok(Connector::Checkout { secret_key, processing_channel_id, live: mode == Mode::Live })
            }
            (kind, _) => Err(format!("credentials do not fit the {} connector", kind.as_str())),
        }
    }

    pub fn kind(&self) -> ConnectorKind {
        match self {
            Connector::Sandbox { .. } => ConnectorKind::Sandbox,
            Connector::Stripe { .. } => ConnectorKind::Stripe,
            Connector::Checkout { .. } => ConnectorKind::Checkout,
        }
    }

    pub fn checkout(&self) -> Option<checkout::Account<'_>> {
        match self {
            Connector::Checkout { secret_key, processing_channel_id, .. } => {
                Some(checkout::Account { secret_key, processing_channel_id })
            }
            _ => None,
        }
    }

    fn authorize_call(&self, request: &AuthorizeRequest<'_>) -> HttpCall {
        match self {
            Connector::Checkout { secret_key, processing_channel_id, .. } => {
                checkout::authorize(&checkout::Account { secret_key, processing_channel_id }, request)
            }
            Connector::Stripe { secret_key } => stripe::authorize(secret_key, request),
            Connector::Sandbox { merchant } => sandbox::authorize(merchant, request),
        }
    }

    fn read_authorization(&self, answer: &HttpAnswer, capture_requested: bool) -> AuthorizeOutcome {
        match self {
            Connector::Sandbox { .. } => sandbox::read_authorization(answer),
            Connector::Stripe { .. } => stripe::read_authorization(answer),
            Connector::Checkout { .. } => checkout::read_authorization(answer, capture_requested),
        }
    }

    fn find_call(&self, attempt_id: &str, charge_id: &str) -> HttpCall {
        match (self, self.checkout()) {
            (_, Some(account)) => checkout::find_authorization(&account, charge_id),
            (Connector::Stripe { secret_key }, _) => stripe::find_authorization(secret_key, attempt_id),
            _ => sandbox::find_authorization(attempt_id),
        }
    }

    fn state_call(&self, authorization: &Authorization<'_>) -> HttpCall {
        match (self, self.checkout()) {
            (_, Some(account)) => checkout::authorization_state(&account, authorization),
            (Connector::Stripe { secret_key }, _) => stripe::authorization_state(secret_key, authorization),
            _ => sandbox::authorization_state(authorization),
        }
    }

    fn read_lookup(&self, answer: &HttpAnswer, attempt_id: &str) -> AuthorizationLookup {
        match self {
            Connector::Sandbox { .. } => sandbox::read_lookup(answer),
            Connector::Stripe { .. } => stripe::read_lookup(answer),
            Connector::Checkout { .. } => checkout::read_lookup(answer, attempt_id),
        }
    }

    /// How to find an operation we asked for: a refund on every connector; a capture or void only where the
    /// processor keeps actions (elsewhere recovery reads the authorization's state instead).
    fn find_operation_call(&self, flow: Flow, authorization: &Authorization<'_>, id: &str) -> Option<HttpCall> {
        match (self, self.checkout(), flow) {
            (_, Some(account), _) => Some(checkout::find_operation(&account, authorization)),
            (Connector::Stripe { secret_key }, _, Flow::Refund) => Some(stripe::find_refund(secret_key, authorization)),
            (Connector::Sandbox { .. }, _, Flow::Refund) => Some(sandbox::find_refund(id)),
            _ => None,
        }
    }

    fn read_operation_lookup(&self, flow: Flow, answer: &HttpAnswer, id: &str) -> OperationLookup {
        match self {
            Connector::Sandbox { .. } => sandbox::read_refund(answer),
            Connector::Stripe { .. } => stripe::read_refund(answer, id),
            Connector::Checkout { .. } => checkout::read_operation_lookup(answer, flow, id),
        }
    }

    fn operation_call(&self, flow: Flow, authorization: &Authorization<'_>, amount: Amount, id: &str) -> HttpCall {
        if let Some(account) = self.checkout() {
            return checkout::operation(&account, flow, authorization, amount, id);
        }
        match (self, flow) {
            (Connector::Stripe { secret_key }, Flow::Capture) => stripe::capture(secret_key, authorization, amount, id),
            (Connector::Stripe { secret_key }, Flow::Void) => stripe::void(secret_key, authorization, id),
            (Connector::Stripe { secret_key }, Flow::Refund) => stripe::refund(secret_key, authorization, amount, id),
            (_, Flow::Capture) => sandbox::capture(authorization, amount),
            (_, Flow::Void) => sandbox::void(authorization),
            (_, Flow::Refund) => sandbox::refund(authorization, amount, id),
        }
    }

    fn read_operation(&self, flow: Flow, answer: &HttpAnswer) -> OperationOutcome {
        match self {
            Connector::Sandbox { .. } => sandbox::read_operation(answer),
            Connector::Stripe { .. } => stripe::read_operation(flow, answer),
            Connector::Checkout { .. } => checkout::read_operation(answer),
        }
    }
}

/// One candidate of an authorization: the connector of an account and the request for it (its own
/// attempt id).
pub struct Candidate<'a> {
    pub connector: &'a Connector,
    pub request: AuthorizeRequest<'a>,
}

pub struct Processors {
    pub vault: VaultForward,
    executor: executor::Executor,
    urls: ConnectorUrls,
    /// The keys processor credentials are sealed under (`PAYGATE_SECRETS_KEYS`).
    pub secrets_keys: paygate_core::sealed::DataKeys,
    /// Where browsers reach the edge (`PAYGATE_PUBLIC_URL`): the base of 3-D Secure return URLs.
    pub public_url: String,
}

impl Processors {
    pub fn new(
        vault: VaultForward,
        urls: ConnectorUrls,
        timeout: Duration,
        secrets_keys: paygate_core::sealed::DataKeys,
        public_url: &str,
    ) -> Self {
        let public_url = public_url.to_owned();
        Processors { vault, executor: executor::Executor::new(timeout), urls, secrets_keys, public_url }
    }

    /// Where `connector`'s API lives (report file links are checked against it).
    pub fn base_url(&self, connector: &Connector) -> &str {
        match connector {
            Connector::Sandbox { .. } => &self.urls.sandbox,
            Connector::Stripe { .. } => &self.urls.stripe,
            Connector::Checkout { live: true, .. } => &self.urls.checkout_live,
            Connector::Checkout { live: false, .. } => &self.urls.checkout_test,
        }
    }

    /// Sends a call that carries no card (captures, voids, refunds, lookups, reports) to `connector`'s API.
    pub async fn send(&self, connector: &Connector, call: &HttpCall) -> Sent {
        self.executor.send(connector.kind().as_str(), self.base_url(connector), call).await
    }

    /// Downloads a report file (`origin` already checked by the connector) into `into`.
    pub async fn download(
        &self,
        connector: &Connector,
        origin: &str,
        call: &HttpCall,
        into: &mut std::fs::File,
        max_bytes: u64,
    ) -> Result<u64, String> {
        self.executor.download(connector.kind().as_str(), origin, call, into, max_bytes).await
    }

    /// Authorizes with the card of the candidates' token through the vault: the first candidate is sent;
    /// the next only when the one before certainly never reached its processor. One outcome per candidate
    /// tried, in order; the card's summary rides on the last.
    pub async fn authorize(
        &self,
        merchant_id: &str,
        mode: &str,
        request_id: &str,
        token: &str,
        candidates: &[Candidate<'_>],
    ) -> Vec<AuthorizeOutcome> {
        let calls = candidates
            .iter()
            .map(|c| {
                let call = c.connector.authorize_call(&c.request);
                ProcessorCall {
                    destination: c.connector.kind().as_str().to_owned(),
                    method: call.method.as_str().to_owned(),
                    path: call.path,
                    content_type: call.content_type.unwrap_or("application/json").to_owned(),
                    headers: call.headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
                    body: call.body,
                }
            })
            .collect();
        let forward = VaultForwardRequest { token: token.to_owned(), calls };
        let answer = match self.vault.forward(merchant_id, mode, request_id, &forward).await {
            Ok(answer) => answer,
            Err(ForwardError::TokenRejected(detail)) => return vec![AuthorizeOutcome::TokenRejected { detail }],
            Err(ForwardError::CallRefused(detail)) => {
                let detail = format!("the edge does not allow this processor in this mode: {detail}");
                return vec![AuthorizeOutcome::Misconfigured { detail, card: None }];
            }
            Err(ForwardError::Unavailable(detail)) => return vec![AuthorizeOutcome::Unknown { detail }],
        };
        let last = answer.tried.len().saturating_sub(1);
        answer
            .tried
            .iter()
            .zip(candidates)
            .enumerate()
            .map(|(i, (tried, candidate))| {
                let card = if i == last { answer.card.clone() } else { None };
                with_card(read_call_result(candidate.connector, tried, candidate.request.capture), card)
            })
            .collect()
    }

    /// What the processor knows of the authorization our attempt `attempt_id` asked for (recovery).
    pub async fn find_authorization(
        &self,
        connector: &Connector,
        attempt_id: &str,
        charge_id: &str,
    ) -> AuthorizationLookup {
        let call = connector.find_call(attempt_id, charge_id);
        self.lookup(connector, &call, attempt_id).await
    }

    /// What the processor knows of `authorization` now (how much is captured, whether it is voided): how
    /// recovery learns whether a capture or void whose answer was lost took effect.
    pub async fn authorization_state(
        &self,
        connector: &Connector,
        authorization: &Authorization<'_>,
    ) -> AuthorizationLookup {
        let call = connector.state_call(authorization);
        self.lookup(connector, &call, "").await
    }

    async fn lookup(&self, connector: &Connector, call: &HttpCall, attempt_id: &str) -> AuthorizationLookup {
        match self.send(connector, call).await {
            Sent::Answered(answer) => connector.read_lookup(&answer, attempt_id),
            Sent::NotSent(detail) | Sent::Unknown(detail) => AuthorizationLookup::Unknown { detail },
        }
    }

    /// What the processor knows of the operation we asked for under `id` (our refund id, or the capture's or
    /// void's attempt id); `None` where the processor cannot be asked about it (then recovery reads the
    /// authorization's state).
    pub async fn find_operation(
        &self,
        connector: &Connector,
        flow: Flow,
        authorization: &Authorization<'_>,
        id: &str,
    ) -> Option<OperationLookup> {
        let call = connector.find_operation_call(flow, authorization, id)?;
        Some(match self.send(connector, &call).await {
            Sent::Answered(answer) => connector.read_operation_lookup(flow, &answer, id),
            Sent::NotSent(detail) | Sent::Unknown(detail) => OperationLookup::Unknown { detail },
        })
    }

    /// Capture, void or refund. `id` is the operation's idempotency handle: the attempt id (capture, void)
    /// or the refund id, so sending it again (recovery) replays the processor's first answer.
    pub async fn operate(
        &self,
        connector: &Connector,
        flow: Flow,
        authorization: &Authorization<'_>,
        amount: Amount,
        id: &str,
    ) -> OperationOutcome {
        let call = connector.operation_call(flow, authorization, amount, id);
        match self.send(connector, &call).await {
            Sent::Answered(answer) => connector.read_operation(flow, &answer),
            // Even a call that never left is reported unknown here: the claim stays, and recovery, which
            // asks the processor, releases it. Only authorizations fail over.
            Sent::NotSent(detail) | Sent::Unknown(detail) => OperationOutcome::Unknown { detail },
        }
    }
}

fn read_call_result(connector: &Connector, tried: &CallResult, capture_requested: bool) -> AuthorizeOutcome {
    match tried {
        CallResult::Answered { status, body } => connector
            .read_authorization(&HttpAnswer { status: *status, body: body.clone() }, capture_requested)
            .with_usable_redirect(),
        CallResult::NotSent { reason } => AuthorizeOutcome::NotSent { detail: reason.clone() },
        CallResult::Unknown { reason } => AuthorizeOutcome::Unknown { detail: reason.clone() },
    }
}

fn with_card(outcome: AuthorizeOutcome, summary: Option<CardSummary>) -> AuthorizeOutcome {
    match outcome {
        AuthorizeOutcome::Approved { processor_reference, captured, capture_pending, .. } => {
            AuthorizeOutcome::Approved { processor_reference, captured, capture_pending, card: summary }
        }
        AuthorizeOutcome::Declined { code, raw_code, .. } => {
            AuthorizeOutcome::Declined { code, raw_code, card: summary }
        }
        AuthorizeOutcome::Misconfigured { detail, .. } => AuthorizeOutcome::Misconfigured { detail, card: summary },
        AuthorizeOutcome::RequiresAction { processor_reference, redirect_url, .. } => {
            AuthorizeOutcome::RequiresAction { processor_reference, redirect_url, card: summary }
        }
        other => other,
    }
}
