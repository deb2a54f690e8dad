//! How a fake delivers its webhooks: where, signed how, how often, how late and in which order (an account's
//! settings), sent from a task of its own once the action they report is processed, as the real services do.
//! Each fake signs with its own scheme (`signature`, computed when a copy is sent); delivery failures are not
//! retried (a test that wants redeliveries asks for copies).

use std::sync::{Arc, Mutex};
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
    /// When set, the account's webhooks arrive out of order: see `Reorder`.
    pub reorder: Option<Reorder>,
}

/// Out-of-order delivery, as both processors warn it happens: each webhook is held back until the account's
/// next one is due and sent right after it (so a `captured` arrives before its `authorized`); one that nothing
/// follows within `hold_ms` is sent alone.
#[derive(Debug, Clone)]
pub struct Reorder {
    pub hold_ms: u64,
    held: Arc<Mutex<Held>>,
}

#[derive(Debug, Default)]
struct Held {
    generation: u64,
    message: Option<(u64, Message)>,
}

impl Reorder {
    pub fn new(hold_ms: u64) -> Self {
        Reorder { hold_ms, held: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What to send now that `message` is due: the held one after it; or nothing yet, holding it.
    async fn order(&self, message: Message) -> Vec<Message> {
        let generation = {
            let mut held = self.lock();
            if let Some((_, previous)) = held.message.take() {
                return vec![message, previous];
            }
            held.generation += 1;
            let generation = held.generation;
            held.message = Some((generation, message));
            generation
        };
        tokio::time::sleep(Duration::from_millis(self.hold_ms)).await;
        let mut held = self.lock();
        match held.message.take() {
            Some((mine, message)) if mine == generation => vec![message],
            other => {
                held.message = other;
                vec![]
            }
        }
    }
}

type Signer = Arc<dyn Fn(&str) -> String + Send + Sync>;

#[derive(Clone)]
struct Message {
    body: String,
    header: &'static str,
    signature: Signer,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("header", &self.header).finish_non_exhaustive()
    }
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
/// `signature` computes for it, in the account's order.
pub fn send(
    delivery: &Delivery,
    wait_ms: u64,
    body: String,
    header: &'static str,
    signature: impl Fn(&str) -> String + Send + Sync + 'static,
) {
    let Some(url) = delivery.url.clone() else { return };
    let delivery = delivery.clone();
    let message = Message { body, header, signature: Arc::new(signature) };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(wait_ms + delivery.delay_ms)).await;
        let batch = match &delivery.reorder {
            Some(reorder) => reorder.order(message).await,
            None => vec![message],
        };
        let client = reqwest::Client::new();
        for message in batch {
            for copy in 0..delivery.copies.max(1) {
                if copy > 0 {
                    tokio::time::sleep(Duration::from_millis(delivery.delay_ms.max(5))).await;
                }
                let _ = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(message.header, (message.signature)(&message.body))
                    .body(message.body.clone())
                    .send()
                    .await;
            }
        }
    });
}
