//! A processor call as plain data: what a connector's pure translation produces (`HttpCall`) and reads
//! (`HttpAnswer`), and how sending one ended (`Sent`). Connectors never do I/O; the executor and the vault
//! send these.

/// One HTTP request to a processor, relative to the connector's base URL. Authorizations carry card
/// placeholders in `body` and go through the edge's vault; the rest are sent by the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    pub method: HttpMethod,
    /// Absolute path with its query, e.g. `/v1/payment_intents/search?query=…`.
    pub path: String,
    pub content_type: Option<&'static str>,
    /// Lower-case names. `authorization` is redacted from every log; the rest are safe to log.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// What the processor answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// How sending a call ended, before any connector reads the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Answered(HttpAnswer),
    /// It certainly never reached the processor (connection refused, name not resolved, TLS failed).
    NotSent(String),
    /// It may have reached the processor, but no usable answer came (timeout, reset).
    Unknown(String),
}

/// Form encoding (`application/x-www-form-urlencoded`) of one value.
pub fn form_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A form body from pairs, in order; `raw` pairs are appended unencoded (the vault's placeholders, which
/// it replaces with digits, must reach it intact).
pub fn form_body(pairs: &[(&str, String)], raw: &[(&str, &str)]) -> String {
    let encoded = pairs.iter().map(|(k, v)| format!("{}={}", form_value(k), form_value(v)));
    let raw = raw.iter().map(|(k, v)| format!("{}={v}", form_value(k)));
    encoded.chain(raw).collect::<Vec<_>>().join("&")
}

/// An absolute `http(s)` URL as (origin, path with its query): `https://files.stripe.com/v1/files/f/contents`
/// → (`https://files.stripe.com`, `/v1/files/f/contents`). `None` for anything else (no host, credentials in
/// the URL, another scheme).
pub fn split_url(text: &str) -> Option<(String, String)> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    Some((origin, path))
}
