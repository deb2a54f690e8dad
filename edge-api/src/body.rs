//! Reading request bodies: a size limit (413), JSON only (415), an object (400 naming why).

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use serde_json::{Map, Value};
use worker::Request;

/// The largest body the edge accepts on most routes; the backend has the same limits (`core::limits`).
pub const BODY_BYTES_MAX: usize = paygate_core::limits::BODY_BYTES_MAX;

/// The raw body, refused when larger than `BODY_BYTES_MAX` or, if not empty, not JSON.
pub async fn read(req: &mut Request) -> Result<Vec<u8>, Refusal> {
    read_at_most(req, BODY_BYTES_MAX).await
}

/// The raw body, refused when larger than `limit` or, if not empty, not JSON.
pub async fn read_at_most(req: &mut Request, limit: usize) -> Result<Vec<u8>, Refusal> {
    let declared: Option<usize> = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let bytes =
        req.bytes().await.map_err(|_| Refusal::new(ErrorCode::BodyMalformed).detail("the body could not be read"))?;
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    if !bytes.is_empty() {
        let content_type = req.headers().get("content-type").ok().flatten().unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" {
            return Err(Refusal::new(ErrorCode::UnsupportedMediaType)
                .detail(format!("send the body as application/json, not {content_type:?}")));
        }
    }
    Ok(bytes)
}

fn too_large(limit: usize) -> Refusal {
    Refusal::new(ErrorCode::PayloadTooLarge).detail(format!("the body is larger than {limit} bytes"))
}

/// The body as a JSON object.
pub fn object(bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Refusal::new(ErrorCode::ParameterInvalid).detail("the body must be a JSON object")),
        Err(error) => Err(Refusal::new(ErrorCode::BodyMalformed).detail(error.to_string())),
    }
}
