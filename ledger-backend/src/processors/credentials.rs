//! Processor credentials in memory: opened from their sealed form only to build a connector, never logged
//! (`Debug` is redacted), never written anywhere but sealed.

use paygate_core::Mode;
use paygate_core::processor::ConnectorKind;
use serde::{Deserialize, Serialize};

/// Text that must not be shown: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: String) -> Self {
        Secret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// One connector's credentials, as sealed (JSON inside the envelope) and as the API takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "connector", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    Stripe {
        secret_key: Secret,
        /// The endpoint secret (`whsec_…`) Stripe signs its webhooks to us with.
        #[serde(default)]
        webhook_secret: Option<Secret>,
    },
    /// Checkout.com: the secret key and the processing channel payments are made on (`pc_…`).
    Checkout {
        secret_key: Secret,
        processing_channel_id: String,
        /// The secret Checkout.com signs its webhooks to us with (`Cko-Signature`).
        #[serde(default)]
        webhook_secret: Option<Secret>,
    },
}

impl Credentials {
    pub fn connector(&self) -> ConnectorKind {
        match self {
            Credentials::Stripe { .. } => ConnectorKind::Stripe,
            Credentials::Checkout { .. } => ConnectorKind::Checkout,
        }
    }

    /// Whether these credentials belong to `mode` (a test key for test mode, a live key for live), naming
    /// the field at fault: test never reaches live money, live never a test account.
    pub fn check(&self, mode: Mode) -> Result<(), (&'static str, String)> {
        match self {
            Credentials::Stripe { secret_key, webhook_secret } => {
                if webhook_secret.as_ref().is_some_and(|s| !s.expose().starts_with("whsec_") || s.expose().len() > 255)
                {
                    return Err(("credentials.webhook_secret", "must be a Stripe endpoint secret (whsec_…)".into()));
                }
                let key = secret_key.expose();
                let prefixes: &[&str] = match mode {
                    Mode::Test => &["sk_test_", "rk_test_"],
                    Mode::Live => &["sk_live_", "rk_live_"],
                };
                let well_formed = prefixes.iter().any(|p| key.starts_with(p))
                    && key.len() <= 255
                    && key.len() > 12
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if well_formed {
                    Ok(())
                } else {
                    Err((
                        "credentials.secret_key",
                        format!("must be a Stripe {} secret key ({}…)", mode.as_str(), prefixes[0]),
                    ))
                }
            }
            Credentials::Checkout { secret_key, processing_channel_id, webhook_secret } => {
                if webhook_secret.as_ref().is_some_and(|s| !(16..=255).contains(&s.expose().len())) {
                    return Err(("credentials.webhook_secret", "must be 16 to 255 characters".into()));
                }
                // Sandbox keys are `sk_sbox_…`; live keys `sk_…` without it.
                let key = secret_key.expose();
                let sandbox = key.starts_with("sk_sbox_");
                let well_formed = key.starts_with("sk_")
                    && (12..=255).contains(&key.len())
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !well_formed || sandbox != (mode == Mode::Test) {
                    let kind = if mode == Mode::Test {
                        "sandbox secret key (sk_sbox_…)"
                    } else {
                        "live secret key (sk_…)"
                    };
                    return Err(("credentials.secret_key", format!("must be a Checkout.com {kind}")));
                }
                let channel_ok = processing_channel_id.strip_prefix("pc_").is_some_and(|rest| {
                    (20..=40).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
                });
                if !channel_ok {
                    return Err(("credentials.processing_channel_id", "must be a processing channel id (pc_…)".into()));
                }
                Ok(())
            }
        }
    }

    /// The secret the processor signs its webhooks with, if it was given.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        match self {
            Credentials::Stripe { webhook_secret, .. } | Credentials::Checkout { webhook_secret, .. } => {
                webhook_secret.as_ref()
            }
        }
    }

    /// What people may see to recognise them: the key's prefix and last four characters.
    pub fn hint(&self) -> String {
        let tail =
            |text: &str| -> String { text.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect() };
        match self {
            Credentials::Checkout { secret_key, .. } => {
                let prefix = if secret_key.expose().starts_with("sk_sbox_") { "sk_sbox" } else { "sk" };
                format!("{prefix}_…{}", tail(secret_key.expose()))
            }
            Credentials::Stripe { secret_key, .. } => {
                let key = secret_key.expose();
                let prefix = key.splitn(3, '_').take(2).collect::<Vec<_>>().join("_");
                format!("{prefix}_…{}", tail(key))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe(key: &str) -> Credentials {
        Credentials::Stripe { secret_key: Secret::new(key.into()), webhook_secret: None }
    }

    #[test]
    fn keys_must_belong_to_their_mode() {
        assert!(stripe("sk_test_51abcdefghijkl").check(Mode::Test).is_ok());
        assert!(stripe("sk_live_51abcdefghijkl").check(Mode::Test).is_err());
        assert!(stripe("sk_test_51abcdefghijkl").check(Mode::Live).is_err());
        assert!(stripe("sk_test_51abc def").check(Mode::Test).is_err());
        assert_eq!(stripe("sk_test_51abcdefghijkl").check(Mode::Live).unwrap_err().0, "credentials.secret_key");
    }

    #[test]
    fn checkout_sandbox_keys_belong_to_test_mode_with_a_processing_channel() {
        let checkout = |key: &str, channel: &str| Credentials::Checkout {
            secret_key: Secret::new(key.into()),
            processing_channel_id: channel.into(),
            webhook_secret: None,
        };
        let channel = "pc_abcdefghijklmnopqrstuvwxyz";
        assert!(checkout("sk_sbox_abcdefghijkl", channel).check(Mode::Test).is_ok());
        assert!(checkout("sk_sbox_abcdefghijkl", channel).check(Mode::Live).is_err());
        assert!(checkout("sk_abcdefghijklmnop", channel).check(Mode::Live).is_ok());
        assert!(checkout("sk_abcdefghijklmnop", channel).check(Mode::Test).is_err());
        let no_channel = checkout("sk_sbox_abcdefghijkl", "channel").check(Mode::Test).unwrap_err();
        assert_eq!(no_channel.0, "credentials.processing_channel_id");
        assert_eq!(checkout("sk_sbox_abcdefghijkl", channel).hint(), "sk_sbox_…ijkl");
    }

    #[test]
    fn neither_debug_nor_the_hint_shows_the_key() {
        let c = stripe("sk_test_51abcdefghijklmnop");
        assert!(!format!("{c:?}").contains("abcdef"));
        assert_eq!(c.hint(), "sk_test_…mnop");
    }
}
