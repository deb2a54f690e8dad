//! The one sender of processor calls that carry no card (captures, voids, refunds, lookups): a deadline,
//! the call's idempotency header as the connector set it, a log line per call with the method, path,
//! status and duration (never a body or the `authorization` header), and the transport classification
//! every flow shares. Authorizations are sent by the edge's vault instead (they need the card).

use super::call::{HttpCall, HttpMethod, Sent};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Executor {
    http: reqwest::Client,
    /// Report files: the same rules, with time for a large file.
    downloads: reqwest::Client,
}

/// A report file may take this long to download.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

impl Executor {
    pub fn new(timeout: Duration) -> Self {
        // No redirects: a processor that redirects an API call is answering something we did not ask.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client always builds");
        let downloads = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(DOWNLOAD_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client always builds");
        Executor { http, downloads }
    }

    /// Downloads `call` from `origin` into `into`, chunk by chunk (memory stays flat in the file's size), up to
    /// `max_bytes`; the bytes written. Any status but 200 is an error, with the start of the answer.
    pub async fn download(
        &self,
        connector: &'static str,
        origin: &str,
        call: &HttpCall,
        into: &mut std::fs::File,
        max_bytes: u64,
    ) -> Result<u64, String> {
        use std::io::Write;
        let mut request = self.downloads.get(format!("{origin}{}", call.path));
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let mut answer = request.send().await.map_err(|e| format!("download failed: {e}"))?;
        let status = answer.status().as_u16();
        let path = call.path.split('?').next().unwrap_or("");
        tracing::info!(connector, method = "GET", path, outcome = status, "processor report download");
        if status != 200 {
            let body = answer.text().await.unwrap_or_default();
            return Err(format!("download answered {status}: {}", body.chars().take(200).collect::<String>()));
        }
        let mut written = 0u64;
        while let Some(chunk) = answer.chunk().await.map_err(|e| format!("download broke off: {e}"))? {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(format!("the report file is larger than {max_bytes} bytes"));
            }
            into.write_all(&chunk).map_err(|e| format!("cannot keep the report file: {e}"))?;
        }
        into.flush().map_err(|e| format!("cannot keep the report file: {e}"))?;
        tracing::info!(
            connector,
            path,
            bytes = written,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "report downloaded"
        );
        Ok(written)
    }

    pub async fn send(&self, connector: &'static str, base_url: &str, call: &HttpCall) -> Sent {
        let url = format!("{base_url}{}", call.path);
        let mut request = match call.method {
            HttpMethod::Get => self.http.get(&url),
            HttpMethod::Post => self.http.post(&url).body(call.body.clone()),
        };
        if let Some(content_type) = call.content_type {
            request = request.header("content-type", content_type);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let sent = match request.send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.text().await {
                    Ok(body) => Sent::Answered(super::call::HttpAnswer { status, body }),
                    Err(error) => Sent::Unknown(format!("the answer broke off: {error}")),
                }
            }
            // A connect error (refused, DNS, TLS) happens before a byte of the request is sent.
            Err(error) if error.is_connect() => Sent::NotSent(error.to_string()),
            Err(error) => Sent::Unknown(error.to_string()),
        };
        let outcome = match &sent {
            Sent::Answered(answer) => answer.status.to_string(),
            Sent::NotSent(_) => "not_sent".into(),
            Sent::Unknown(_) => "unknown".into(),
        };
        let path = call.path.split('?').next().unwrap_or("");
        let idempotency_key = call.headers.iter().find(|(n, _)| *n == "idempotency-key").map(|(_, v)| v.as_str());
        tracing::info!(
            connector,
            method = call.method.as_str(),
            path,
            idempotency_key,
            outcome,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "processor call"
        );
        sent
    }
}
