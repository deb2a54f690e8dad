//! The public OpenAPI document (what the edge serves at /v1/openapi.json): it lists exactly the routes a
//! merchant, a browser or a processor can call (the backend's /v1 endpoints but the internal ones, and
//! every public route of core's edge table), says who may call each, and its examples match its schemas.

use crate::helpers::spawn_app;
use crate::openapi::check;
use paygate_core::ErrorCode;
use paygate_core::edge_routes::{Audience, EdgeRoute};
use paygate_core::internal::PUBLIC_OPENAPI_PATH;
use paygate_ledger::http::public_api::TAGS;
use serde_json::Value;
use std::collections::BTreeSet;

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.to_ascii_uppercase(), path.clone(), operation));
        }
    }
    all
}

#[tokio::test]
async fn the_public_document_lists_every_public_route_and_nothing_else() {
    let app = spawn_app().await;
    let doc = app.get_json(PUBLIC_OPENAPI_PATH, 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let mut expected = BTreeSet::new();
    for endpoint in paygate_ledger::http::v1_endpoints() {
        let path = format!("/v1{}", endpoint.path);
        if !path.starts_with(paygate_core::internal::INTERNAL_V1_PREFIX) {
            expected.insert((endpoint.method.as_str().to_owned(), path));
        }
    }
    for route in EdgeRoute::ALL.into_iter().filter(|route| route.audience() == Audience::Public) {
        for method in route.methods() {
            expected.insert(((*method).to_owned(), route.path().to_owned()));
        }
    }
    assert_eq!(documented, expected, "the document and the routes differ");
    // The edge's own routes are in it, and nothing only the edge may call is.
    for path in ["/v1/tokens", "/v1/public/config", "/v1/apple_pay/sessions", "/v1/openapi.json"] {
        assert!(documented.iter().any(|(_, p)| p == path), "{path} is missing");
    }
    let text = doc.to_string();
    assert!(!text.contains("/internal/") && !text.contains("edgeSignature"), "internal routes leak into the document");
}

#[tokio::test]
async fn every_public_operation_says_who_may_call_it_and_how_it_fails() {
    let app = spawn_app().await;
    let doc = app.get_json(PUBLIC_OPENAPI_PATH, 200).await;
    let tags: BTreeSet<&str> = TAGS.iter().map(|(name, _)| *name).collect();
    let mut used = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let tag = operation["tags"][0].as_str().unwrap_or_else(|| panic!("{method} {path} has no tag"));
        assert!(tags.contains(tag), "{method} {path}: tag {tag} is not one of TAGS");
        used.insert(tag);
        let schemes: Vec<&str> = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} does not say who may call it"))
            .iter()
            .flat_map(|requirement| requirement.as_object().unwrap().keys().map(String::as_str))
            .collect();
        let expected: &[&str] = match (method.as_str(), path.as_str()) {
            (_, "/v1/tokens" | "/v1/apple_pay/sessions") if method != "OPTIONS" => &["publishableKey"],
            ("OPTIONS", _) => &[],
            (_, p) if EdgeRoute::ALL.iter().any(|route| route.path() == p) => &[],
            _ => &["secretKey"],
        };
        assert_eq!(schemes, expected, "{method} {path}");
        if method == "POST" && expected == ["secretKey"] {
            // Every forwarded POST takes an Idempotency-Key; the money-moving ones (core's rule) require it.
            let key = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
                .unwrap_or_else(|| panic!("POST {path} does not document the Idempotency-Key header"));
            assert_eq!(key["required"], paygate_core::idempotency::requires_key("POST", &path), "POST {path}");
            let replayed =
                &operation["responses"].as_object().unwrap().iter().find(|(s, _)| s.starts_with('2')).unwrap().1;
            assert!(replayed["headers"]["Idempotent-Replayed"].is_object(), "POST {path}: Idempotent-Replayed");
        }
        if !matches!(method.as_str(), "OPTIONS")
            && !matches!(tag, "meta")
            && path != "/.well-known/apple-developer-merchantid-domain-association"
        {
            assert!(operation["responses"]["429"].is_object(), "{method} {path} does not document its rate limit");
        }
        let success = operation["responses"].as_object().unwrap().keys().any(|status| status.starts_with('2'));
        assert!(success, "{method} {path} has no success answer");
        if operation["requestBody"].is_object() || operation["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            let failure = operation["responses"].as_object().unwrap().keys().any(|s| s.starts_with('4'));
            assert!(failure, "{method} {path} takes input but documents no 4xx");
        }
    }
    assert_eq!(used, tags, "a tag without operations");
    // Every code of core's catalogue is a documented problem code.
    let codes: BTreeSet<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    assert_eq!(codes, ErrorCode::ALL.iter().map(|code| code.as_str()).collect());
    for header in [
        "Request-Id",
        "Idempotent-Replayed",
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(doc["components"]["headers"][header].is_object(), "{header} is not documented");
    }
}

#[tokio::test]
async fn every_example_in_the_public_document_matches_its_schema() {
    let app = spawn_app().await;
    let doc = app.get_json(PUBLIC_OPENAPI_PATH, 200).await;
    let mut examples = 0;
    let mut verify = |what: String, media: &Value| {
        if let Some(example) = media.get("example") {
            examples += 1;
            if let Err(mismatch) = check(&doc, &media["schema"], example, "$") {
                panic!("{what}: its example does not match its schema: {mismatch}");
            }
        }
    };
    for (method, path, operation) in operations(&doc) {
        verify(format!("{method} {path} body"), &operation["requestBody"]["content"]["application/json"]);
        for (status, response) in operation["responses"].as_object().unwrap() {
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                verify(format!("{method} {path} {status} {media_type}"), media);
            }
        }
    }
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        for media in response["content"].as_object().unwrap().values() {
            verify(format!("response {name}"), media);
        }
    }
    assert!(examples >= 10, "only {examples} examples");
}
