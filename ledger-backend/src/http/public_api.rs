//! The public API's OpenAPI document: everything merchants' servers, shoppers' browsers, processors and Apple
//! call on the edge. It is written from two tables, so it cannot drift from what is routed:
//! - the backend's `/v1` endpoints (`super::v1_endpoints`), which the edge forwards with the caller's secret
//!   key, minus the `/internal/` ones only the edge may call;
//! - core's table of the edge's own routes (`paygate_core::edge_routes`), each described by an exhaustive match
//!   below, so a new edge route does not compile until it is documented.
//!
//! The edge serves it at `/v1/openapi.json` (from the backend's unsigned `/openapi/public.json`), and
//! `paygate-docs` renders it into the documentation site's API reference.

use super::api::Endpoint;
use super::{openapi, schemas};
use axum::Json;
use paygate_core::edge_routes::{Audience, EdgeRoute};
use paygate_core::{ErrorCode, problem};
use serde_json::{Map, Value, json};

/// Who may call an operation, as OpenAPI security requirements.
fn secret_key() -> Value {
    json!([{ "secretKey": [] }])
}

fn publishable_key() -> Value {
    json!([{ "publishableKey": [] }])
}

fn anyone() -> Value {
    json!([])
}

/// The whole document for the backend's `v1` endpoints and the edge's routes.
pub fn document(v1: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    for endpoint in v1 {
        let path = format!("/v1{}", endpoint.path);
        if path.starts_with(paygate_core::internal::INTERNAL_V1_PREFIX) {
            continue;
        }
        let mut operation = openapi::operation(endpoint, &path, secret_key());
        let example = request_example(endpoint.operation_id);
        let problem = match example.as_ref().and_then(|e| e.as_object()?.keys().next().cloned()) {
            Some(param) => problem_example(ErrorCode::ParameterInvalid, Some(&param)),
            None => problem_example(ErrorCode::ApiKeyInvalid, None),
        };
        if let Some(example) = example {
            operation["requestBody"]["content"]["application/json"]["example"] = example;
        }
        let post = endpoint.method == axum::http::Method::POST;
        if post && !endpoint.idempotency_key {
            // The edge deduplicates every POST that carries a key; only money-moving ones require it.
            let parameters = operation["parameters"].as_array_mut().expect("operation() lists parameters");
            parameters.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Optional here: a retry with the same key and body gets the first answer",
                "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
            }));
        }
        with_edge_answers(&mut operation, Some(problem), post);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_ascii_lowercase()] = operation;
    }
    for route in EdgeRoute::ALL.into_iter().filter(|route| route.audience() == Audience::Public) {
        for method in route.methods() {
            let item = paths.entry(route.path().to_owned()).or_insert_with(|| json!({}));
            item[method.to_ascii_lowercase()] = edge_operation(route, method);
        }
    }
    let mut components = openapi::titled(schemas::components());
    components.extend(openapi::titled(edge_components()));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Paygate API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
        },
        "servers": [
            { "url": "https://api.paygate.dev", "description": "Paygate" },
            { "url": "http://127.0.0.1:8787", "description": "A local stack (`make dev`)" },
        ],
        "tags": tags(),
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "secretKey": {
                    "type": "http", "scheme": "bearer",
                    "description": "A secret key (`sk_test_…` or `sk_live_…`), for your server only. `Authorization: Basic` with the key as user name (curl's `-u sk_…:`) works too.",
                },
                "publishableKey": {
                    "type": "http", "scheme": "bearer",
                    "description": "A publishable key (`pk_test_…` or `pk_live_…`): safe in a browser; it can only make tokens and read the public config.",
                },
            },
            "headers": headers(),
            "responses": {
                "RateLimited": {
                    "description": "Too many requests for this key (or client address): wait `Retry-After` seconds",
                    "headers": {
                        "Retry-After": { "$ref": "#/components/headers/Retry-After" },
                        "RateLimit-Limit": { "$ref": "#/components/headers/RateLimit-Limit" },
                        "RateLimit-Remaining": { "$ref": "#/components/headers/RateLimit-Remaining" },
                        "RateLimit-Reset": { "$ref": "#/components/headers/RateLimit-Reset" },
                        "Request-Id": { "$ref": "#/components/headers/Request-Id" },
                    },
                    "content": { problem::CONTENT_TYPE: {
                        "schema": schemas::reference("Problem"),
                        "example": problem_example(ErrorCode::RateLimited, None),
                    } },
                },
            },
        },
    })
}

const DESCRIPTION: &str = "Accept cards and Apple Pay. Your shop's page makes single-use tokens with a \
publishable key (through `@paygate/js`, whose card form runs in an iframe on our origin); your server charges, \
captures, voids and refunds them with a secret key. Keys of test mode (`_test_`) only ever see test data.\n\n\
Amounts are integers in the currency's minor unit (`2500` EUR is 25.00 €; `1000` JPY is ¥1000). Every answer \
carries a `Request-Id`. Errors are RFC 9457 problems (`application/problem+json`) whose `code` is one of a \
fixed catalogue and whose `param` names the parameter at fault. `POST /v1/charges` and `POST /v1/refunds` \
need an `Idempotency-Key`: a retry with the same key and body answers what the first request did.";

/// The tags in the order the reference shows them, each with its one-line description.
pub const TAGS: [(&str, &str); 15] = [
    ("tokens", "Tokens and the public config: what the browser calls with a publishable key"),
    ("charges", "Charges: authorize, capture, void"),
    ("refunds", "Refunds of captured charges"),
    ("authentication", "3-D Secure: where the shopper's browser returns after authenticating"),
    ("apple_pay", "Apple Pay: merchant validation and the domains your checkout runs on"),
    ("balance", "Your balance per currency"),
    ("payouts", "Payouts to your bank account"),
    ("ledger", "The double-entry ledger behind every amount"),
    ("events", "Events: what happened, as webhooks deliver it"),
    ("webhooks", "Webhook endpoints and their deliveries"),
    ("api_keys", "API keys"),
    ("processors", "Processor accounts and routing"),
    ("processor_webhooks", "Where processors send their webhooks (you register these URLs at the processor)"),
    ("reconciliation", "Settlement reports, reconciliation runs and exceptions"),
    ("meta", "Health, readiness and this document"),
];

fn tags() -> Value {
    TAGS.iter().map(|(name, description)| json!({ "name": name, "description": description })).collect()
}

fn headers() -> Value {
    let integer = |description: &str| json!({ "description": description, "schema": { "type": "integer" } });
    json!({
        "Request-Id": { "description": "This request's id: quote it when you ask us about a request", "schema": schemas::string() },
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key",
            "schema": { "type": "string", "enum": ["true"] },
        },
        "Retry-After": integer("Seconds to wait before trying again"),
        "RateLimit-Limit": integer("Requests allowed in the window"),
        "RateLimit-Remaining": integer("Requests left in the window"),
        "RateLimit-Reset": integer("Seconds until the window resets"),
    })
}

/// What the edge adds to every operation it answers or forwards: `Request-Id` on every answer, 429 when a
/// key (or a client address) is over its limit, and `Idempotent-Replayed` on a replayed answer.
/// `problem`, if given, is the example of the operation's 4XX answer; `replayable` when the edge may answer a
/// retry with the stored answer (a forwarded POST with an Idempotency-Key).
fn with_edge_answers(operation: &mut Value, problem: Option<Value>, replayable: bool) {
    let Some(responses) = operation["responses"].as_object_mut() else { return };
    for (status, response) in responses.iter_mut() {
        response["headers"]["Request-Id"] = json!({ "$ref": "#/components/headers/Request-Id" });
        if status.starts_with('2') && replayable {
            response["headers"]["Idempotent-Replayed"] = json!({ "$ref": "#/components/headers/Idempotent-Replayed" });
        }
    }
    // Every route with an API key or a public caller is rate limited, per key or per client address.
    responses.insert("429".into(), json!({ "$ref": "#/components/responses/RateLimited" }));
    if let (Some(example), Some(answer)) = (problem, responses.get_mut("4XX")) {
        answer["content"][problem::CONTENT_TYPE]["example"] = example;
    }
}

fn problem_example(code: ErrorCode, param: Option<&str>) -> Value {
    let mut example = json!({
        "type": format!("{}{}", problem::TYPE_BASE, code.as_str()),
        "title": code.title(),
        "status": code.status(),
        "code": code.as_str(),
        "request_id": "req_0123456789abcdef",
    });
    if let Some(param) = param {
        example["param"] = json!(param);
        example["detail"] = json!(format!("{param} is not valid here"));
    }
    example
}

/// Request examples for the operations a first integration calls; each is checked against its schema.
pub fn request_example(operation_id: &str) -> Option<Value> {
    Some(match operation_id {
        "createCharge" => {
            json!({ "amount": 2500, "currency": "EUR", "source": "tok_01jh8x0c6fq3b7a9k2m4n5p6r7", "capture": false })
        }
        "createRefund" => json!({ "charge": "ch_01jh8x0d0v2w3x4y5z6a7b8c9d", "amount": 500 }),
        "createWebhookEndpoint" => json!({ "url": "https://shop.example/webhooks", "enabled_events": ["*"] }),
        "createToken" => {
            json!({ "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123" } })
        }
        _ => return None,
    })
}

/// One operation of the edge's own routes. The match is exhaustive: a new route must say what it is.
fn edge_operation(route: EdgeRoute, method: &str) -> Value {
    if method == "OPTIONS" {
        return json!({
            "operationId": format!("preflight{}", operation_name(route)),
            "summary": "CORS preflight (browsers send it on their own)",
            "tags": [tag(route)],
            "security": anyone(),
            "responses": { "204": { "description": "Any origin may call with authorization, content-type and idempotency-key" } },
        });
    }
    let problem = json!({ problem::CONTENT_TYPE: { "schema": schemas::reference("Problem") } });
    let json_answer = |description: &str, schema: Value| json!({ "description": description, "content": { "application/json": { "schema": schema } } });
    let mut operation = json!({
        "operationId": format!("{}{}", method.to_ascii_lowercase(), operation_name(route)),
        "tags": [tag(route)],
        "security": anyone(),
    });
    let (summary, responses) = match route {
        EdgeRoute::Health => ("Whether the edge is up", json!({ "200": json_answer("Up", status_object("ok")) })),
        EdgeRoute::Ready => (
            "Whether the edge and the backend behind it can take requests",
            json!({
                "200": json_answer("Ready", status_object("ready")),
                "503": { "description": "The backend does not answer; retry after `Retry-After`", "content": problem },
            }),
        ),
        EdgeRoute::OpenApi => {
            ("This document", json!({ "200": json_answer("The OpenAPI 3.1 document", json!({ "type": "object" })) }))
        }
        EdgeRoute::Tokens => {
            operation["security"] = publishable_key();
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": {
                "schema": schemas::reference("TokenRequest"),
                "example": request_example("createToken"),
            } } });
            (
                "Make a single-use token of a card (or an Apple Pay payment): `@paygate/js` calls this from its iframe",
                json!({
                    "201": json_answer("The token; charge it from your server within 15 minutes", schemas::reference("Token")),
                    "4XX": { "description": "The card data is invalid (`param` names the field) or the key may not make tokens", "content": problem },
                }),
            )
        }
        EdgeRoute::PublicConfig => {
            operation["parameters"] = json!([{ "name": "key", "in": "query", "required": true,
                "description": "Your publishable key", "schema": schemas::string() }]);
            (
                "What the SDK needs before it renders: the mode and the payment methods on offer",
                json!({
                    "200": json_answer("The public config", schemas::reference("PublicConfig")),
                    "4XX": { "description": "`key` is missing, unknown, revoked or not publishable", "content": problem },
                }),
            )
        }
        EdgeRoute::ApplePaySessions => {
            operation["security"] = publishable_key();
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": {
                "schema": schemas::reference("ApplePaySessionRequest"),
            } } });
            (
                "Apple Pay merchant validation: the Apple Pay element calls this when the sheet opens",
                json!({
                    "200": json_answer("Apple's merchant session, to hand to `completeMerchantValidation`", json!({ "type": "object" })),
                    "4XX": { "description": "`validation_url` is not Apple's, or `domain` is not registered", "content": problem },
                }),
            )
        }
        EdgeRoute::AuthenticationReturn => {
            operation["parameters"] = json!([{ "name": "reference", "in": "path", "required": true,
                "description": "The single-use return reference (`ar_…`) Paygate gave the processor", "schema": schemas::string() }]);
            (
                "Where the processor sends the shopper's browser after 3-D Secure: Paygate asks the processor how it ended and shows a page that tells the dialog",
                json!({ "200": { "description": "A page with no script that reports the outcome to `@paygate/js`", "content": { "text/html": { "schema": schemas::string() } } },
                        "404": { "description": "Unknown or already used reference", "content": { "text/html": { "schema": schemas::string() } } } }),
            )
        }
        EdgeRoute::ProcessorEvents => {
            operation["parameters"] = json!([
                { "name": "connector", "in": "path", "required": true, "schema": schemas::one_of_strings(&["stripe", "checkout"]) },
                { "name": "account", "in": "path", "required": true, "description": "The processor account (`pa_…`)", "schema": schemas::id("pa") },
                { "name": "Stripe-Signature", "in": "header", "required": false, "description": "Stripe's signature (for `stripe`)", "schema": schemas::string() },
                { "name": "Cko-Signature", "in": "header", "required": false, "description": "Checkout.com's signature (for `checkout`)", "schema": schemas::string() },
            ]);
            operation["requestBody"] = json!({ "required": true, "content": { "application/json": {
                "schema": { "type": "object", "description": "The processor's event, as the processor sends it" } } } });
            (
                "A processor's webhook for one of your processor accounts (the URL the dashboard shows for the account)",
                json!({
                    "200": json_answer("Received (a duplicate is received too, and ignored)", json!({ "type": "object" })),
                    "4XX": { "description": "The signature does not verify with the account's webhook secret, or the account is unknown", "content": problem },
                }),
            )
        }
        EdgeRoute::ApplePayDomainAssociation => (
            "Apple Pay's domain-association file, which Apple fetches to verify a domain",
            json!({ "200": { "description": "The file Apple issued", "content": { "text/plain": { "schema": schemas::string() } } },
                    "404": { "description": "Apple Pay is not configured on this deployment", "content": problem } }),
        ),
        EdgeRoute::Dashboard
        | EdgeRoute::Assets
        | EdgeRoute::VaultForward
        | EdgeRoute::VaultDescribe
        | EdgeRoute::KeyRevoked => unreachable!("{route:?} is not in the public document"),
    };
    operation["summary"] = json!(summary);
    operation["responses"] = responses;
    let problem = match route {
        EdgeRoute::Tokens => Some(problem_example(ErrorCode::CardNumberInvalid, Some("card.number"))),
        EdgeRoute::PublicConfig => Some(problem_example(ErrorCode::ApiKeyInvalid, Some("key"))),
        _ => None,
    };
    let limited = !matches!(
        route,
        EdgeRoute::Health | EdgeRoute::Ready | EdgeRoute::OpenApi | EdgeRoute::ApplePayDomainAssociation
    );
    if limited {
        with_edge_answers(&mut operation, problem, false);
    } else if let Some(responses) = operation["responses"].as_object_mut() {
        for response in responses.values_mut() {
            response["headers"]["Request-Id"] = json!({ "$ref": "#/components/headers/Request-Id" });
        }
    }
    operation
}

fn operation_name(route: EdgeRoute) -> String {
    format!("{route:?}")
}

fn tag(route: EdgeRoute) -> &'static str {
    match route {
        EdgeRoute::Tokens | EdgeRoute::PublicConfig => "tokens",
        EdgeRoute::ApplePaySessions | EdgeRoute::ApplePayDomainAssociation => "apple_pay",
        EdgeRoute::AuthenticationReturn => "authentication",
        EdgeRoute::ProcessorEvents => "processor_webhooks",
        _ => "meta",
    }
}

fn status_object(status: &str) -> Value {
    json!({ "type": "object", "properties": { "status": schemas::constant(status) }, "required": ["status"], "additionalProperties": false })
}

/// The objects only the edge answers with.
fn edge_components() -> Vec<(&'static str, Value)> {
    let card = schemas::object(&[
        ("brand", json!({ "type": "string", "examples": ["visa", "mastercard", "mada"] })),
        (
            "brands",
            json!({ "type": "array", "items": schemas::string(), "description": "Every network of the card, co-badges included" }),
        ),
        ("last4", schemas::string()),
        ("exp_month", schemas::integer()),
        ("exp_year", schemas::integer()),
        (
            "fingerprint",
            json!({ "type": "string", "description": "The same card number gives the same fingerprint, for you alone" }),
        ),
        (
            "issuing_country",
            schemas::nullable(
                json!({ "type": "string", "description": "ISO 3166-1 alpha-2, where the number says it" }),
            ),
        ),
        (
            "wallet",
            json!({ "type": "object", "description": "For Apple Pay: `last4` is the device account number's, not the card's" }),
        ),
    ]);
    let mut card = card;
    card["required"] = json!(["brand", "brands", "last4", "exp_month", "exp_year", "fingerprint"]);
    let card_request = schemas::request(
        &[
            ("number", json!({ "type": "string", "description": "12 to 19 digits; spaces are ignored" })),
            ("exp_month", json!({ "type": "integer", "minimum": 1, "maximum": 12 })),
            ("exp_year", json!({ "type": "integer", "description": "Four digits" })),
            ("cvc", json!({ "type": "string", "description": "3 digits, 4 for American Express" })),
            ("name", schemas::string()),
            ("postal_code", schemas::string()),
        ],
        &["number", "exp_month", "exp_year"],
    );
    let apple_pay_request = schemas::request(
        &[(
            "payment_data",
            json!({ "type": "object", "description": "The `paymentData` of Apple's payment token (EC_v1)" }),
        )],
        &["payment_data"],
    );
    vec![
        (
            "TokenRequest",
            json!({ "oneOf": [
                schemas::request(&[("card", card_request)], &["card"]),
                schemas::request(&[("apple_pay", apple_pay_request)], &["apple_pay"]),
            ] }),
        ),
        (
            "Token",
            schemas::object(&[
                ("id", schemas::id("tok")),
                ("object", schemas::constant("token")),
                ("type", schemas::one_of_strings(&["card", "apple_pay"])),
                ("livemode", schemas::boolean()),
                ("card", card),
                ("created", schemas::timestamp()),
                ("used", schemas::boolean()),
            ]),
        ),
        (
            "PublicConfig",
            schemas::object(&[
                ("object", schemas::constant("public_config")),
                ("livemode", schemas::boolean()),
                ("payment_methods", json!({ "type": "array", "items": schemas::string() })),
                (
                    "apple_pay",
                    json!({ "type": "object", "properties": {
                    "enabled": schemas::boolean(), "merchant_id": schemas::string() }, "required": ["enabled"], "additionalProperties": false }),
                ),
            ]),
        ),
        (
            "ApplePaySessionRequest",
            schemas::request(
                &[
                    (
                        "validation_url",
                        json!({ "type": "string", "description": "The `validationURL` of Apple's `onvalidatemerchant` event" }),
                    ),
                    (
                        "domain",
                        json!({ "type": "string", "description": "Your checkout page's host name, registered under /v1/apple_pay/domains" }),
                    ),
                    (
                        "display_name",
                        json!({ "type": "string", "description": "Shown on the sheet (default: Paygate)" }),
                    ),
                ],
                &["validation_url", "domain"],
            ),
        ),
    ]
}

/// The handler of the backend's unsigned copy: built once per process.
pub async fn serve() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(|| document(&super::v1_endpoints())).clone())
}
