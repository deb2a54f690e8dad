//! Only the edge may call `/v1/...`: each request must carry the edge↔backend signature of docs/design.md §5
//! (paygate_core::signature::edge). Unsigned, forged and stale requests get 401 `signature_invalid` and
//! reach no handler. The signed `paygate-merchant` and `paygate-mode` headers say on whose behalf the
//! edge calls, after it authenticated the API key; handlers receive them as a `Caller`.

use super::{ApiError, AppState};
use crate::domain::tenancy::Scope;
use crate::ids::unix_seconds_now;
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use paygate_core::id::MerchantId;
use paygate_core::signature::edge::{
    HEADER_KEY_ID, HEADER_MERCHANT, HEADER_MODE, HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignedRequest,
};
use paygate_core::{ErrorCode, Mode};

/// On whose behalf the edge calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A merchant's API key, authenticated by the edge, in one mode.
    Merchant { merchant_id: MerchantId, mode: Mode },
    /// The edge itself (key lookups): signed, with no merchant.
    Edge,
}

pub async fn verify(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let invalid = || ApiError::Code(ErrorCode::SignatureInvalid);
    // A signed header sent twice is ambiguous (which one did the edge sign?): refuse it outright.
    let signed_headers =
        [HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_MERCHANT, HEADER_MODE, HEADER_REQUEST_ID, HEADER_KEY_ID];
    if signed_headers.iter().any(|name| parts.headers.get_all(*name).iter().count() > 1) {
        return Err(invalid());
    }
    let signature = header(HEADER_SIGNATURE);
    if signature.is_empty() {
        return Err(invalid());
    }
    let timestamp: i64 = header(HEADER_TIMESTAMP).parse().map_err(|_| invalid())?;
    // The path as the edge sent and signed it: `nest("/v1", ..)` strips the prefix from `parts.uri`.
    let original = parts.extensions.get::<OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
    let limit = paygate_core::limits::body_bytes_max(parts.method.as_str(), original.path());
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::Code(ErrorCode::PayloadTooLarge))?;
    let path = original.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let signed = SignedRequest {
        timestamp,
        method: parts.method.as_str(),
        path: &path,
        body: &body,
        merchant_id: header(HEADER_MERCHANT),
        mode: header(HEADER_MODE),
        request_id: header(HEADER_REQUEST_ID),
        key_id: header(HEADER_KEY_ID),
    };
    let secrets: Vec<_> = state.edge_secrets.iter().collect();
    if let Err(reason) = signed.verify(&secrets, signature, unix_seconds_now()) {
        tracing::warn!(%reason, "rejected an edge request");
        return Err(invalid());
    }
    if !first_sighting(&state.unscoped_pool, &signed).await? {
        tracing::warn!(request_id = signed.request_id, "rejected a replayed edge request");
        return Err(invalid());
    }
    let caller = match (signed.merchant_id, signed.mode) {
        ("", "") => Caller::Edge,
        (merchant, mode) => Caller::Merchant {
            merchant_id: MerchantId::parse(merchant).map_err(|_| invalid())?,
            mode: Mode::parse(mode).ok_or_else(invalid)?,
        },
    };
    // The audit log's actor: the key the edge authenticated, or the edge itself.
    let actor = match signed.key_id {
        "" => "edge".to_owned(),
        key_id => key_id.to_owned(),
    };
    let mut request = Request::from_parts(parts, axum::body::Body::from(body));
    request.extensions_mut().insert(caller);
    let work = crate::domain::actor::scope(actor, next.run(request));
    // The database's own isolation (row-level security) follows the merchant and mode the edge signed.
    Ok(match caller {
        Caller::Merchant { merchant_id, mode } => {
            crate::domain::tenancy::scope(Scope { merchant_id, mode }, work).await
        }
        Caller::Edge => work.await,
    })
}

/// Records what `signed` covers; false when it was seen before (a replay within the signature window).
/// The digest is of the signed content, not of the header, which may carry extra or reordered entries.
async fn first_sighting(pool: &sqlx::PgPool, signed: &SignedRequest<'_>) -> Result<bool, ApiError> {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    let timestamp = signed.timestamp.to_string();
    let parts =
        [&timestamp, signed.method, signed.path, signed.merchant_id, signed.mode, signed.request_id, signed.key_id];
    for part in parts {
        digest.update(part.as_bytes());
        digest.update(b"\n");
    }
    digest.update(Sha256::digest(signed.body));
    let digest = paygate_core::hex::encode(&digest.finalize());
    let inserted = sqlx::query("INSERT INTO seen_requests (digest) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(digest)
        .execute(pool)
        .await
        .map_err(ApiError::from)?;
    Ok(inserted.rows_affected() == 1)
}

/// The merchant and mode a request acts for. Rejects edge-internal calls.
#[derive(Debug, Clone, Copy)]
pub struct MerchantCaller {
    pub merchant_id: MerchantId,
    pub mode: Mode,
}

impl MerchantCaller {
    /// Whose data this request may read and change.
    pub fn scope(self) -> crate::domain::tenancy::Scope {
        crate::domain::tenancy::Scope { merchant_id: self.merchant_id, mode: self.mode }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MerchantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Merchant { merchant_id, mode }) => {
                Ok(MerchantCaller { merchant_id: *merchant_id, mode: *mode })
            }
            // Reaching a merchant endpoint without a merchant is the edge misbehaving or a route set
            // up without the middleware: refuse rather than guess.
            _ => Err(ApiError::Code(ErrorCode::PermissionDenied)),
        }
    }
}
