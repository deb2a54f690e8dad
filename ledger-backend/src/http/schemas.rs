//! JSON Schemas (OpenAPI 3.1 dialect) of the objects the API answers with, for the OpenAPI document. They
//! sit apart from the `to_json` functions that produce the objects, so a test checks every answer of
//! the real API against them: an object that gains, loses or changes a field fails it until both agree.

use paygate_core::api_key::KeyKind;
use serde_json::{Value, json};

pub fn string() -> Value {
    json!({ "type": "string" })
}

pub fn integer() -> Value {
    json!({ "type": "integer", "format": "int64" })
}

pub fn boolean() -> Value {
    json!({ "type": "boolean" })
}

pub fn nullable(mut schema: Value) -> Value {
    let kind = schema["type"].clone();
    schema["type"] = json!([kind, "null"]);
    schema
}

pub fn constant(value: &str) -> Value {
    json!({ "type": "string", "const": value })
}

pub fn one_of_strings(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

/// A typed id (`ch_` + 26 lowercase Crockford base-32 characters).
pub fn id(prefix: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^{prefix}_[0-9a-z]{{26}}$") })
}

pub fn timestamp() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

pub fn currency() -> Value {
    json!({ "type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code" })
}

/// Minor units of the currency (cents, fils, yen), never a decimal.
pub fn minor_amount(description: &str) -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": paygate_core::money::AMOUNT_MINOR_MAX, "description": description })
}

/// Signed minor units: money moving either way (a report's refunds and payouts are negative).
pub fn signed_minor(description: &str) -> Value {
    json!({ "type": "integer", "format": "int64", "description": description })
}

/// `schema` with a description (what the API reference shows beside the field).
pub fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

pub fn metadata() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" }, "description": "Up to 50 string values of the merchant's own" })
}

pub fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

pub fn reference(component: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{component}") })
}

/// An object whose every property is always present (null when empty) and that has no others.
pub fn object(properties: &[(&str, Value)]) -> Value {
    let required: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let properties: serde_json::Map<String, Value> =
        properties.iter().map(|(name, schema)| ((*name).to_owned(), schema.clone())).collect();
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

/// A request body: only `required` must be present; nothing else is accepted.
pub fn request(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let mut schema = object(properties);
    schema["required"] = json!(required);
    schema
}

/// Every charge status, as core spells them.
pub fn charge_statuses() -> Vec<&'static str> {
    paygate_core::charge::ChargeStatus::ALL.iter().map(|s| s.as_str()).collect()
}

/// Every component, by name.
pub fn components() -> Vec<(&'static str, Value)> {
    vec![
        ("Charge", charge()),
        ("Refund", refund()),
        ("Event", event()),
        ("LedgerTransaction", ledger_transaction()),
        ("Balance", balance()),
        ("ApiKey", api_key()),
        ("ApiKeyCreated", api_key_created()),
        ("KeyIdentity", key_identity()),
        ("WebhookEndpoint", webhook_endpoint(false)),
        ("WebhookEndpointCreated", webhook_endpoint(true)),
        ("WebhookDelivery", webhook_delivery()),
        ("ProcessorAccount", processor_account()),
        ("ProcessorEvent", processor_event()),
        ("Routing", routing()),
        ("ReconciliationRun", reconciliation_run()),
        ("Payout", payout()),
        ("ApplePayDomain", apple_pay_domain()),
        ("ReconciliationException", reconciliation_exception()),
        ("Problem", problem()),
    ]
}

fn charge() -> Value {
    let card = object(&[
        ("brand", nullable(string())),
        ("last4", json!({ "type": "string", "pattern": "^[0-9]{4}$" })),
        ("exp_month", nullable(integer())),
        ("exp_year", nullable(integer())),
        (
            "fingerprint",
            nullable(
                json!({ "type": "string", "description": "Keyed hash of the card number: the same card gives the same value for one merchant" }),
            ),
        ),
    ]);
    object(&[
        ("id", id("ch")),
        ("object", constant("charge")),
        ("livemode", boolean()),
        (
            "status",
            described(
                one_of_strings(&charge_statuses()),
                "Where the charge is: `pending` while its outcome is unknown, `requires_action` while the shopper \
                 authenticates, then `authorized`, `captured`, (`partially_`)`refunded`, or `failed`, `voided`, `expired`",
            ),
        ),
        ("amount", minor_amount("Asked for")),
        ("amount_authorized", minor_amount("Held on the card")),
        ("amount_captured", minor_amount("Taken")),
        ("amount_refunded", minor_amount("Given back, including refunds still pending")),
        ("currency", currency()),
        ("capture", described(boolean(), "Whether the authorization is captured at once")),
        ("source", described(id("tok"), "The token the charge spent")),
        ("payment_method", described(one_of_strings(&["card", "apple_pay"]), "How the shopper paid")),
        (
            "processor",
            nullable(object(&[
                ("account", id("pa")),
                ("connector", nullable(string())),
                (
                    "routing_rule",
                    nullable(
                        json!({ "type": "integer", "description": "The rule that chose the account (its position); null for the default" }),
                    ),
                ),
            ])),
        ),
        (
            "payment_method_details",
            nullable(
                json!({ "type": "object", "properties": { "type": one_of_strings(&["card", "apple_pay"]), "card": card }, "required": ["type", "card"], "additionalProperties": false }),
            ),
        ),
        ("description", described(nullable(string()), "Your description, shown in the dashboard")),
        (
            "statement_descriptor",
            described(nullable(string()), "What the shopper's statement shows, where the processor allows it"),
        ),
        ("metadata", metadata()),
        (
            "failure_code",
            described(
                nullable(string()),
                "Why it failed: a decline code (`generic_decline`, `insufficient_funds`, …) or `authentication_failed`, `authentication_abandoned`, `processing_error`",
            ),
        ),
        ("failure_message", described(nullable(string()), "The failure in words, for you (not the shopper)")),
        (
            "failure_processor_code",
            nullable(json!({ "type": "string", "description": "The processor's own code for the decline" })),
        ),
        (
            "pending_operation",
            nullable(json!({ "type": "string", "enum": ["capture", "void", "expire"],
                             "description": "An operation the processor accepted and has not confirmed yet; an event follows when it ends" })),
        ),
        ("created", timestamp()),
        ("authorization_expires_at", described(nullable(timestamp()), "When an uncaptured authorization lapses")),
        (
            "next_action",
            nullable(object(&[
                (
                    "type",
                    json!({ "type": "string", "enum": ["redirect"],
                                 "description": "Send the shopper to redirect_url (handleNextAction in @paygate/js does it in a dialog)" }),
                ),
                (
                    "redirect_url",
                    json!({ "type": "string", "format": "uri",
                                         "description": "The processor's authentication page (3-D Secure)" }),
                ),
                ("expires_at", timestamp()),
            ])),
        ),
    ])
}

fn refund() -> Value {
    object(&[
        ("id", id("re")),
        ("object", constant("refund")),
        ("livemode", boolean()),
        ("charge", id("ch")),
        (
            "status",
            described(
                one_of_strings(&["pending", "succeeded", "failed"]),
                "`pending` until the processor confirms it; the amount of a `failed` refund is yours again",
            ),
        ),
        ("amount", minor_amount("Given back")),
        ("currency", currency()),
        (
            "reason",
            described(
                nullable(one_of_strings(&["duplicate", "fraudulent", "requested_by_customer"])),
                "Why you refunded",
            ),
        ),
        ("metadata", metadata()),
        ("failure_code", nullable(string())),
        ("created", timestamp()),
    ])
}

fn event() -> Value {
    object(&[
        ("id", id("evt")),
        ("object", constant("event")),
        ("type", json!({ "type": "string", "examples": ["charge.captured", "refund.succeeded"] })),
        ("created", timestamp()),
        ("livemode", boolean()),
        (
            "data",
            json!({ "type": "object", "description": "The object (charge or refund) as it was right after the change" }),
        ),
    ])
}

fn ledger_transaction() -> Value {
    let entry = object(&[
        ("account", string()),
        ("currency", currency()),
        (
            "amount",
            json!({ "type": "integer", "format": "int64", "description": "Debit positive, credit negative; a transaction's entries sum to zero" }),
        ),
    ]);
    object(&[
        ("id", id("ltx")),
        ("object", constant("ledger_transaction")),
        ("livemode", boolean()),
        ("kind", one_of_strings(&paygate_core::ledger::LedgerEvent::KINDS)),
        ("charge", nullable(id("ch"))),
        ("refund", nullable(id("re"))),
        ("created", timestamp()),
        ("entries", array(entry)),
    ])
}

fn balance() -> Value {
    let line = object(&[("amount", integer()), ("currency", currency())]);
    object(&[
        ("object", constant("balance")),
        ("livemode", boolean()),
        ("pending", described(array(line.clone()), "Per currency: captured, not yet settled by the processor")),
        ("available", described(array(line), "Per currency: settled by the processor, not yet paid out to your bank")),
    ])
}

fn api_key() -> Value {
    object(&[
        ("id", id("key")),
        ("object", constant("api_key")),
        ("kind", one_of_strings(&KeyKind::names())),
        ("livemode", boolean()),
        ("redacted", string()),
        ("created", timestamp()),
        ("revoked", nullable(timestamp())),
        (
            "last_used",
            json!({ "anyOf": [timestamp(), { "type": "null" }],
                    "description": "When the edge last looked the key up (to within a minute); null if never" }),
        ),
    ])
}

fn api_key_created() -> Value {
    object(&[
        ("id", id("key")),
        ("object", constant("api_key")),
        ("kind", one_of_strings(&KeyKind::names())),
        ("livemode", boolean()),
        (
            "key",
            json!({ "type": "string", "description": "The key itself, shown this once; only its keyed hash is stored" }),
        ),
        ("redacted", string()),
        ("created", timestamp()),
        ("revoked", nullable(timestamp())),
        (
            "last_used",
            json!({ "anyOf": [timestamp(), { "type": "null" }],
                    "description": "When the edge last looked the key up (to within a minute); null if never" }),
        ),
    ])
}

fn key_identity() -> Value {
    object(&[
        ("key_id", id("key")),
        ("merchant_id", id("acct")),
        ("mode", one_of_strings(&["test", "live"])),
        ("kind", one_of_strings(&KeyKind::names())),
    ])
}

fn problem() -> Value {
    let codes: Vec<&str> = paygate_core::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut schema = object(&[
        ("type", string()),
        ("title", string()),
        ("status", integer()),
        ("detail", string()),
        ("code", one_of_strings(&codes)),
        ("param", json!({ "type": "string", "description": "The parameter at fault, as a JSON path" })),
        ("request_id", string()),
    ]);
    schema["required"] = json!(["type", "title", "status", "code"]);
    schema["description"] = json!("RFC 9457 problem details (application/problem+json)");
    schema
}

fn processor_account() -> Value {
    object(&[
        ("id", id("pa")),
        ("object", constant("processor_account")),
        ("livemode", boolean()),
        ("connector", one_of_strings(&["sandbox", "stripe", "checkout"])),
        ("display_name", string()),
        (
            "credentials_hint",
            nullable(
                json!({ "type": "string", "description": "Recognises the credentials (sk_test_…4242); they are never answered" }),
            ),
        ),
        ("settings", json!({ "type": "object" })),
        ("enabled", boolean()),
        ("problem", nullable(string())),
        ("problem_at", nullable(timestamp())),
        ("created", timestamp()),
        (
            "settlement_pull",
            nullable(object(&[
                ("pulled_until", timestamp()),
                ("last_pulled_at", nullable(timestamp())),
                ("next_pull_at", timestamp()),
                ("failures", json!({ "type": "integer", "minimum": 0 })),
                ("last_error", nullable(string())),
            ])),
        ),
    ])
}

fn processor_event() -> Value {
    let outcome = "applying: being applied now; applied: it changed a charge or refund; ignored: it confirms what we knew, or a type we do not act on; \
        unmatched: about a payment we do not know; deferred: it came before what it follows, and is applied once that comes";
    let mut outcomes = one_of_strings(crate::domain::processors::events::OUTCOMES);
    outcomes["description"] = json!(outcome);
    object(&[
        ("id", json!({ "type": "string", "pattern": "^pev_[0-9]{19}$" })),
        ("object", constant("processor_event")),
        ("processor_event_id", string()),
        ("event_type", string()),
        ("payment", nullable(string())),
        ("object_reference", nullable(string())),
        ("outcome", outcomes),
        ("detail", nullable(string())),
        ("received", timestamp()),
    ])
}

fn apple_pay_domain() -> Value {
    let mut schema = object(&[
        ("id", id("apd")),
        ("object", constant("apple_pay_domain")),
        ("livemode", boolean()),
        ("domain_name", json!({ "type": "string", "description": "Lower case, a plain host name" })),
        ("created", timestamp()),
    ]);
    // A removed domain's answer says so.
    schema["properties"]["deleted"] = boolean();
    schema
}

fn payout() -> Value {
    object(&[
        ("id", id("po")),
        ("object", constant("payout")),
        ("livemode", boolean()),
        ("processor_account", id("pa")),
        (
            "processor_payout",
            json!({ "type": "string", "description": "The processor's id of it (Stripe po_…, a batch number)" }),
        ),
        ("currency", currency()),
        ("amount", minor_amount("Paid to the merchant's bank")),
        ("status", one_of_strings(&["paid", "failed"])),
        ("created", timestamp()),
        ("updated", timestamp()),
    ])
}

fn reconciliation_run() -> Value {
    object(&[
        ("id", id("rrun")),
        ("object", constant("reconciliation_run")),
        ("livemode", boolean()),
        ("processor_account", id("pa")),
        ("settlement_report", nullable(id("srpt"))),
        ("as_of", timestamp()),
        ("rows_matched", integer()),
        (
            "exceptions",
            json!({ "type": "object", "additionalProperties": { "type": "integer" },
                               "description": "Exceptions this run found, per category" }),
        ),
        ("started", timestamp()),
        ("finished", nullable(timestamp())),
    ])
}

fn reconciliation_exception() -> Value {
    object(&[
        ("id", id("rexc")),
        ("object", constant("reconciliation_exception")),
        ("livemode", boolean()),
        ("processor_account", id("pa")),
        ("category", one_of_strings(&crate::domain::settlement::matching::CATEGORIES)),
        (
            "subject",
            json!({ "type": "string", "description": "row:<processor row>, charge:ch_…, refund:re_… or payout:<id>: the same in every run" }),
        ),
        ("charge", nullable(id("ch"))),
        ("refund", nullable(id("re"))),
        ("settlement_report", nullable(id("srpt"))),
        ("line", nullable(integer())),
        ("currency", nullable(currency())),
        ("expected_amount", nullable(signed_minor("What Paygate's ledger says, minor units (refunds negative)"))),
        ("actual_amount", nullable(signed_minor("What the processor reported, minor units, signed as its report"))),
        ("detail", string()),
        ("state", one_of_strings(&crate::domain::settlement::exceptions::STATES)),
        ("note", nullable(string())),
        ("resolved_by", nullable(string())),
        ("resolved_at", nullable(timestamp())),
        ("ledger_transaction", nullable(id("ltx"))),
        ("first_run", id("rrun")),
        ("last_run", id("rrun")),
        ("opened", timestamp()),
        ("last_seen", timestamp()),
    ])
}

fn routing() -> Value {
    object(&[
        ("object", constant("routing")),
        ("livemode", boolean()),
        ("configured", boolean()),
        ("rules", array(json!({ "type": "object", "required": ["account"] }))),
        ("default", nullable(id("pa"))),
    ])
}

fn webhook_endpoint(with_secret: bool) -> Value {
    let mut properties = vec![
        ("id", id("we")),
        ("object", constant("webhook_endpoint")),
        ("livemode", boolean()),
        ("url", string()),
        ("description", nullable(string())),
        ("enabled_events", array(string())),
        ("enabled", boolean()),
        ("disabled_reason", nullable(one_of_strings(&["gone", "failing", "merchant"]))),
        ("secret_rotating", boolean()),
        ("created", timestamp()),
    ];
    if with_secret {
        properties.push((
            "secret",
            json!({ "type": "string", "pattern": "^whsec_", "description": "The signing secret, shown this once" }),
        ));
    }
    let mut schema = object(&properties);
    if !with_secret {
        // A deleted endpoint's answer says so.
        schema["properties"]["deleted"] = boolean();
    }
    schema
}

fn webhook_delivery() -> Value {
    let attempt = object(&[
        ("attempt", integer()),
        ("at", timestamp()),
        ("status_code", nullable(integer())),
        ("latency_ms", integer()),
        ("error", nullable(string())),
        ("response_excerpt", nullable(string())),
    ]);
    object(&[
        ("id", id("dlv")),
        ("object", constant("webhook_delivery")),
        ("event", id("evt")),
        ("endpoint", id("we")),
        ("status", one_of_strings(&["pending", "delivering", "succeeded", "failed"])),
        ("attempts", integer()),
        ("next_attempt_at", nullable(timestamp())),
        ("last_status_code", nullable(integer())),
        ("attempt_log", array(attempt)),
    ])
}

/// The list envelope around `component`.
pub fn list_of(component: &str) -> Value {
    object(&[("object", constant("list")), ("data", array(reference(component))), ("has_more", boolean())])
}
