//! Text that enters from outside and will be stored: every free-text field, metadata key and value, URL and
//! filter value passes one of these checks once, where it enters, so nothing reaches the database that it
//! cannot hold. PostgreSQL's `text` refuses the NUL character (an answer of 500 if it ever got that far);
//! Rust strings are already valid UTF-8, so NUL and length are what is left to check. Limits count
//! characters, not bytes, as a person typing them would.

/// Metadata: at most this many keys per object.
pub const METADATA_KEYS_MAX: usize = 50;
/// Metadata keys are 1 to 40 characters.
pub const METADATA_KEY_CHARS_MAX: usize = 40;
/// Metadata values are strings of at most 500 characters.
pub const METADATA_VALUE_CHARS_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains the NUL character (\\u0000)")]
    Nul,
    #[error("contains control characters")]
    Control,
}

/// A plain DNS host name (`shop.example.com`): at least two labels of letters, digits and inner hyphens, as
/// Apple Pay takes a shop's domain (no scheme, port, path or trailing dot; not an IP address, whose last label
/// is all digits, which no top-level domain is). Case is the caller's to fold.
pub fn host_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.rsplit('.').next().is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()))
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Text the database can store: no NUL, at most `max_chars` characters. Line breaks and tabs are allowed
/// (metadata values may hold them).
pub fn storable(value: &str, max_chars: usize) -> Result<(), TextError> {
    if value.contains('\0') {
        return Err(TextError::Nul);
    }
    if value.chars().count() > max_chars {
        return Err(TextError::TooLong { max: max_chars });
    }
    Ok(())
}

/// One line of human text (a description, a statement descriptor): storable and free of control
/// characters, which would break a statement, a log line or a dashboard cell.
pub fn single_line(value: &str, max_chars: usize) -> Result<(), TextError> {
    storable(value, max_chars)?;
    if value.chars().any(char::is_control) {
        return Err(TextError::Control);
    }
    Ok(())
}

/// Why a metadata map is refused, and which parameter to name: `metadata` for the map itself,
/// `metadata.<key>` for one value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param} {detail}")]
pub struct MetadataError {
    pub param: String,
    pub detail: String,
}

/// Checks a metadata map given as (key, value) pairs, where a value is `None` when it is not a string.
pub fn check_metadata<'a>(
    entries: impl ExactSizeIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<(), MetadataError> {
    if entries.len() > METADATA_KEYS_MAX {
        return Err(MetadataError {
            param: "metadata".into(),
            detail: format!("holds at most {METADATA_KEYS_MAX} keys"),
        });
    }
    for (key, value) in entries {
        let key_error = if key.is_empty() { Err(TextError::Empty) } else { single_line(key, METADATA_KEY_CHARS_MAX) };
        if let Err(error) = key_error {
            // The key itself is bad: name the map (the key may not even be printable).
            return Err(MetadataError { param: "metadata".into(), detail: format!("has a key that {error}") });
        }
        let param = format!("metadata.{key}");
        let Some(value) = value else {
            return Err(MetadataError { param, detail: "must be a string".into() });
        };
        storable(value, METADATA_VALUE_CHARS_MAX)
            .map_err(|error| MetadataError { param, detail: error.to_string() })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_plain_dns_names() {
        assert!(host_name("shop.example.com"));
        assert!(host_name("xn--mgbh0fb.example"));
        assert!(host_name("123.example.com"), "digits are fine in other labels");
        for bad in [
            "",
            "localhost",
            "https://shop.example.com",
            "shop.example.com:443",
            "shop..example.com",
            "-a.example.com",
            "a b.example.com",
            "shop.example.com.",
            "127.0.0.1",
            "10.0.0.255",
        ] {
            assert!(!host_name(bad), "{bad}");
        }
    }

    #[test]
    fn nul_and_length_are_refused_and_the_rest_is_kept() {
        assert_eq!(storable("a\0b", 10), Err(TextError::Nul));
        assert_eq!(storable("abc", 2), Err(TextError::TooLong { max: 2 }));
        // Characters, not bytes: three Arabic letters are six bytes.
        assert_eq!(storable("سلم", 3), Ok(()));
        assert_eq!(storable("line\nbreak", 20), Ok(()));
        assert_eq!(single_line("line\nbreak", 20), Err(TextError::Control));
        assert_eq!(single_line("Order 12 — mug", 20), Ok(()));
    }

    #[test]
    fn metadata_names_the_parameter_at_fault() {
        let check = |pairs: &[(&str, Option<&str>)]| check_metadata(pairs.iter().copied()).map_err(|e| e.param);
        assert_eq!(check(&[("order", Some("1001"))]), Ok(()));
        assert_eq!(check(&[("order", Some("a\0"))]), Err("metadata.order".into()));
        assert_eq!(check(&[("order", None)]), Err("metadata.order".into()));
        assert_eq!(check(&[("or\0der", Some("1"))]), Err("metadata".into()));
        assert_eq!(check(&[("", Some("1"))]), Err("metadata".into()));
        let long = "x".repeat(METADATA_VALUE_CHARS_MAX + 1);
        assert_eq!(check(&[("order", Some(&long))]), Err("metadata.order".into()));
        let many: Vec<(String, Option<&str>)> = (0..=METADATA_KEYS_MAX).map(|i| (format!("k{i}"), Some("v"))).collect();
        let result = check_metadata(many.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(result.map_err(|e| e.param), Err("metadata".into()));
    }
}
