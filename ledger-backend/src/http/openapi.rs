//! `GET /openapi.json`: the OpenAPI 3.1 document, built from the same endpoint table as the router
//! (`super::api`) and the object schemas of `super::schemas`.

use super::api::{Answer, Endpoint};
use super::schemas;
use axum::Json;
use serde_json::{Map, Value, json};

/// The document for `root` endpoints (mounted at `/`) and `v1` endpoints (mounted at `/v1`).
pub fn document(root: &[Endpoint], v1: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    let mounted = root.iter().map(|e| ("", e)).chain(v1.iter().map(|e| ("/v1", e)));
    for (prefix, endpoint) in mounted {
        let path = format!("{prefix}{}", endpoint.path);
        let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
        let security = if prefix == "/v1" { json!([{ "edgeSignature": [] }]) } else { json!([]) };
        item[endpoint.method.as_str().to_ascii_lowercase()] = operation(endpoint, &path, security);
    }
    let components = titled(schemas::components());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Paygate ledger backend",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The backend behind the Paygate edge. Every /v1 request must carry the edge's signature \
                (paygate-signature over timestamp, method, path, body, merchant, mode and request id); merchants \
                call the same paths on the edge with their API keys. Amounts are integers in the currency's \
                minor unit. Errors are RFC 9457 problems naming the parameter at fault.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "edgeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "paygate-signature",
                    "description": "HMAC-SHA256 by the edge, with paygate-timestamp (±60 s), paygate-merchant, paygate-mode and request-id",
                },
            },
        },
    })
}

/// One endpoint as an OpenAPI operation, callable with `security` (a list of requirement objects).
pub fn operation(endpoint: &Endpoint, path: &str, security: Value) -> Value {
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": schemas::string() }))
        .collect();
    parameters.extend(endpoint.query.iter().map(|(name, description)| {
        json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schemas::string() })
    }));
    if endpoint.idempotency_key {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": true,
            "description": "1 to 255 visible ASCII characters; a retry with the same key and body returns the first answer",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
        }));
    }
    let status = match endpoint.answer {
        Answer::Object(status, _) | Answer::Inline(status, _) => status,
        Answer::List(_) | Answer::ObjectOrAccepted(_) | Answer::Csv => 200,
    };
    let success = success_schema(endpoint);
    let problem = json!({ "content": { "application/problem+json": { "schema": schemas::reference("Problem") } } });
    let mut responses = json!({
        status.to_string(): { "description": "Success", "content": { "application/json": { "schema": success.clone() } } },
        "4XX": { "description": "The request is at fault; `param` names the parameter", "content": problem["content"] },
        "5XX": { "description": "We or a processor are at fault; retry with the same Idempotency-Key", "content": problem["content"] },
    });
    if matches!(endpoint.answer, Answer::Csv) {
        responses["200"] = json!({ "description": "Success", "content": { "text/csv": { "schema": success } } });
    }
    if matches!(endpoint.answer, Answer::ObjectOrAccepted(_)) {
        responses["202"] = json!({ "description": "Accepted by the processor, not yet confirmed: `pending_operation` names it, and an event follows when it ends", "content": { "application/json": { "schema": success.clone() } } });
    }
    if endpoint.idempotency_key {
        responses["200"] = json!({ "description": "Replay: the object the first request with this key created", "content": { "application/json": { "schema": success } } });
    }
    let mut operation = json!({
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if !endpoint.tag.is_empty() {
        operation["tags"] = json!([endpoint.tag]);
    }
    if let Some((schema, required)) = endpoint.request {
        operation["requestBody"] =
            json!({ "required": required, "content": { "application/json": { "schema": schema() } } });
    }
    operation["security"] = security;
    operation
}

/// The components, each titled with its name (what renderers show).
pub fn titled(components: Vec<(&'static str, Value)>) -> Map<String, Value> {
    components
        .into_iter()
        .map(|(name, mut schema)| {
            schema["title"] = json!(name);
            (name.to_owned(), schema)
        })
        .collect()
}

fn success_schema(endpoint: &Endpoint) -> Value {
    match endpoint.answer {
        Answer::Object(_, component) | Answer::ObjectOrAccepted(component) => schemas::reference(component),
        Answer::List(component) => schemas::list_of(component),
        Answer::Inline(_, schema) => schema(),
        Answer::Csv => json!({ "type": "string", "description": "CSV with a header line" }),
    }
}

/// The handler: the document is built once per process.
pub async fn serve() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(|| document(&super::root_endpoints(), &super::v1_endpoints())).clone())
}
