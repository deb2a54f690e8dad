//! Cursor pagination shared by every list endpoint (docs/design.md §2): `limit` (1-100, default 10),
//! `starting_after` or `ending_before` (see `domain::page`). Other query parameters are the
//! endpoint's filters.

use super::ApiError;
use crate::domain::page::Page;
use paygate_core::ErrorCode;

pub const PAGE_SIZE_MAX: i64 = 100;
pub const PAGE_SIZE_DEFAULT: i64 = 10;
/// No filter value we take is longer (ids are 30 characters, event types under 40).
const QUERY_VALUE_CHARS_MAX: usize = 200;

/// Splits a query string into the page and the remaining (name, value) filters. `is_cursor` checks that
/// a cursor is an id of the listed kind.
pub fn parse(query: &str, is_cursor: impl Fn(&str) -> bool) -> Result<(Page, Vec<(String, String)>), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| ApiError::invalid("", e.to_string()))?;
    let mut page = Page { limit: PAGE_SIZE_DEFAULT, ..Page::default() };
    let mut filters = Vec::new();
    for (name, value) in pairs {
        // Names and values are text that may reach a query: none may hold what the database cannot store.
        if name.contains('\0') {
            return Err(ApiError::invalid("", "a query parameter's name contains the NUL character"));
        }
        paygate_core::text::storable(&value, QUERY_VALUE_CHARS_MAX)
            .map_err(|e| ApiError::invalid(&name, format!("{name} {e}")))?;
        match name.as_str() {
            "limit" => {
                page.limit = value.parse().map_err(|_| ApiError::invalid("limit", "must be an integer"))?;
                if !(1..=PAGE_SIZE_MAX).contains(&page.limit) {
                    return Err(ApiError::invalid("limit", "must be between 1 and 100"));
                }
            }
            "starting_after" | "ending_before" => {
                if !is_cursor(&value) {
                    return Err(ApiError::invalid(&name, "must be an id of the listed objects"));
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
        return Err(ApiError::invalid("ending_before", "use starting_after or ending_before, not both"));
    }
    Ok((page, filters))
}

/// The answer to a filter this endpoint does not take.
/// The page of a list that takes no filters: any parameter besides the paging ones is refused, named.
pub fn page_only(query: Option<&str>, is_cursor: impl Fn(&str) -> bool) -> Result<Page, ApiError> {
    let (page, filters) = parse(query.unwrap_or(""), is_cursor)?;
    match filters.first() {
        Some((name, _)) => Err(unknown(name)),
        None => Ok(page),
    }
}

pub fn unknown(name: &str) -> ApiError {
    ApiError::Param {
        code: ErrorCode::ParameterUnknown,
        param: name.to_owned(),
        detail: format!("unknown query parameter {name}"),
    }
}
