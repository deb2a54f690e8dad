//! Stripe's settlement report, pulled (docs.stripe.com/reports/api): ask the report type how far its data
//! reaches, run `balance_change_from_activity.itemized.3` over an interval with the columns that carry our
//! ids, poll the run until it has succeeded, then download its file from the files host with the secret key.
//! Pure translation, like the rest of the connector.

use super::call::{HttpAnswer, HttpCall, HttpMethod, form_body};
use super::credentials::Secret;
use super::stripe::headers;
use paygate_core::settlement::stripe::EXTRA_COLUMNS;
use serde_json::Value;

pub const REPORT_TYPE: &str = "balance_change_from_activity.itemized.3";
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
/// Where Stripe serves report files (the API host serves the API only).
pub const FILES_ORIGIN: &str = "https://files.stripe.com";

/// The report's default columns, in Stripe's order; the run asks for them and `EXTRA_COLUMNS` (our ids).
pub const DEFAULT_COLUMNS: [&str; 16] = [
    "balance_transaction_id",
    "created_utc",
    "created",
    "available_on_utc",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "customer_facing_amount",
    "customer_facing_currency",
    "automatic_payout_id",
    "automatic_payout_effective_at_utc",
];

/// `GET /v1/reporting/report_types/{type}`: how far the data reaches.
pub fn report_type(secret_key: &Secret) -> HttpCall {
    HttpCall {
        method: HttpMethod::Get,
        path: format!("/v1/reporting/report_types/{REPORT_TYPE}"),
        content_type: None,
        headers: headers(secret_key, None),
        body: String::new(),
    }
}

/// What Stripe answered, read: `Err` carries a reason for the operator.
fn json_of(answer: &HttpAnswer, what: &str) -> Result<Value, String> {
    let body: Result<Value, _> = serde_json::from_str(&answer.body);
    if answer.status != 200 {
        let reason = body.ok().and_then(|b| b["error"]["message"].as_str().map(str::to_owned)).unwrap_or_default();
        return Err(format!("{what}: Stripe answered {} {reason}", answer.status));
    }
    body.map_err(|_| format!("{what}: Stripe answered something that is not JSON"))
}

/// `data_available_end` (Unix seconds): a run's interval must end by then.
pub fn read_report_type(answer: &HttpAnswer) -> Result<i64, String> {
    let body = json_of(answer, "report type")?;
    body["data_available_end"].as_i64().ok_or_else(|| "report type: no data_available_end".into())
}

/// `POST /v1/reporting/report_runs` over `[start, end)` (Unix seconds, UTC), idempotent per interval.
pub fn create_run(secret_key: &Secret, account: &str, start: i64, end: i64) -> HttpCall {
    let mut pairs = vec![
        ("report_type", REPORT_TYPE.to_owned()),
        ("parameters[interval_start]", start.to_string()),
        ("parameters[interval_end]", end.to_string()),
        ("parameters[timezone]", "Etc/UTC".to_owned()),
    ];
    let names: Vec<String> =
        (0..DEFAULT_COLUMNS.len() + EXTRA_COLUMNS.len()).map(|i| format!("parameters[columns][{i}]")).collect();
    for (name, column) in names.iter().zip(DEFAULT_COLUMNS.iter().chain(EXTRA_COLUMNS.iter())) {
        pairs.push((name.as_str(), (*column).to_owned()));
    }
    let key = format!("paygate-report-{account}-{start}-{end}");
    HttpCall {
        method: HttpMethod::Post,
        path: "/v1/reporting/report_runs".into(),
        content_type: FORM,
        headers: headers(secret_key, Some(&key)),
        body: form_body(&pairs, &[]),
    }
}

/// `GET /v1/reporting/report_runs/{id}`.
pub fn retrieve_run(secret_key: &Secret, run: &str) -> HttpCall {
    HttpCall {
        method: HttpMethod::Get,
        path: format!("/v1/reporting/report_runs/{}", super::call::form_value(run)),
        content_type: None,
        headers: headers(secret_key, None),
        body: String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Pending {
        run: String,
    },
    /// The file's URL, on the files host.
    Succeeded {
        run: String,
        file_url: String,
    },
    Failed {
        run: String,
        reason: String,
    },
}

pub fn read_run(answer: &HttpAnswer) -> Result<RunState, String> {
    let body = json_of(answer, "report run")?;
    let run = body["id"].as_str().ok_or("report run: no id")?.to_owned();
    match (body["status"].as_str(), body["result"]["url"].as_str()) {
        (Some("pending"), _) => Ok(RunState::Pending { run }),
        (Some("succeeded"), Some(url)) => Ok(RunState::Succeeded { run, file_url: url.to_owned() }),
        (Some("failed"), _) => Ok(RunState::Failed { run, reason: body["error"].as_str().unwrap_or("").to_owned() }),
        (status, _) => Err(format!("report run {run}: unexpected status {status:?}")),
    }
}

/// The download of a run's file: only from the files host or the API's own origin (a URL elsewhere is not
/// Stripe's, and the secret key never goes there).
pub fn download(secret_key: &Secret, file_url: &str, api_base: &str) -> Result<(String, HttpCall), String> {
    let (origin, path) = super::call::split_url(file_url).ok_or_else(|| format!("report file URL {file_url:?}"))?;
    let api_origin = super::call::split_url(api_base).map(|(o, _)| o);
    if origin != FILES_ORIGIN && Some(&origin) != api_origin.as_ref() {
        return Err(format!("report file URL {file_url:?} is not on Stripe's files host"));
    }
    let call = HttpCall {
        method: HttpMethod::Get,
        path,
        content_type: None,
        headers: headers(secret_key, None),
        body: String::new(),
    };
    Ok((origin, call))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new("sk_test_reports".into())
    }

    #[test]
    fn a_run_asks_for_the_interval_in_utc_with_the_columns_that_carry_our_ids() {
        let call = create_run(&key(), "pa_1", 1_000, 2_000);
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(call.body.as_bytes()).into_owned().collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("report_type"), Some(REPORT_TYPE));
        assert_eq!((get("parameters[interval_start]"), get("parameters[interval_end]")), (Some("1000"), Some("2000")));
        assert_eq!(get("parameters[columns][0]"), Some("balance_transaction_id"));
        assert_eq!(get("parameters[columns][18]"), Some("refund_metadata[paygate_refund_id]"));
        assert!(call.headers.iter().any(|(n, v)| *n == "idempotency-key" && v == "paygate-report-pa_1-1000-2000"));
    }

    #[test]
    fn a_run_is_read_as_pending_succeeded_or_failed() {
        let answer = |body: &str| HttpAnswer { status: 200, body: body.into() };
        assert_eq!(
            read_run(&answer(r#"{"id":"frr_1","status":"pending","result":null}"#)),
            Ok(RunState::Pending { run: "frr_1".into() })
        );
        let done = r#"{"id":"frr_1","status":"succeeded","result":{"url":"https://files.stripe.com/v1/files/file_1/contents"}}"#;
        assert_eq!(
            read_run(&answer(done)),
            Ok(RunState::Succeeded {
                run: "frr_1".into(),
                file_url: "https://files.stripe.com/v1/files/file_1/contents".into()
            })
        );
        assert!(matches!(
            read_run(&answer(r#"{"id":"frr_1","status":"failed","error":"x"}"#)),
            Ok(RunState::Failed { .. })
        ));
        let refused = HttpAnswer { status: 400, body: r#"{"error":{"message":"interval_end too late"}}"#.into() };
        assert!(read_run(&refused).unwrap_err().contains("interval_end too late"));
    }

    #[test]
    fn a_file_is_downloaded_only_from_stripe_with_the_key() {
        let api = "https://api.stripe.com";
        let (origin, call) = download(&key(), "https://files.stripe.com/v1/files/file_1/contents", api).unwrap();
        assert_eq!((origin.as_str(), call.path.as_str()), ("https://files.stripe.com", "/v1/files/file_1/contents"));
        assert!(call.headers.iter().any(|(n, _)| *n == "authorization"));
        assert!(download(&key(), "https://evil.example/v1/files/file_1/contents", api).is_err());
        assert!(download(&key(), "https://files.stripe.com.evil.example/x", api).is_err());
        assert!(download(&key(), "http://127.0.0.1:9/v1/files/f/contents", "http://127.0.0.1:9").is_ok());
    }
}
