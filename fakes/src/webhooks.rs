//! How a fake delivers its webhooks: where, signed how, how often and how late (an account's settings), sent
//! from a task of its own once the action they report is processed, as the real services do. Each fake signs
//! with its own scheme (`signature`); delivery failures are not retried (a test that wants redeliveries asks
//! for copies).

use std::time::Duration;

/// An account's webhook settings (the control API's `webhook_*` fields).
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub url: Option<String>,
    pub secret: String,
    /// Each webhook is sent this many times (at least once).
    pub copies: u32,
    /// Waited before the first copy, and between copies.
    pub delay_ms: u64,
}

/// Lowercase hex HMAC-SHA256 of `parts` (both fakes sign with it, each over its own message).
pub fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `body` to `delivery`'s URL after `wait_ms` (plus the delay), `copies` times, with the header
/// `signature` computes for it.
pub fn send(
    delivery: &Delivery,
    wait_ms: u64,
    body: String,
    header: &'static str,
    signature: impl Fn(&str) -> String + Send + 'static,
) {
    let Some(url) = delivery.url.clone() else { return };
    let (copies, delay) = (delivery.copies.max(1), delivery.delay_ms);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(wait_ms + delay)).await;
        let client = reqwest::Client::new();
        for copy in 0..copies {
            if copy > 0 {
                tokio::time::sleep(Duration::from_millis(delay.max(5))).await;
            }
            let _ = client
                .post(&url)
                .header("content-type", "application/json")
                .header(header, signature(&body))
                .body(body.clone())
                .send()
                .await;
        }
    });
}
