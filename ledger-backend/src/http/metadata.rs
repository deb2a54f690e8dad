//! Metadata as every resource takes it: a JSON object of string values, checked by core's one rule
//! (count, key and value lengths, no NUL) so charges and refunds can never disagree.

use super::ApiError;
use paygate_core::text;
use serde_json::{Map, Value};

pub fn check(metadata: &Map<String, Value>) -> Result<(), ApiError> {
    text::check_metadata(metadata.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .map_err(|error| ApiError::invalid(&error.param, format!("{} {}", error.param, error.detail)))
}
