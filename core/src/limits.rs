//! How large a request body may be: one rule for the edge, which refuses first, and for the backend behind it.

/// Every body but a report upload: far above any charge, refund or webhook endpoint (metadata is bounded).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// A settlement report uploaded through the API (a few tens of thousands of rows); a larger one is imported
/// with `paygate-ledger reconcile --file` or pulled from the processor by the worker.
pub const REPORT_UPLOAD_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The public path of the report upload.
pub const REPORT_UPLOAD_PATH: &str = "/v1/settlement_reports";

/// The largest body `method path` (the public path, without the query) takes.
pub fn body_bytes_max(method: &str, path: &str) -> usize {
    if method.eq_ignore_ascii_case("POST") && path == REPORT_UPLOAD_PATH {
        REPORT_UPLOAD_BYTES_MAX
    } else {
        BODY_BYTES_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_report_upload_takes_a_larger_body() {
        assert_eq!(body_bytes_max("POST", "/v1/settlement_reports"), REPORT_UPLOAD_BYTES_MAX);
        assert_eq!(body_bytes_max("post", "/v1/settlement_reports"), REPORT_UPLOAD_BYTES_MAX);
        for (method, path) in
            [("POST", "/v1/charges"), ("PATCH", "/v1/settlement_reports"), ("POST", "/v1/settlement_reports/x")]
        {
            assert_eq!(body_bytes_max(method, path), BODY_BYTES_MAX, "{method} {path}");
        }
    }
}
