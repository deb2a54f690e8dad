//! `ApiJson<T>`: our JSON body extractor. Every way a body can be wrong becomes a problem answer that
//! names the parameter at fault, instead of axum's plain-text rejections:
//! wrong content type → 415; too large → 413; not JSON → 400 `body_malformed`; unknown field → 400
//! `parameter_unknown`; missing field → 400 `parameter_missing`; wrong type or value → 400
//! `parameter_invalid`, each with `param` as a dotted path (`metadata.order_id`).

use super::{ApiError, BODY_BYTES_MAX};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use paygate_core::ErrorCode;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body =
            axum::body::to_bytes(body, BODY_BYTES_MAX).await.map_err(|_| ApiError::Code(ErrorCode::PayloadTooLarge))?;
        required(&parts.headers, &body).map(ApiJson)
    }
}

/// A required JSON body: 400 when there is none (whatever its declared type), 415 unless it is declared as
/// JSON, then parsed as `parse` does.
pub fn required<T: DeserializeOwned>(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::Param {
            code: ErrorCode::BodyMalformed,
            param: String::new(),
            detail: "the request body is missing: send a JSON object".into(),
        });
    }
    require_json_content_type(headers)?;
    parse(body)
}

/// 415 unless the body is declared as JSON.
pub fn require_json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::Code(ErrorCode::UnsupportedMediaType))
    }
}

/// An optional JSON body: `T::default()` when there is none, otherwise parsed as `parse` does (and refused
/// unless it is declared as JSON).
pub fn optional<T: DeserializeOwned + Default>(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    require_json_content_type(headers)?;
    parse(body)
}

/// Parses a JSON body into `T`, mapping each failure to the problem that names its parameter.
///
/// Two passes: first into a `Value`, so that only real syntax errors become `body_malformed` (serde_json
/// reports some type mismatches, such as a number where an enum's string belongs, as syntax errors when
/// deserialising straight from bytes); then from the `Value` into `T`, tracking the path.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| ApiError::Param {
        code: ErrorCode::BodyMalformed,
        param: String::new(),
        detail: error.to_string(),
    })?;
    // PostgreSQL text cannot hold NUL: refused here, once, for every string and key of every body.
    if let Some(path) = nul_at(&value) {
        let param = path.join(".");
        return Err(ApiError::Param {
            code: ErrorCode::ParameterInvalid,
            param,
            detail: "text must not contain the NUL character (\\u0000)".into(),
        });
    }
    // serde would fill a struct from an array by position; every body we take is an object.
    if !value.is_object() {
        return Err(ApiError::Param {
            code: ErrorCode::ParameterInvalid,
            param: String::new(),
            detail: "the body must be a JSON object".into(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        // serde_json's data errors carry no kind; their messages are stable and start with these.
        // For an unknown field the path already ends at it; a missing one never entered the path.
        if backticked(&message, "unknown field `").is_some() {
            return ApiError::Param {
                code: ErrorCode::ParameterUnknown,
                param: path,
                detail: strip_position(&message),
            };
        }
        if let Some(field) = backticked(&message, "missing field `") {
            return ApiError::Param {
                code: ErrorCode::ParameterMissing,
                param: join(&path, field),
                detail: strip_position(&message),
            };
        }
        let param = if path == "." { String::new() } else { path };
        ApiError::Param { code: ErrorCode::ParameterInvalid, param, detail: strip_position(&message) }
    })
}

/// The path (outermost first) to the first string or key holding a NUL character; a key with a NUL is
/// named by its parent (the key itself cannot be printed faithfully). The path is built only on the way
/// back from a find, so a clean body (every body on the hot path) costs one walk and no allocation.
/// serde_json's recursion limit bounds the depth.
fn nul_at(value: &serde_json::Value) -> Option<Vec<String>> {
    use serde_json::Value;
    let within = |segment: String, path: Option<Vec<String>>| {
        path.map(|mut path| {
            path.insert(0, segment);
            path
        })
    };
    match value {
        Value::String(text) => text.contains('\0').then(Vec::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| within(i.to_string(), nul_at(item))),
        Value::Object(map) => {
            map.iter().find_map(
                |(key, item)| {
                    if key.contains('\0') { Some(Vec::new()) } else { within(key.clone(), nul_at(item)) }
                },
            )
        }
        _ => None,
    }
}

/// The text between `prefix` and the next backtick.
fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix).and_then(|rest| rest.split('`').next())
}

fn join(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

/// serde_json appends " at line 1 column 17"; the param already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        amount: i64,
        metadata: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        order: String,
    }

    fn problem(body: &str) -> (ErrorCode, String) {
        match parse::<Body>(body.as_bytes()).unwrap_err() {
            ApiError::Param { code, param, .. } => (code, param),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_failure_names_its_parameter() {
        assert_eq!(problem("{"), (ErrorCode::BodyMalformed, String::new()));
        assert_eq!(problem("[]"), (ErrorCode::ParameterInvalid, String::new()));
        assert_eq!(problem(r#"{"amount": "10"}"#), (ErrorCode::ParameterInvalid, "amount".into()));
        assert_eq!(problem(r#"{"amount": 1.5}"#), (ErrorCode::ParameterInvalid, "amount".into()));
        assert_eq!(problem(r#"{}"#), (ErrorCode::ParameterMissing, "amount".into()));
        assert_eq!(problem(r#"{"amount": 1, "extra": 2}"#), (ErrorCode::ParameterUnknown, "extra".into()));
        assert_eq!(problem(r#"{"amount": 1, "metadata": {}}"#), (ErrorCode::ParameterMissing, "metadata.order".into()));
        assert_eq!(
            problem(r#"{"amount": 1, "metadata": {"order": 5}}"#),
            (ErrorCode::ParameterInvalid, "metadata.order".into())
        );
        assert_eq!(
            problem(r#"{"amount": 1, "metadata": {"order": "a", "x": 1}}"#),
            (ErrorCode::ParameterUnknown, "metadata.x".into())
        );
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_where() {
        assert_eq!(
            problem(r#"{"amount": 1, "metadata": {"order": "a\u0000"}}"#),
            (ErrorCode::ParameterInvalid, "metadata.order".into())
        );
        assert_eq!(
            problem(r#"{"amount": 1, "metadata": {"or\u0000der": "a"}}"#),
            (ErrorCode::ParameterInvalid, "metadata".into())
        );
        assert_eq!(problem(r#"{"list": [1, "\u0000"]}"#), (ErrorCode::ParameterInvalid, "list.1".into()));
    }

    #[test]
    fn a_missing_body_is_a_400_whatever_its_type() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let missing = required::<Body>(&headers, b"").map(|_| ()).unwrap_err();
        assert!(matches!(missing, ApiError::Param { code: ErrorCode::BodyMalformed, .. }), "{missing:?}");
        let untyped = required::<Body>(&axum::http::HeaderMap::new(), b"{}").map(|_| ()).unwrap_err();
        assert!(matches!(untyped, ApiError::Code(ErrorCode::UnsupportedMediaType)), "{untyped:?}");
    }

    /// Outside input never panics the parser and is never answered with anything but a 4xx problem.
    fn accepted_or_4xx(body: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        match parse::<Body>(body) {
            Ok(_) => Ok(()),
            Err(ApiError::Param { code, .. }) | Err(ApiError::Code(code)) => {
                proptest::prop_assert!((400..500).contains(&code.status()), "{code:?} for {body:?}");
                Ok(())
            }
            Err(other) => Err(proptest::test_runner::TestCaseError::fail(format!("{other:?} for {body:?}"))),
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_get_a_value_or_a_4xx_problem(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            accepted_or_4xx(&body)?;
        }

        #[test]
        fn json_shaped_input_gets_a_value_or_a_4xx_problem(
            body in r#"\{( ?"(amount|metadata|order|[a-z]{1,6})": ?(-?[0-9]{1,22}(\.[0-9]{1,3})?(e[0-9]{1,3})?|"[^"\\]{0,6}"|null|true|\[\]|\{"order": ?"[a-z]{0,3}"\}|\{\}),?){0,4}\}"#
        ) {
            accepted_or_4xx(body.as_bytes())?;
        }
    }
}
