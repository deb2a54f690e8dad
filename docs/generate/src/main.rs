//! `paygate-docs`: writes the documentation site's generated pages from the code, so they cannot drift.
//!
//! `paygate-docs SITE_SRC` writes, under the site's `src/`:
//! - `reference/openapi.json`: the public OpenAPI document, as the edge serves it at `/v1/openapi.json`;
//! - `reference/api/*.md`: that document rendered, one page per tag, and its objects;
//! - `errors/index.md` and `errors/<code>.html`: core's error catalogue, where each problem's `type` points;
//! - `reference/events.md`: the event types and the delivery schedule;
//! - `reference/test-cards.md`: the sandbox's and the fakes' test cards.
//!
//! It then checks `SUMMARY.md` against what it wrote: a generated page the table of contents does not list
//! (mdBook would not render it), or a listed page nothing wrote, is an error.
//!
//! `paygate-docs --openapi FILE` and `--backend-openapi FILE` write only a document (for the validator).

mod api;
mod catalogues;
mod markdown;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, file] if flag == "--openapi" => write_json(Path::new(file), &public_document()),
        [flag, file] if flag == "--backend-openapi" => write_json(Path::new(file), &backend_document()),
        [site_src] => generate(Path::new(site_src)),
        _ => Err("usage: paygate-docs SITE_SRC | --openapi FILE | --backend-openapi FILE".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("paygate-docs: {message}");
            ExitCode::FAILURE
        }
    }
}

fn public_document() -> serde_json::Value {
    paygate_ledger::http::public_api::document(&paygate_ledger::http::v1_endpoints())
}

fn backend_document() -> serde_json::Value {
    paygate_ledger::http::openapi::document(
        &paygate_ledger::http::root_endpoints(),
        &paygate_ledger::http::v1_endpoints(),
    )
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    write(path, &text)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn generate(src: &Path) -> Result<(), String> {
    // Generated folders are wholly ours: start them empty so a page that is no longer made disappears.
    for folder in ["reference", "errors"] {
        let path = src.join(folder);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let document = public_document();
    write_json(&src.join("reference/openapi.json"), &document)?;
    let mut pages: Vec<(PathBuf, String)> = api::pages(&document)?;
    pages.push(("errors/index.md".into(), catalogues::errors()));
    pages.push(("reference/events.md".into(), catalogues::events()));
    pages.push(("reference/test-cards.md".into(), catalogues::test_cards()));
    for (path, text) in &pages {
        write(&src.join(path), text)?;
    }
    for (path, text) in catalogues::error_redirects() {
        write(&src.join(path), &text)?;
    }
    check_summary(src, pages.iter().map(|(path, _)| path.to_string_lossy().into_owned()).collect())
}

/// Every generated page is in `SUMMARY.md`, and every page it lists under a generated folder was generated.
fn check_summary(src: &Path, generated: BTreeSet<String>) -> Result<(), String> {
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).map_err(|e| format!("SUMMARY.md: {e}"))?;
    let listed: BTreeSet<String> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|link| link.starts_with("reference/") || link.starts_with("errors/"))
        .map(str::to_owned)
        .collect();
    let unlisted: Vec<_> = generated.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&generated).collect();
    if !unlisted.is_empty() || !missing.is_empty() {
        return Err(format!(
            "SUMMARY.md is out of step with the generated pages: not listed {unlisted:?}, listed but not generated {missing:?}"
        ));
    }
    Ok(())
}
