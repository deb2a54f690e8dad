//! API-key authentication (docs/design.md §5): the key from `Authorization` (Bearer, or Basic with the key as
//! the user name, as curl's `-u sk_test_…:` sends it), checked for shape by core, hashed with the pepper
//! shared with the backend, and resolved to its merchant, mode and kind through the key's cache object
//! (`keys::ApiKeyCache`). Then the key's kind must allow the route; its mode scopes everything after.

use crate::keys;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::api_key::{ApiKey, KeyKind};
use worker::{Env, Request};

/// The authenticated caller: the backend's answer to the key lookup, in core's shape.
pub type Caller = paygate_core::internal::KeyIdentity;

/// What a route lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Browser-side routes: tokens, public config, Apple Pay sessions.
    Publishable,
    /// Everything else.
    Secret,
}

/// The caller behind the request's key, after taking one request from the key's `per_key` bucket (looked
/// up and limited at once: the two Durable Object calls run concurrently).
pub async fn authenticate(
    req: &Request,
    env: &Env,
    request_id: &str,
    needs: Needs,
    per_key: crate::rate_limit::Limit,
) -> Result<Caller, Refusal> {
    let presented = presented_of(req)?;
    authenticate_key(env, request_id, &presented, needs, per_key).await
}

/// The caller behind a key presented some other way than the `Authorization` header (the public
/// configuration takes it in the query, so a browser can ask without a preflight): the same checks, the
/// same lookup, the same per-key limit.
pub async fn authenticate_key(
    env: &Env,
    request_id: &str,
    presented: &str,
    needs: Needs,
    per_key: crate::rate_limit::Limit,
) -> Result<Caller, Refusal> {
    let (key, hash) = checked(env, presented, needs)?;
    looked_up_and_limited(env, request_id, &key, &hash, per_key).await
}

/// The key's lookup and the take from its bucket, as two object calls made together. The bucket is named by the
/// key's hash: one per key, without waiting for the lookup.
async fn looked_up_and_limited(
    env: &Env,
    request_id: &str,
    key: &ApiKey,
    hash: &str,
    per_key: crate::rate_limit::Limit,
) -> Result<Caller, Refusal> {
    let (found, limited) = futures_util::future::join(
        keys::lookup(env, hash, request_id),
        crate::rate_limit::enforce(env, format!("key:{hash}"), per_key),
    )
    .await;
    let caller = found?.ok_or_else(|| Refusal::new(ErrorCode::ApiKeyInvalid).detail("no active API key matches"))?;
    limited?;
    agrees(key, caller, request_id)
}

/// A take from a key's bucket still to be made: the caller makes it (`enforce`) alongside its own next object
/// call, and sends nothing on before it is allowed.
#[must_use = "the request is not rate-limited until the take is made"]
pub struct PendingLimit {
    name: String,
    limit: crate::rate_limit::Limit,
}

impl PendingLimit {
    pub async fn enforce(self, env: &Env) -> Result<(), Refusal> {
        crate::rate_limit::enforce(env, self.name, self.limit).await
    }
}

/// `authenticate`, for a caller with an object call of its own to make next (the idempotency record's): when
/// this isolate already knows the key, the caller is answered at once and the take from the key's bucket is
/// handed back, so the two object calls overlap instead of following each other. Otherwise the lookup and
/// the take run together here, as in `authenticate`, and nothing is left to take.
pub async fn authenticate_overlapping(
    req: &Request,
    env: &Env,
    request_id: &str,
    needs: Needs,
    per_key: crate::rate_limit::Limit,
) -> Result<(Caller, Option<PendingLimit>), Refusal> {
    let presented = presented_of(req)?;
    let (key, hash) = checked(env, &presented, needs)?;
    match keys::cached(&hash) {
        Some(caller) => {
            let caller = agrees(&key, caller, request_id)?;
            Ok((caller, Some(PendingLimit { name: format!("key:{hash}"), limit: per_key })))
        }
        None => Ok((looked_up_and_limited(env, request_id, &key, &hash, per_key).await?, None)),
    }
}

/// The presented key, well formed and of a kind the route takes, with its hash (the pepper shared with the
/// backend).
fn checked(env: &Env, presented: &str, needs: Needs) -> Result<(ApiKey, String), Refusal> {
    let key = ApiKey::parse(presented)
        .map_err(|_| Refusal::new(ErrorCode::ApiKeyInvalid).detail("the API key is malformed"))?;
    let allowed = match needs {
        Needs::Publishable => key.kind() == KeyKind::Publishable,
        Needs::Secret => key.kind() == KeyKind::Secret,
    };
    if !allowed {
        let detail = match needs {
            Needs::Publishable => "this endpoint takes a publishable key (pk_…), from the browser",
            Needs::Secret => "this endpoint takes a secret key (sk_…), from your server",
        };
        return Err(Refusal::new(ErrorCode::PermissionDenied).detail(detail));
    }
    let pepper = crate::config::api_key_pepper(env)?;
    let hash = paygate_core::signature::keyed_hash::api_key_hash(&pepper, key.expose());
    Ok((key, hash))
}

/// The backend is the source of truth, but a stored key whose mode or kind disagrees with its own prefix
/// would be a corrupted record: never let it through.
fn agrees(key: &ApiKey, caller: Caller, request_id: &str) -> Result<Caller, Refusal> {
    if caller.mode != key.mode() || caller.kind != key.kind() {
        worker::console_error!("{request_id} key record disagrees with the key's prefix");
        return Err(Refusal::new(ErrorCode::ApiKeyInvalid));
    }
    Ok(caller)
}

/// The key in the `Authorization` header, or the refusal that asks for one.
fn presented_of(req: &Request) -> Result<String, Refusal> {
    let header = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    presented_key(&header).ok_or_else(|| {
        Refusal::new(ErrorCode::AuthenticationRequired).detail("send your API key as `Authorization: Bearer <key>`")
    })
}

/// The key in an `Authorization` header value, if there is one.
fn presented_key(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" if !value.is_empty() => Some(value.to_owned()),
        "basic" => {
            let decoded = decode_base64(value)?;
            let text = String::from_utf8(decoded).ok()?;
            let user = text.split(':').next()?;
            (!user.is_empty()).then(|| user.to_owned())
        }
        _ => None,
    }
}

/// Standard base64, with or without padding (curl pads, some clients do not); `None` on anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    STANDARD_ANY_PADDING.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_bearer_or_basic_user() {
        assert_eq!(presented_key("Bearer sk_test_abc"), Some("sk_test_abc".into()));
        assert_eq!(presented_key("bearer   sk_test_abc  "), Some("sk_test_abc".into()));
        // base64("sk_test_abc:")
        assert_eq!(presented_key("Basic c2tfdGVzdF9hYmM6"), Some("sk_test_abc".into()));
        assert_eq!(presented_key("Basic !!!"), None);
        assert_eq!(presented_key("Bearer "), None);
        assert_eq!(presented_key("sk_test_abc"), None);
        assert_eq!(presented_key(""), None);
    }
}
