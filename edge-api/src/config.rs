//! The edge's configuration: plain variables from `wrangler.toml` and secrets (`.dev.vars` locally,
//! `wrangler secret put` in production). Read per request (workerd hands the same `Env` to every one);
//! a missing or malformed secret is a deployment error, answered as 503 and logged without its value.

use paygate_core::signature::edge::EdgeSecret;
use worker::Env;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is malformed")]
    Malformed(&'static str),
}

fn text(env: &Env, name: &'static str) -> Result<String, ConfigError> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .map_err(|_| ConfigError::Missing(name))
}

fn hex_secret(env: &Env, name: &'static str) -> Result<Vec<u8>, ConfigError> {
    let text = text(env, name)?;
    paygate_core::hex::decode(text.trim()).filter(|bytes| bytes.len() >= 32).ok_or(ConfigError::Malformed(name))
}

pub fn backend_url(env: &Env) -> Result<String, ConfigError> {
    Ok(text(env, "BACKEND_URL")?.trim_end_matches('/').to_owned())
}

/// The edge↔backend signing secrets: the current one first, then the previous one during a rotation.
pub fn edge_secrets(env: &Env) -> Result<Vec<EdgeSecret>, ConfigError> {
    let current = EdgeSecret::new(&hex_secret(env, "PAYGATE_EDGE_SECRET")?)
        .map_err(|_| ConfigError::Malformed("PAYGATE_EDGE_SECRET"))?;
    let mut secrets = vec![current];
    if text(env, "PAYGATE_EDGE_SECRET_PREVIOUS").is_ok_and(|t| !t.trim().is_empty()) {
        let previous = hex_secret(env, "PAYGATE_EDGE_SECRET_PREVIOUS")?;
        secrets.push(EdgeSecret::new(&previous).map_err(|_| ConfigError::Malformed("PAYGATE_EDGE_SECRET_PREVIOUS"))?);
    }
    Ok(secrets)
}

/// The pepper of API-key hashes, shared with the backend.
pub fn api_key_pepper(env: &Env) -> Result<Vec<u8>, ConfigError> {
    hex_secret(env, "PAYGATE_API_KEY_PEPPER")
}

/// The key of card fingerprints (HMAC): the same card gives the same fingerprint, which reveals nothing
/// without this key.
pub fn fingerprint_key(env: &Env) -> Result<Vec<u8>, ConfigError> {
    hex_secret(env, "VAULT_FINGERPRINT_KEY")
}

/// The vault's data keys, `VAULT_DATA_KEYS = "1:<64 hex>,2:<64 hex>"`: every ciphertext names the version
/// that sealed it; new cards are sealed with the highest version. Rotation adds a version; a version is
/// removed only once no stored card uses it (tokens live at most 15 minutes unused).
pub fn vault_data_keys(env: &Env) -> Result<paygate_core::sealed::DataKeys, ConfigError> {
    const NAME: &str = "VAULT_DATA_KEYS";
    let text = text(env, NAME)?;
    paygate_core::sealed::DataKeys::parse(&text).map_err(|_| ConfigError::Malformed(NAME))
}

/// The base URL of processor `destination` for `mode`, if it is allow-listed there. Test mode reaches the
/// sandbox acquirer (`SANDBOX_URL`) and the hosts of `PROCESSOR_TEST_HOSTS` (`name=url,...`: the processors'
/// test hosts, or their local fakes); live mode only the https hosts of `PROCESSOR_LIVE_HOSTS`, never the
/// sandbox and never a test host.
pub fn processor_url(env: &Env, destination: &str, mode: &str) -> Option<String> {
    let listed = |name: &'static str, https_only: bool| {
        let hosts = text(env, name).ok()?;
        hosts.split(',').filter_map(|entry| entry.trim().split_once('=')).find_map(|(host_name, url)| {
            let url = url.trim();
            (host_name.trim() == destination
                && (url.starts_with("https://") || (!https_only && url.starts_with("http://"))))
            .then(|| url.trim_end_matches('/').to_owned())
        })
    };
    match mode {
        "test" if destination == "sandbox" => text(env, "SANDBOX_URL").ok().map(|u| u.trim_end_matches('/').to_owned()),
        "test" => listed("PROCESSOR_TEST_HOSTS", false),
        "live" if destination == "sandbox" => None,
        "live" => listed("PROCESSOR_LIVE_HOSTS", true),
        _ => None,
    }
}

/// Paygate's Apple Pay payment-processing keys, `APPLE_PAY_PROCESSING_KEYS = "1:<base64 PKCS#8>,2:<…>"` (P-256,
/// from the Payment Processing certificate Apple issued for each). A token names the key it was encrypted for
/// (`publicKeyHash`), so rotation (Apple's certificates live 25 months) is: add the new key, register its
/// certificate with Apple, and remove the old key once no device can still encrypt for it. Highest version first.
pub fn apple_pay_processing_keys(env: &Env) -> Result<Vec<Vec<u8>>, ConfigError> {
    use base64::Engine;
    const NAME: &str = "APPLE_PAY_PROCESSING_KEYS";
    let text = text(env, NAME)?;
    let mut keys = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (version, key) = entry.split_once(':').ok_or(ConfigError::Malformed(NAME))?;
        let version: u32 = version.trim().parse().map_err(|_| ConfigError::Malformed(NAME))?;
        let der =
            base64::engine::general_purpose::STANDARD.decode(key.trim()).map_err(|_| ConfigError::Malformed(NAME))?;
        keys.push((version, der));
    }
    if keys.is_empty() {
        return Err(ConfigError::Missing(NAME));
    }
    keys.sort_by_key(|k| std::cmp::Reverse(k.0));
    Ok(keys.into_iter().map(|(_, der)| der).collect())
}

/// The root Apple Pay token signatures must chain to: Apple Root CA – G3 in live mode, always; in test mode the
/// root of `APPLE_PAY_TEST_ROOT_CA` (PEM; a local stand-in of Apple's) when set.
pub fn apple_pay_root(env: &Env, mode: paygate_core::Mode) -> Result<Vec<u8>, ConfigError> {
    let pem = match mode {
        paygate_core::Mode::Test => text(env, "APPLE_PAY_TEST_ROOT_CA").ok().filter(|t| !t.trim().is_empty()),
        paygate_core::Mode::Live => None,
    };
    let pem = pem.unwrap_or_else(|| paygate_core::applepay::APPLE_ROOT_CA_G3_PEM.to_owned());
    paygate_core::applepay::certificate::der_of(pem.as_bytes())
        .map_err(|_| ConfigError::Malformed("APPLE_PAY_TEST_ROOT_CA"))
}
