//! The OpenAPI document against the running API: every documented operation is routed (and nothing
//! undocumented is), every object the API answers with matches its schema exactly (no missing, extra
//! or mistyped field), and every documented request field is one the endpoint takes while an
//! undocumented one is refused.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// A small JSON Schema check of what our schemas use: `$ref`, `type` (one or several), `properties`,
/// `required`, `additionalProperties: false` or a schema, `items`, `enum`, `const`, `pattern`,
/// `minimum`, `maximum`, `oneOf`. Returns the first mismatch, as a path and a reason.
pub fn check(doc: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, path);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options.iter().filter(|option| check(doc, option, value, path).is_ok()).count();
        return match matching {
            1 => Ok(()),
            n => Err(format!("{path}: {value} matches {n} of the oneOf options, not exactly one")),
        };
    }
    let type_matches = |kind: &str| match kind {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => false,
    };
    match &schema["type"] {
        Value::String(kind) if !type_matches(kind) => return Err(format!("{path}: {value} is not {kind}")),
        Value::Array(kinds) if !kinds.iter().any(|k| type_matches(k.as_str().unwrap_or(""))) => {
            return Err(format!("{path}: {value} is none of {kinds:?}"));
        }
        _ => {}
    }
    if value.is_null() {
        return Ok(());
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if !schema["const"].is_null() && schema["const"] != *value {
        return Err(format!("{path}: {value} is not {}", schema["const"]));
    }
    if let (Some(pattern), Some(text)) = (schema["pattern"].as_str(), value.as_str())
        && !regex::Regex::new(pattern).unwrap().is_match(text)
    {
        return Err(format!("{path}: {text:?} does not match {pattern}"));
    }
    if let Some(number) = value.as_i64() {
        if schema["minimum"].as_i64().is_some_and(|min| number < min) {
            return Err(format!("{path}: {number} is below the minimum"));
        }
        if schema["maximum"].as_i64().is_some_and(|max| number > max) {
            return Err(format!("{path}: {number} is above the maximum"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{path}.{name}: missing"));
            }
        }
        for (name, field) in object {
            let field_path = format!("{path}.{name}");
            match (&schema["properties"][name], &schema["additionalProperties"]) {
                (Value::Null, Value::Bool(false)) => return Err(format!("{field_path}: not in the schema")),
                (Value::Null, Value::Object(_)) => check(doc, &schema["additionalProperties"], field, &field_path)?,
                (Value::Null, _) => {}
                (property, _) => check(doc, property, field, &field_path)?,
            }
        }
    }
    if let (Some(items), false) = (value.as_array(), schema["items"].is_null()) {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

async fn document(app: &TestApp) -> Value {
    app.get_json("/openapi.json", 200).await
}

/// The success schema of `method path` in the document.
fn success_schema(doc: &Value, method: &str, path: &str) -> Value {
    let responses = &doc["paths"][path][method]["responses"];
    let (_, response) = responses
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .iter()
        .find(|(status, _)| status.starts_with('2'))
        .unwrap();
    response["content"]["application/json"]["schema"].clone()
}

async fn call(app: &TestApp, merchant: &str, method: Method, path: &str, body: &Value) -> (u16, Value) {
    app.client(merchant, "test").call(method, path, body).await
}

/// Asserts `value` (answered by `method path`) matches that operation's documented success schema.
fn conforms(doc: &Value, method: &str, path: &str, value: &Value) {
    let schema = success_schema(doc, method, path);
    if let Err(mismatch) = check(doc, &schema, value, "$") {
        panic!("{method} {path} answered outside its schema: {mismatch}\n{value}");
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_nothing_else_is() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let concrete = path.replace("{id}", &well_formed_id(path));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, answer) = if path.starts_with("/v1/internal") {
                let response = app.signed_as_edge(method.clone(), &concrete, "{}").send().await.unwrap();
                (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
            } else if path.starts_with("/v1") {
                call(&app, &merchant, method.clone(), &concrete, &json!({})).await
            } else {
                let response = app.client.request(method.clone(), app.url(&concrete)).send().await.unwrap();
                (response.status().as_u16(), Value::Null)
            };
            assert!(
                !matches!(answer["code"].as_str(), Some("route_not_found" | "method_not_allowed")) && status != 405,
                "{method} {path} is documented but not routed: {status} {answer}"
            );
        }
    }
    assert!(operations >= 17, "{operations} operations documented");
    // And what is not documented is not routed.
    for (method, path) in [(Method::PUT, "/v1/charges"), (Method::DELETE, "/v1/charges/ch_00000000000000000000000000")]
    {
        let (status, answer) = call(&app, &merchant, method.clone(), path, &Value::Null).await;
        assert_eq!((status, answer["code"].as_str()), (405, Some("method_not_allowed")), "{method} {path}");
    }
    let (status, answer) = call(&app, &merchant, Method::GET, "/v1/transfers", &Value::Null).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("route_not_found")));
}

#[tokio::test]
async fn every_answer_matches_its_documented_schema() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let doc = document(&app).await;
    conforms(&doc, "get", "/health", &app.get_json("/health", 200).await);
    conforms(&doc, "get", "/ready", &app.get_json("/ready", 200).await);

    let captured = app.charge_card(&merchant, "4242424242424242", 5_000, "KWD", true).await;
    let authorized = app.charge_card(&merchant, "5555555555554444", 700, "JPY", false).await;
    let declined = app.charge_card(&merchant, "4000000000000002", 700, "EUR", true).await;
    let no_card = app
        .post_with_key(
            &merchant,
            "/v1/charges",
            &json!({ "amount": 100, "currency": "EUR", "source": "tok_00000000000000000000000000", "description": "d", "statement_descriptor": "s", "metadata": { "order": "1" } }),
            "unknown-token",
        )
        .await
        .1;
    for charge in [&captured, &authorized, &declined, &no_card] {
        conforms(&doc, "post", "/v1/charges", charge);
    }
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let (_, voided) =
        call(&app, &merchant, Method::POST, &format!("/v1/charges/{}/void", id(&authorized)), &Value::Null).await;
    conforms(&doc, "post", "/v1/charges/{id}/void", &voided);
    let (_, charge) = call(&app, &merchant, Method::GET, &format!("/v1/charges/{}", id(&captured)), &Value::Null).await;
    conforms(&doc, "get", "/v1/charges/{id}", &charge);
    let fresh = app.charge_card(&merchant, "4242424242424242", 900, "EUR", false).await;
    let (_, partial) =
        call(&app, &merchant, Method::POST, &format!("/v1/charges/{}/capture", id(&fresh)), &json!({ "amount": 400 }))
            .await;
    conforms(&doc, "post", "/v1/charges/{id}/capture", &partial);

    let body =
        json!({ "charge": id(&captured), "amount": 1_000, "reason": "duplicate", "metadata": { "ticket": "9" } });
    let (status, refund) = call(&app, &merchant, Method::POST, "/v1/refunds", &body).await;
    assert_eq!(status, 201, "{refund}");
    conforms(&doc, "post", "/v1/refunds", &refund);
    let (_, refund) = call(&app, &merchant, Method::GET, &format!("/v1/refunds/{}", id(&refund)), &Value::Null).await;
    conforms(&doc, "get", "/v1/refunds/{id}", &refund);

    let (_, created) = call(&app, &merchant, Method::POST, "/v1/api_keys", &json!({ "kind": "publishable" })).await;
    conforms(&doc, "post", "/v1/api_keys", &created);
    let lookup = json!({ "key_hash": app.pepper.hash(created["key"].as_str().unwrap()) }).to_string();
    let identity: Value = app
        .signed_as_edge(Method::POST, paygate_core::internal::KEY_LOOKUP_PATH, &lookup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    conforms(&doc, "post", paygate_core::internal::KEY_LOOKUP_PATH, &identity);
    let (_, revoked) =
        call(&app, &merchant, Method::DELETE, &format!("/v1/api_keys/{}", id(&created)), &Value::Null).await;
    conforms(&doc, "delete", "/v1/api_keys/{id}", &revoked);
    assert!(revoked["revoked"].is_string(), "{revoked}");

    for (path, query) in [
        ("/v1/charges", "?limit=100"),
        ("/v1/refunds", &*format!("?charge={}", id(&captured))),
        ("/v1/events", "?limit=100"),
        ("/v1/ledger/transactions", "?limit=100"),
        ("/v1/api_keys", ""),
        ("/v1/balance", ""),
    ] {
        let (status, answer) = call(&app, &merchant, Method::GET, &format!("{path}{query}"), &Value::Null).await;
        assert_eq!(status, 200, "{path}: {answer}");
        conforms(&doc, "get", path, &answer);
        if path != "/v1/balance" {
            assert!(!answer["data"].as_array().unwrap().is_empty(), "{path} listed nothing to check");
        }
    }
    let (_, events) = call(&app, &merchant, Method::GET, "/v1/events", &Value::Null).await;
    let (_, event) =
        call(&app, &merchant, Method::GET, &format!("/v1/events/{}", id(&events["data"][0])), &Value::Null).await;
    conforms(&doc, "get", "/v1/events/{id}", &event);

    // Reconciliation: the sandbox reports the KWD capture (settled and paid out) and a row type nobody knows.
    let report = format!(
        "row_id,created_utc,type,charge_id,refund_id,payment_reference,currency,amount,fee,net,payout_id\n\
         sr_1,2026-11-01 00:00:00,capture,{},,,KWD,5000,150,4850,po_1\n\
         sr_2,2026-11-01 00:00:00,climate_order,,,,KWD,-1,0,-1,\n",
        id(&captured)
    );
    let upload = json!({ "account": captured["processor"]["account"], "content": report });
    let (status, uploaded) = call(&app, &merchant, Method::POST, "/v1/settlement_reports", &upload).await;
    assert_eq!(status, 201, "{uploaded}");
    conforms(&doc, "post", "/v1/settlement_reports", &uploaded);
    for (list, one) in [
        ("/v1/reconciliation/runs", "/v1/reconciliation/runs/{id}"),
        ("/v1/reconciliation/exceptions", "/v1/reconciliation/exceptions/{id}"),
        ("/v1/payouts", "/v1/payouts/{id}"),
    ] {
        let (_, answer) = call(&app, &merchant, Method::GET, list, &Value::Null).await;
        conforms(&doc, "get", list, &answer);
        assert_eq!(answer["data"].as_array().unwrap().len(), 1, "{list}: {answer}");
        let path = one.replace("{id}", answer["data"][0]["id"].as_str().unwrap());
        let (_, object) = call(&app, &merchant, Method::GET, &path, &Value::Null).await;
        conforms(&doc, "get", one, &object);
    }
    let (_, exceptions) = call(&app, &merchant, Method::GET, "/v1/reconciliation/exceptions", &Value::Null).await;
    let path = format!("/v1/reconciliation/exceptions/{}/acknowledge", id(&exceptions["data"][0]));
    let (_, acknowledged) = call(&app, &merchant, Method::POST, &path, &json!({ "note": "looking" })).await;
    conforms(&doc, "post", "/v1/reconciliation/exceptions/{id}/acknowledge", &acknowledged);

    // Processor accounts (every documented setting) and routing.
    let account = json!({ "connector": "stripe", "display_name": "Stripe", "credentials": { "secret_key": "sk_test_openapi0000000000" },
                          "settings": { "report_delay_days": 2, "fees": { "basis_points": 290, "fixed": 30, "tolerance": 1 } } });
    let (status, stripe) = call(&app, &merchant, Method::POST, "/v1/processor_accounts", &account).await;
    assert_eq!(status, 201, "{stripe}");
    conforms(&doc, "post", "/v1/processor_accounts", &stripe);
    let path = format!("/v1/processor_accounts/{}", id(&stripe));
    let (_, one) = call(&app, &merchant, Method::GET, &path, &Value::Null).await;
    conforms(&doc, "get", "/v1/processor_accounts/{id}", &one);
    let (_, updated) = call(&app, &merchant, Method::PATCH, &path, &json!({ "display_name": "Stripe EU" })).await;
    conforms(&doc, "patch", "/v1/processor_accounts/{id}", &updated);
    let (_, accounts) = call(&app, &merchant, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    conforms(&doc, "get", "/v1/processor_accounts", &accounts);
    let table = json!({ "rules": [{ "conditions": { "payment_methods": ["apple_pay"], "currencies": ["EUR"] }, "account": id(&stripe) }],
                        "default": captured["processor"]["account"] });
    let (status, routing) = call(&app, &merchant, Method::PUT, "/v1/routing", &table).await;
    assert_eq!(status, 200, "{routing}");
    conforms(&doc, "put", "/v1/routing", &routing);
    let (_, routing) = call(&app, &merchant, Method::GET, "/v1/routing", &Value::Null).await;
    conforms(&doc, "get", "/v1/routing", &routing);

    // Problems, too.
    let (status, problem) = call(&app, &merchant, Method::POST, "/v1/charges", &json!({ "amount": "1" })).await;
    assert_eq!(status, 400);
    check(&doc, &json!({ "$ref": "#/components/schemas/Problem" }), &problem, "$").unwrap();
}

/// An id of the kind a documented path takes (a malformed one is simply not found, before any body is read).
fn well_formed_id(path: &str) -> String {
    let prefix = [
        ("/v1/charges", "ch"),
        ("/v1/refunds", "re"),
        ("/v1/events", "evt"),
        ("/v1/webhook_endpoints", "we"),
        ("/v1/api_keys", "key"),
        ("/v1/processor_accounts", "pa"),
        ("/v1/reconciliation/runs", "rrun"),
        ("/v1/reconciliation/exceptions", "rexc"),
        ("/v1/payouts", "po"),
    ]
    .iter()
    .find(|(start, _)| path.starts_with(start))
    .map_or("x", |(_, prefix)| prefix);
    format!("{prefix}_00000000000000000000000000")
}

#[tokio::test]
async fn documented_request_fields_are_taken_and_undocumented_ones_refused() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let doc = document(&app).await;
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            bodies += 1;
            assert_eq!(schema["additionalProperties"], false, "{method} {path} accepts anything");
            let concrete = path.replace("{id}", &well_formed_id(path));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |body: Value| {
                let (app, merchant, method, concrete) = (&app, &merchant, method.clone(), concrete.clone());
                async move {
                    if concrete.starts_with("/v1/internal") {
                        let response = app.signed_as_edge(method, &concrete, &body.to_string()).send().await.unwrap();
                        (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
                    } else {
                        call(app, merchant, method, &concrete, &body).await
                    }
                }
            };
            let (status, answer) = send(json!({ "zz_undocumented": 1 })).await;
            assert_eq!(
                (status, answer["code"].as_str(), answer["param"].as_str()),
                (400, Some("parameter_unknown"), Some("zz_undocumented")),
                "{method} {path}"
            );
            for name in schema["properties"].as_object().unwrap().keys() {
                let (_, answer) = send(json!({ name: null })).await;
                assert_ne!(
                    answer["code"], "parameter_unknown",
                    "{method} {path} refuses its documented {name}: {answer}"
                );
            }
        }
    }
    assert!(bodies >= 5, "{bodies} request bodies documented");
}
