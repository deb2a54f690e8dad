//! The dashboard's static files (see `assets/README.md`), compiled into the binary and served with their
//! SHA-384, which every page names in its `integrity` attributes: the browser runs nothing else.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha384};
use std::sync::LazyLock;

pub struct Asset {
    pub name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// `sha384-…`, for `integrity`.
    pub integrity: String,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
        let digest = Sha384::digest(body);
        Asset {
            name,
            content_type,
            body,
            integrity: format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(digest)),
        }
    }

    /// The path a page links it by.
    pub fn path(&self) -> String {
        format!("/dashboard/assets/{}", self.name)
    }
}

pub static HTMX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("htmx-2.0.11.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/htmx-2.0.11.min.js"))
});
pub static CSS: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("dashboard.css", "text/css; charset=utf-8", include_bytes!("assets/dashboard.css")));

pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = [&*HTMX, &*CSS].into_iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // The CSS is not versioned by name: a short lifetime, so a deploy reaches every browser soon.
            (
                header::CACHE_CONTROL,
                if asset.name == HTMX.name { "public, max-age=31536000, immutable" } else { "public, max-age=300" },
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vendored_htmx_is_the_published_file() {
        // The SRI of htmx.org@2.0.11's dist/htmx.min.js as published (assets/README.md).
        assert_eq!(super::HTMX.integrity, "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg");
    }
}
