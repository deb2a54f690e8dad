//! Cursor pagination shared by every list endpoint (DESIGN.md §2): `limit` (1-100, default 10),
//! `starting_after` (older than this id) or `ending_before` (newer than this id), newest first. Ids are
//! time-sortable, so the cursor is the id itself. Other query parameters are the endpoint's filters.

use super::ApiError;
use paygate_core::ErrorCode;

pub const PAGE_SIZE_MAX: i64 = 100;
pub const PAGE_SIZE_DEFAULT: i64 = 10;

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: i64,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl Page {
    /// `ORDER BY` direction: pages before a cursor are read oldest first and then reversed.
    pub fn order(&self) -> &'static str {
        if self.ending_before.is_some() { "ASC" } else { "DESC" }
    }

    /// Trims the `limit + 1` rows fetched to a page and says whether more exist.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.ending_before.is_some() {
            rows.reverse();
        }
        (rows, has_more)
    }
}

pub fn invalid(param: &str, detail: &str) -> ApiError {
    ApiError::Param { code: ErrorCode::ParameterInvalid, param: param.to_owned(), detail: detail.to_owned() }
}

/// Splits a query string into the page and the remaining (name, value) filters. `is_cursor` checks that
/// a cursor is an id of the listed kind.
pub fn parse(query: &str, is_cursor: impl Fn(&str) -> bool) -> Result<(Page, Vec<(String, String)>), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| invalid("", &e.to_string()))?;
    let mut page = Page { limit: PAGE_SIZE_DEFAULT, ..Page::default() };
    let mut filters = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                page.limit = value.parse().map_err(|_| invalid("limit", "must be an integer"))?;
                if !(1..=PAGE_SIZE_MAX).contains(&page.limit) {
                    return Err(invalid("limit", "must be between 1 and 100"));
                }
            }
            "starting_after" | "ending_before" => {
                if !is_cursor(&value) {
                    return Err(invalid(&name, "must be an id of the listed objects"));
                }
                if name == "starting_after" {
                    page.starting_after = Some(value)
                } else {
                    page.ending_before = Some(value)
                }
            }
            _ => filters.push((name, value)),
        }
    }
    if page.starting_after.is_some() && page.ending_before.is_some() {
        return Err(invalid("ending_before", "use starting_after or ending_before, not both"));
    }
    Ok((page, filters))
}

/// The answer to a filter this endpoint does not take.
pub fn unknown(name: &str) -> ApiError {
    ApiError::Param {
        code: ErrorCode::ParameterUnknown,
        param: name.to_owned(),
        detail: format!("unknown query parameter {name}"),
    }
}
