//! A line-oriented front end to core's Standard Webhooks code, so that an independent implementation
//! (the Python reference library, see core/interop/) can check our signatures and we can check its.
//!
//! stdin, one JSON request per line:
//!   {"op":"sign","secrets":["whsec_…",…],"id":"…","timestamp":123,"body":"…"}  → {"signature":"v1,… v1,…"}
//!   {"op":"verify","secret":"whsec_…","id":"…","timestamp":"123","signature":"…","body":"…","now":123}
//!                                                                            → {"ok":true} | {"ok":false,"error":"…"}

use paygate_core::signature::webhook::{WebhookHeaders, WebhookSecret, signature_header, verify};
use serde_json::{Value, json};
use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.expect("read stdin");
        let request: Value = serde_json::from_str(&line).expect("one JSON object per line");
        let answer = handle(&request).unwrap_or_else(|error| json!({ "ok": false, "error": error }));
        writeln!(stdout, "{answer}").expect("write stdout");
    }
}

fn handle(request: &Value) -> Result<Value, String> {
    let text = |name: &str| request[name].as_str().ok_or(format!("{name} missing"));
    let body = text("body")?.as_bytes();
    match text("op")? {
        "sign" => {
            let secrets: Vec<WebhookSecret> = request["secrets"]
                .as_array()
                .ok_or("secrets missing")?
                .iter()
                .map(|s| WebhookSecret::parse(s.as_str().unwrap_or_default()).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
            let refs: Vec<&WebhookSecret> = secrets.iter().collect();
            let timestamp = request["timestamp"].as_i64().ok_or("timestamp missing")?;
            Ok(json!({ "signature": signature_header(&refs, text("id")?, timestamp, body) }))
        }
        "verify" => {
            let secret = WebhookSecret::parse(text("secret")?).map_err(|e| e.to_string())?;
            let headers =
                WebhookHeaders { id: text("id")?, timestamp: text("timestamp")?, signature: text("signature")? };
            let now = request["now"].as_i64().ok_or("now missing")?;
            Ok(match verify(&secret, &headers, body, now) {
                Ok(()) => json!({ "ok": true }),
                Err(error) => json!({ "ok": false, "error": error.to_string() }),
            })
        }
        other => Err(format!("unknown op {other}")),
    }
}
