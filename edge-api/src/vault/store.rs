//! `CardVault`: one Durable Object per token, holding the sealed card. The object's single-threaded
//! storage makes "use once" atomic: `take` marks the token used and hands out the sealed card in one step,
//! and only for the merchant and mode that created it (anyone else learns nothing and spends nothing).
//! A taken token's card and CVC are deleted at once; an alarm deletes everything `TOKEN_TTL_SECONDS` after
//! creation, used or not.

use super::cipher::Sealed;
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

pub const BINDING: &str = "CARD_VAULT";
/// An unused token (and its CVC) lives this long.
pub const TOKEN_TTL_SECONDS: i64 = 15 * 60;

/// What the vault keeps of a card. Only `sealed_*` hold card data, encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultRecord {
    pub merchant_id: String,
    pub mode: String,
    pub sealed_card: Sealed,
    pub sealed_cvc: Option<Sealed>,
    /// The safe summary: brand, last4, bin, expiry, keyed fingerprint.
    pub summary: serde_json::Value,
    pub created: i64,
    /// Deleted, used or not, this long after creation (`TOKEN_TTL_SECONDS` unless configured).
    pub ttl_seconds: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Taken {
    Card(Box<VaultRecord>),
    Used,
    /// Unknown, expired, or another merchant's or mode's: indistinguishable on purpose.
    NotFound,
}

async fn call(env: &Env, token: &str, path: &str, body: String) -> Result<Response> {
    crate::durable::post(&crate::durable::object(env, BINDING, token)?, path, body).await
}

pub async fn put(env: &Env, token: &str, record: &VaultRecord) -> Result<()> {
    call(env, token, "/put", serde_json::to_string(record)?).await.map(|_| ())
}

/// What a token's owner may know of its card without spending it: the safe summary.
#[derive(Debug, Serialize, Deserialize)]
pub enum Described {
    Summary(serde_json::Value),
    Used,
    NotFound,
}

pub async fn describe(env: &Env, token: &str, merchant_id: &str, mode: &str) -> Result<Described> {
    let body = serde_json::json!({ "merchant_id": merchant_id, "mode": mode }).to_string();
    crate::fetch::json(call(env, token, "/describe", body).await?).await
}

pub async fn take(env: &Env, token: &str, merchant_id: &str, mode: &str) -> Result<Taken> {
    let body = serde_json::json!({ "merchant_id": merchant_id, "mode": mode }).to_string();
    crate::fetch::json(call(env, token, "/take", body).await?).await
}

/// Who asks: only the merchant and mode that created a token may use or describe it.
#[derive(Deserialize)]
struct Owner {
    merchant_id: String,
    mode: String,
}

#[durable_object]
pub struct CardVault {
    state: State,
}

impl DurableObject for CardVault {
    fn new(state: State, _env: Env) -> Self {
        CardVault { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        match req.path().as_str() {
            "/put" => {
                let record: VaultRecord = req.json().await?;
                storage.put("record", &record).await?;
                // An i64 alarm time is an offset from now in workers-rs, not a timestamp.
                storage.set_alarm(std::time::Duration::from_secs(record.ttl_seconds.max(1) as u64)).await?;
                Response::ok("stored")
            }
            "/describe" => {
                let owner: Owner = req.json().await?;
                let owns = |m: &str, mode: &str| m == owner.merchant_id && mode == owner.mode;
                let described = match storage.get::<VaultRecord>("record").await? {
                    Some(record) if owns(&record.merchant_id, &record.mode) => Described::Summary(record.summary),
                    Some(_) => Described::NotFound,
                    None => match storage.get::<(String, String)>("used").await? {
                        Some((merchant, mode)) if owns(&merchant, &mode) => Described::Used,
                        _ => Described::NotFound,
                    },
                };
                Response::from_json(&described)
            }
            "/take" => {
                let owner: Owner = req.json().await?;
                let owns = |m: &str, mode: &str| m == owner.merchant_id && mode == owner.mode;
                let taken = match storage.get::<VaultRecord>("record").await? {
                    Some(record) if owns(&record.merchant_id, &record.mode) => {
                        // Spent from now on: the card and its CVC leave storage before anyone sees them; a
                        // marker remains (until the alarm) so a second use is told it was used.
                        storage.delete("record").await?;
                        storage.put("used", (&record.merchant_id, &record.mode)).await?;
                        Taken::Card(Box::new(record))
                    }
                    Some(_) => Taken::NotFound,
                    None => match storage.get::<(String, String)>("used").await? {
                        Some((merchant, mode)) if owns(&merchant, &mode) => Taken::Used,
                        _ => Taken::NotFound,
                    },
                };
                Response::from_json(&taken)
            }
            _ => Response::error("no such vault operation", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::ok("expired")
    }
}
