//! Stripe's request bodies: `application/x-www-form-urlencoded` with bracketed keys
//! (`payment_method_data[card][number]=…`, `metadata[order]=…`), kept flat as Stripe's own parser sees
//! them, with the checks every endpoint shares: unknown parameters, integers, enums.

use super::errors::StripeError;
use std::collections::BTreeMap;

/// A request's parameters, flat by their bracketed names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(body: &[u8]) -> Params {
        Params(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Refuses the first parameter that is neither one of `exact` nor under one of `prefixes`
    /// (`metadata[`), as Stripe does: `parameter_unknown`.
    pub fn only(&self, exact: &[&str], prefixes: &[&str]) -> Result<(), StripeError> {
        match self.0.keys().find(|k| !exact.contains(&k.as_str()) && !prefixes.iter().any(|p| k.starts_with(p))) {
            Some(unknown) => Err(StripeError::invalid_request(
                "parameter_unknown",
                Some(unknown),
                &format!("Received unknown parameter: {unknown}"),
            )),
            None => Ok(()),
        }
    }

    pub fn required(&self, name: &str) -> Result<&str, StripeError> {
        self.get(name).ok_or_else(|| {
            StripeError::invalid_request("parameter_missing", Some(name), &format!("Missing required param: {name}."))
        })
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, StripeError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                StripeError::invalid_request(
                    "parameter_invalid_integer",
                    Some(name),
                    &format!("Invalid integer: {text}"),
                )
            }),
        }
    }

    pub fn one_of<'a>(&'a self, name: &str, allowed: &[&str], default: &'a str) -> Result<&'a str, StripeError> {
        let value = self.get(name).unwrap_or(default);
        if allowed.contains(&value) {
            Ok(value)
        } else {
            Err(StripeError::invalid_request(
                "parameter_invalid_string",
                Some(name),
                &format!("Invalid {name}: must be one of {}", allowed.join(", ")),
            ))
        }
    }

    /// `metadata[key]=value` pairs (Stripe: at most 50 keys, keys ≤ 40, values ≤ 500 characters).
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, StripeError> {
        let mut out = BTreeMap::new();
        for (key, value) in &self.0 {
            let Some(inner) = key.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')) else { continue };
            if inner.is_empty() || inner.chars().count() > 40 || value.chars().count() > 500 {
                return Err(StripeError::invalid_request(
                    "parameter_invalid_string",
                    Some(key),
                    "Metadata keys must be 1-40 characters and values at most 500",
                ));
            }
            out.insert(inner.to_owned(), value.clone());
        }
        if out.len() > 50 {
            return Err(StripeError::invalid_request(
                "parameter_invalid_string",
                Some("metadata"),
                "Metadata can have at most 50 keys",
            ));
        }
        Ok(out)
    }

    /// The canonical text of the parameters: what an idempotent replay is compared by.
    pub fn canonical(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(self.0.iter()).finish()
    }
}
