//! The browser's static files: the card element's page, stylesheet, script and WebAssembly
//! (`/elements/v1/...`), and the loader for shops that take it from our CDN (`/js/v1/paygate.mjs`).
//! Workers Static Assets hold the bytes (built by `sdk/element/build.mjs`); this module adds the
//! headers that decide who may frame, run and cache them, so the rules live in reviewed code.

use crate::problem::Refusal;
use paygate_core::ErrorCode;
use worker::{Env, Headers, Method, Request, Response};

/// The card page may be framed by any shop, may run only our own script and WebAssembly, and may talk
/// only to this origin (the tokenize call). It loads no images, fonts or frames of its own.
const ELEMENT_PAGE_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *";

/// The 3-D Secure dialog's page frames the processor's authentication page, wherever that lives (its host comes
/// from the processor's answer, relayed by the shop): any https page, and plain http only on loopback (the local
/// fakes); otherwise it is held to the element pages' rules.
const CHALLENGE_PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    frame-src https: http://127.0.0.1:* http://localhost:*; base-uri 'none'; form-action 'none'; frame-ancestors *";

/// Content-hashed files never change under their name.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The CDN loader's floating name is re-checked often so a deploy reaches shops quickly.
const CACHE_SHORT: &str = "public, max-age=300";
/// The card page is revalidated on every load (a 304 when unchanged): a cached page naming hashed files
/// that a deploy has replaced would leave the form dead.
const CACHE_REVALIDATE: &str = "no-cache";

pub async fn serve(req: &Request, env: &Env) -> Result<Response, Refusal> {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Err(ErrorCode::MethodNotAllowed.into());
    }
    let path = req.path();
    let fetcher = env.assets("ASSETS").map_err(unavailable)?;
    let request = req.clone().map_err(unavailable)?;
    let fetched = fetcher.fetch_request(request).await.map_err(unavailable)?;
    let status = fetched.status_code();
    if status == 404 || ((300..400).contains(&status) && status != 304) {
        // No listings, no redirects to "pretty" names: a path is a file or nothing.
        return Err(ErrorCode::RouteNotFound.into());
    }
    let headers = Headers::new();
    for name in ["content-type", "etag", "last-modified"] {
        if let Ok(Some(value)) = fetched.headers().get(name) {
            headers.set(name, &value).map_err(unavailable)?;
        }
    }
    for (name, value) in asset_headers(&path) {
        headers.set(name, value).map_err(unavailable)?;
    }
    let body = if status == 304 || req.method() == Method::Head {
        Vec::new()
    } else {
        crate::fetch::body(fetched).await.map_err(unavailable)?
    };
    Ok(Response::from_bytes(body).map_err(unavailable)?.with_status(status).with_headers(headers))
}

/// The headers each kind of file gets.
pub fn asset_headers(path: &str) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![("x-content-type-options", "nosniff"), ("referrer-policy", "same-origin")];
    if path.ends_with("/challenge.html") {
        headers.push(("content-security-policy", CHALLENGE_PAGE_POLICY));
        headers.push(("cache-control", CACHE_REVALIDATE));
        headers.push(("permissions-policy", "payment=(self)"));
    } else if path.ends_with(".html") {
        headers.push(("content-security-policy", ELEMENT_PAGE_POLICY));
        headers.push(("cache-control", CACHE_REVALIDATE));
        // Apple Pay and the Payment Request API need the permission inside our frame only.
        headers.push(("permissions-policy", "payment=(self)"));
    } else if path.starts_with("/js/") {
        // A module script from another origin is fetched with CORS; SRI needs it too.
        headers.push(("access-control-allow-origin", "*"));
        headers.push(("cross-origin-resource-policy", "cross-origin"));
        headers.push(("cache-control", CACHE_SHORT));
    } else {
        // The element's own files are for our frame only.
        headers.push(("cross-origin-resource-policy", "same-origin"));
        headers.push(("cache-control", CACHE_IMMUTABLE));
    }
    headers
}

fn unavailable(error: worker::Error) -> Refusal {
    worker::console_error!("assets: {error}");
    Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(headers: &'a [(&str, &'a str)], name: &str) -> Option<&'a str> {
        headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn the_card_page_may_be_framed_and_runs_only_our_code() {
        let headers = asset_headers("/elements/v1/card.html");
        let policy = header(&headers, "content-security-policy").unwrap();
        assert!(policy.contains("frame-ancestors *"));
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(policy.contains("connect-src 'self'"));
        assert!(!policy.contains("unsafe-inline"));
        assert_eq!(header(&headers, "x-frame-options"), None);
        assert_eq!(header(&headers, "cache-control"), Some(CACHE_REVALIDATE));
    }

    #[test]
    fn only_the_authentication_dialog_page_may_frame_other_sites() {
        let (challenge, card) = (asset_headers("/elements/v1/challenge.html"), asset_headers("/elements/v1/card.html"));
        let challenge = header(&challenge, "content-security-policy").unwrap();
        assert!(
            challenge.contains("frame-src https: http://127.0.0.1:* http://localhost:*;"),
            "no plain http elsewhere"
        );
        assert!(challenge.contains("script-src 'self';"), "no WebAssembly there");
        let card = header(&card, "content-security-policy").unwrap();
        assert!(!card.contains("frame-src"), "the card page frames nothing (default-src 'none')");
    }

    #[test]
    fn hashed_files_are_immutable_and_stay_ours() {
        let headers = asset_headers("/elements/v1/element-0123456789abcdef.wasm");
        assert_eq!(header(&headers, "cache-control"), Some(CACHE_IMMUTABLE));
        assert_eq!(header(&headers, "cross-origin-resource-policy"), Some("same-origin"));
        assert_eq!(header(&headers, "access-control-allow-origin"), None);
    }

    #[test]
    fn the_cdn_loader_is_readable_cross_origin() {
        let headers = asset_headers("/js/v1/paygate.mjs");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&headers, "cross-origin-resource-policy"), Some("cross-origin"));
    }
}
