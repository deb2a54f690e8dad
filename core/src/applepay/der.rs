//! Just enough ASN.1 to read an Apple Pay signature: BER as Apple writes its PKCS#7 envelope (indefinite
//! lengths on the outer layers) and DER inside it (the certificates, the signed attributes). Every read is
//! bounded by its input; nothing here can panic or loop on hostile bytes (the parser is fuzzed).

use super::TokenError;

/// Tags by their first octet (low-tag-number form only: all Apple Pay uses).
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const UTF8_STRING: u8 = 0x0C;
/// `[0]` and `[1]`, constructed, context-specific.
pub const CONTEXT_0: u8 = 0xA0;
pub const CONTEXT_1: u8 = 0xA1;
pub const CONTEXT_3: u8 = 0xA3;

/// Nesting deeper than this is refused (Apple's envelope is about ten deep).
const DEPTH_MAX: usize = 32;

/// One element: its tag, its content and the bytes of the whole element (header, content, end-of-contents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub whole: &'a [u8],
    /// Written with an indefinite length (BER): its content is a run of elements ended by `00 00`.
    pub indefinite: bool,
}

fn bad(what: &str) -> TokenError {
    TokenError::Signature(format!("malformed ASN.1: {what}"))
}

/// Reads the element at the start of `input`; the element and what follows it.
pub fn read(input: &[u8]) -> Result<(Element<'_>, &[u8]), TokenError> {
    read_at_depth(input, 0)
}

fn read_at_depth(input: &[u8], depth: usize) -> Result<(Element<'_>, &[u8]), TokenError> {
    if depth > DEPTH_MAX {
        return Err(bad("nested too deep"));
    }
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("an element is cut short"))?;
    if tag & 0x1F == 0x1F {
        return Err(bad("a high tag number"));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| bad("a length is missing"))?;
    if first == 0x80 {
        // Indefinite: only for constructed elements; the content runs to the end-of-contents octets.
        if tag & 0x20 == 0 {
            return Err(bad("an indefinite length on a primitive element"));
        }
        let mut cursor = rest;
        loop {
            if cursor.starts_with(&[0, 0]) {
                let content_len = rest.len() - cursor.len();
                let whole_len = input.len() - cursor.len() + 2;
                let element =
                    Element { tag, content: &rest[..content_len], whole: &input[..whole_len], indefinite: true };
                return Ok((element, &cursor[2..]));
            }
            let (_, next) = read_at_depth(cursor, depth + 1)?;
            cursor = next;
        }
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count > 4 || rest.len() < count {
            return Err(bad("a length that cannot be"));
        }
        let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return Err(bad("an element longer than its input"));
    }
    let header = input.len() - rest.len();
    let element = Element { tag, content: &rest[..len], whole: &input[..header + len], indefinite: false };
    Ok((element, &rest[len..]))
}

/// Reads one element that must have `tag`.
pub fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Element<'a>, &'a [u8]), TokenError> {
    let (element, rest) = read(input)?;
    if element.tag != tag {
        return Err(bad(&format!("{what}: tag {:#04x} where {tag:#04x} was expected", element.tag)));
    }
    Ok((element, rest))
}

/// The elements inside a constructed element, in order.
pub fn children<'a>(element: &Element<'a>) -> Result<Vec<Element<'a>>, TokenError> {
    let mut out = Vec::new();
    let mut cursor = element.content;
    while !cursor.is_empty() {
        let (child, next) = read(cursor)?;
        out.push(child);
        cursor = next;
        if out.len() > 4_096 {
            return Err(bad("too many elements"));
        }
    }
    Ok(out)
}

/// The element's children, at least `count` of them.
pub fn at_least<'a>(element: &Element<'a>, count: usize, what: &str) -> Result<Vec<Element<'a>>, TokenError> {
    let found = children(element)?;
    if found.len() < count {
        return Err(bad(&format!("{what} has {} parts where {count} were expected", found.len())));
    }
    Ok(found)
}

/// The dotted text of an OBJECT IDENTIFIER's content.
pub fn oid_text(content: &[u8]) -> Result<String, TokenError> {
    let (&first, rest) = content.split_first().ok_or_else(|| bad("an empty object identifier"))?;
    let mut parts = vec![u64::from(first / 40).min(2), u64::from(first) - 40 * u64::from(first / 40).min(2)];
    let mut value: u64 = 0;
    for &byte in rest {
        if value > (u64::MAX >> 7) {
            return Err(bad("an object identifier arc too large"));
        }
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            parts.push(value);
            value = 0;
        }
    }
    if content.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(bad("an object identifier cut short"));
    }
    Ok(parts.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// A BIT STRING's bytes (no unused bits allowed: keys and signatures are whole bytes).
pub fn bit_string<'a>(element: &Element<'a>) -> Result<&'a [u8], TokenError> {
    match element.content.split_first() {
        Some((0, bytes)) if element.tag == BIT_STRING => Ok(bytes),
        _ => Err(bad("a bit string with unused bits, or not a bit string")),
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as Unix seconds.
pub fn time(element: &Element<'_>) -> Result<i64, TokenError> {
    let text = std::str::from_utf8(element.content).map_err(|_| bad("a time that is not text"))?;
    let digits = text
        .strip_suffix('Z')
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("a time not in UTC"))?;
    let (year, rest) = match (element.tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().map_err(|_| bad("a time"))?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().map_err(|_| bad("a time"))?, &digits[4..]),
        _ => return Err(bad("a time of an unknown form")),
    };
    let field = |i: usize| rest[i..i + 2].parse::<u8>().map_err(|_| bad("a time"));
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(bad("a time out of range"));
    }
    Ok(crate::time::unix_seconds_of(year, month, day)
        + i64::from(hour) * 3_600
        + i64::from(minute) * 60
        + i64::from(second))
}

/// An ECDSA signature as DER `SEQUENCE { r INTEGER, s INTEGER }` → `r ‖ s`, each left-padded to `size` bytes
/// (the form WebCrypto and RustCrypto take).
pub fn ecdsa_raw(der: &[u8], size: usize) -> Result<Vec<u8>, TokenError> {
    let (sequence, rest) = expect(der, SEQUENCE, "ECDSA signature")?;
    if !rest.is_empty() {
        return Err(bad("bytes after the ECDSA signature"));
    }
    let parts = at_least(&sequence, 2, "ECDSA signature")?;
    let mut out = Vec::with_capacity(2 * size);
    for part in &parts[..2] {
        if part.tag != INTEGER {
            return Err(bad("an ECDSA signature part that is not an integer"));
        }
        let digits = match part.content {
            [0, rest @ ..] => rest,
            digits => digits,
        };
        if digits.len() > size || digits.is_empty() {
            return Err(bad("an ECDSA signature part too long for its curve"));
        }
        out.extend(std::iter::repeat_n(0, size - digits.len()));
        out.extend_from_slice(digits);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite_lengths_are_read_and_bounded() {
        let (element, rest) = read(&[0x30, 0x03, 0x02, 0x01, 0x05, 0xFF]).unwrap();
        assert_eq!((element.tag, element.content, rest), (0x30, &[0x02, 0x01, 0x05][..], &[0xFF][..]));
        let ber = [0x30, 0x80, 0x02, 0x01, 0x07, 0x00, 0x00, 0xAA];
        let (element, rest) = read(&ber).unwrap();
        assert!(element.indefinite);
        assert_eq!((element.content, element.whole.len(), rest), (&[0x02, 0x01, 0x07][..], 7, &[0xAA][..]));
        for bad in [
            &[0x30, 0x05, 0x00][..],
            &[0x30][..],
            &[0x30, 0x80, 0x02, 0x01][..],
            &[0x02, 0x80, 0, 0][..],
            &[0x30, 0x85, 1, 1, 1, 1, 1][..],
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30, 0x80], 100).flatten().collect();
        assert!(read(&deep).is_err());
    }

    #[test]
    fn object_identifiers_times_and_signatures_are_read() {
        assert_eq!(
            oid_text(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x63, 0x64, 0x06, 0x1D]).unwrap(),
            "1.2.840.113635.100.6.29"
        );
        assert!(oid_text(&[0x2A, 0x86]).is_err());
        let utc = Element { tag: UTC_TIME, content: b"210901190306Z", whole: &[], indefinite: false };
        assert_eq!(time(&utc).unwrap(), 1_630_522_986);
        let raw = ecdsa_raw(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01], 4).unwrap();
        assert_eq!(raw, [0, 0, 0, 0x80, 0, 0, 0, 1]);
    }
}
