//! Checkout.com's settlement reports, pulled through its Reports API (checkout.com/docs/reporting; the
//! sources and what is unverified are in `docs/processors/checkout.md`): list the reports created since the
//! last one imported (`GET /reports?created_after=…`, paged by `pagination_token`), keep the "financial
//! actions by payout" ones (type `FinancialActions`, tagged `payout_id:…`), and download each of their files
//! (`GET /reports/{id}/files/{file_id}`) with the secret key. Pure translation.

use super::call::{HttpAnswer, HttpCall, HttpMethod, form_value};
use super::checkout::{Account, headers};
use serde_json::Value;

/// The report type whose files are financial actions by payout.
pub const FINANCIAL_ACTIONS: &str = "FinancialActions";
/// Reports per page (the API's maximum).
pub const PAGE_MAX: u32 = 100;

/// `GET /reports?created_after=…&limit=…` (ISO 8601, inclusive), then the next page's token.
pub fn list_reports(account: &Account<'_>, created_after: &str, pagination_token: Option<&str>) -> HttpCall {
    let mut path = format!("/reports?created_after={}&limit={PAGE_MAX}", form_value(created_after));
    if let Some(token) = pagination_token {
        path.push_str(&format!("&pagination_token={}", form_value(token)));
    }
    HttpCall { method: HttpMethod::Get, path, content_type: None, headers: headers(account, None), body: String::new() }
}

/// One report of financial actions for a payout, and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    /// As Checkout.com wrote it (ISO 8601, UTC).
    pub created_on: String,
    pub payout: Option<String>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The financial-actions reports of the page, oldest first; other report types are left out.
    pub reports: Vec<Listed>,
    pub next_token: Option<String>,
}

pub fn read_reports(answer: &HttpAnswer) -> Result<Page, String> {
    if answer.status != 200 {
        return Err(format!("reports: Checkout.com answered {}", answer.status));
    }
    let body: Value =
        serde_json::from_str(&answer.body).map_err(|_| "reports: Checkout.com answered something that is not JSON")?;
    let data = body["data"].as_array().ok_or("reports: no data")?;
    let mut reports = Vec::new();
    for report in data.iter().filter(|r| r["type"].as_str() == Some(FINANCIAL_ACTIONS)) {
        let id = report["id"].as_str().ok_or("reports: a report without an id")?.to_owned();
        let created_on = report["created_on"].as_str().ok_or_else(|| format!("report {id}: no created_on"))?.to_owned();
        let payout = report["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|tag| tag.strip_prefix("payout_id:"))
            .map(str::to_owned);
        let files = report["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["format"].as_str().is_none_or(|format| format.eq_ignore_ascii_case("csv")))
            .map(|f| f["_links"]["self"]["href"].as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| format!("report {id}: a file without its link"))?;
        reports.push(Listed { id, created_on, payout, files });
    }
    reports.sort_by(|a, b| a.created_on.cmp(&b.created_on).then_with(|| a.id.cmp(&b.id)));
    let next_token = body["_links"]["next"]["href"].as_str().and_then(|href| {
        let query = href.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "pagination_token")
            .map(|(_, v)| v.into_owned())
    });
    Ok(Page { reports, next_token })
}

/// A report file's download: only from the API's own origin, where the Reports API serves files.
pub fn download(account: &Account<'_>, href: &str, api_base: &str) -> Result<(String, HttpCall), String> {
    let (origin, path) = super::call::split_url(href).ok_or_else(|| format!("report file link {href:?}"))?;
    if Some(&origin) != super::call::split_url(api_base).map(|(o, _)| o).as_ref() || !path.starts_with("/reports/") {
        return Err(format!("report file link {href:?} is not on the Reports API"));
    }
    Ok((
        origin,
        HttpCall {
            method: HttpMethod::Get,
            path,
            content_type: None,
            headers: headers(account, None),
            body: String::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::Secret;

    #[test]
    fn financial_action_reports_are_listed_oldest_first_with_their_payout_and_files() {
        let body = r#"{"count":3,"limit":100,"data":[
            {"id":"rpt_b","created_on":"2026-11-02T01:00:00.000Z","type":"FinancialActions","tags":["payout_id:po_2"],
             "files":[{"id":"file_b","format":"CSV","_links":{"self":{"href":"https://api.example/reports/rpt_b/files/file_b"}}}]},
            {"id":"rpt_x","created_on":"2026-11-01T00:00:00.000Z","type":"Authentication","files":[]},
            {"id":"rpt_a","created_on":"2026-11-01T01:00:00.000Z","type":"FinancialActions","tags":["payout_id:po_1"],
             "files":[{"id":"file_a","format":"CSV","_links":{"self":{"href":"https://api.example/reports/rpt_a/files/file_a"}}}]}],
            "_links":{"next":{"href":"https://api.example/reports?limit=100&pagination_token=tok%3D1"}}}"#;
        let page = read_reports(&HttpAnswer { status: 200, body: body.into() }).unwrap();
        let ids: Vec<&str> = page.reports.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["rpt_a", "rpt_b"]);
        assert_eq!(page.reports[0].payout.as_deref(), Some("po_1"));
        assert_eq!(page.reports[0].files, ["https://api.example/reports/rpt_a/files/file_a"]);
        assert_eq!(page.next_token.as_deref(), Some("tok=1"));
        assert!(read_reports(&HttpAnswer { status: 401, body: String::new() }).is_err());
    }

    #[test]
    fn files_come_only_from_the_reports_api_with_the_key() {
        let key = Secret::new("sk_sbox_1".into());
        let account = Account { secret_key: &key, processing_channel_id: "pc_1" };
        let api = "https://api.sandbox.checkout.com";
        let (origin, call) = download(&account, &format!("{api}/reports/rpt_a/files/file_a"), api).unwrap();
        assert_eq!((origin.as_str(), call.path.as_str()), (api, "/reports/rpt_a/files/file_a"));
        assert!(call.headers.iter().any(|(n, v)| *n == "authorization" && v == "Bearer sk_sbox_1"));
        assert!(download(&account, "https://evil.example/reports/rpt_a/files/f", api).is_err());
        assert!(download(&account, &format!("{api}/payments/pay_1"), api).is_err());
        let call = list_reports(&account, "2026-11-01T00:00:00.000Z", Some("t 1"));
        assert_eq!(call.path, "/reports?created_after=2026-11-01T00%3A00%3A00.000Z&limit=100&pagination_token=t+1");
    }
}
