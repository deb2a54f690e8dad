//! Brand detection from the leading digits (IIN/BIN ranges), as published by the schemes and as used by
//! the major processors' SDKs. Ranges here do not overlap, so a full number maps to at most one network;
//! Mada is a second layer: a Mada BIN reports Mada, plus Visa or Mastercard when it is co-badged.
//!
//! While a person types, a prefix can still match several ranges ("3" could be Amex, Diners or JCB);
//! detection then answers no network until the digits decide.

use super::mada_bins::MADA_BINS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Diners,
    Jcb,
    #[serde(rename = "unionpay")]
    UnionPay,
    Maestro,
    Mada,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Diners => "diners",
            Brand::Jcb => "jcb",
            Brand::UnionPay => "unionpay",
            Brand::Maestro => "maestro",
            Brand::Mada => "mada",
        }
    }

    pub const ALL: &'static [Brand] = &[
        Brand::Visa,
        Brand::Mastercard,
        Brand::Amex,
        Brand::Discover,
        Brand::Diners,
        Brand::Jcb,
        Brand::UnionPay,
        Brand::Maestro,
        Brand::Mada,
    ];

    pub fn parse(text: &str) -> Option<Brand> {
        Brand::ALL.iter().copied().find(|b| b.as_str() == text)
    }

    /// Allowed PAN lengths in digits.
    pub fn lengths(self) -> &'static [u8] {
        match self {
            Brand::Visa => &[13, 16, 19],
            Brand::Mastercard => &[16],
            Brand::Amex => &[15],
            Brand::Discover | Brand::Jcb | Brand::UnionPay | Brand::Mada => &[16, 17, 18, 19],
            Brand::Diners => &[14, 15, 16, 17, 18, 19],
            Brand::Maestro => &[12, 13, 14, 15, 16, 17, 18, 19],
        }
    }

    /// Allowed CVC lengths. Maestro cards may have no CVC at all (0).
    pub fn cvc_lengths(self) -> &'static [u8] {
        match self {
            Brand::Amex => &[4],
            Brand::Maestro => &[0, 3],
            _ => &[3],
        }
    }

    /// Digit groups for display: Amex 4-6-5, 14-digit Diners 4-6-4, everything else groups of four.
    pub fn groups(self, length: usize) -> &'static [u8] {
        match (self, length) {
            (Brand::Amex, _) => &[4, 6, 5],
            (Brand::Diners, 14) => &[4, 6, 4],
            _ => &[4, 4, 4, 4, 4],
        }
    }
}

/// What the leading digits say about a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Brands {
    /// The card network by IIN range, if the digits decide it.
    pub network: Option<Brand>,
    /// True when the BIN is on the Mada list.
    pub mada: bool,
}

impl Brands {
    /// The brand to show and route by: Mada for any Mada card, else the network.
    pub fn primary(self) -> Option<Brand> {
        if self.mada { Some(Brand::Mada) } else { self.network }
    }

    /// Every brand the card carries, primary first: `[Mada, Visa]` for a co-badged Mada card.
    pub fn all(self) -> impl Iterator<Item = Brand> {
        let co_badge = if self.mada { self.network } else { None };
        self.primary().into_iter().chain(co_badge)
    }
}

/// An IIN range over the first `digits` digits of the number, inclusive at both ends.
struct Range {
    low: u32,
    high: u32,
    digits: u8,
    brand: Brand,
}

const fn range(low: u32, high: u32, digits: u8, brand: Brand) -> Range {
    Range { low, high, digits, brand }
}

/// Non-overlapping ranges. Discover's co-branded UnionPay block 622126–622925 is left to UnionPay,
/// whose cards they are; Maestro keeps its classic ranges rather than "anything starting with 6".
static RANGES: &[Range] = &[
    range(4, 4, 1, Brand::Visa),
    range(51, 55, 2, Brand::Mastercard),
    range(2221, 2720, 4, Brand::Mastercard),
    range(34, 34, 2, Brand::Amex),
    range(37, 37, 2, Brand::Amex),
    range(6011, 6011, 4, Brand::Discover),
    range(644, 649, 3, Brand::Discover),
    range(65, 65, 2, Brand::Discover),
    range(300, 305, 3, Brand::Diners),
    range(3095, 3095, 4, Brand::Diners),
    range(36, 36, 2, Brand::Diners),
    range(38, 39, 2, Brand::Diners),
    range(3528, 3589, 4, Brand::Jcb),
    range(62, 62, 2, Brand::UnionPay),
    range(81, 81, 2, Brand::UnionPay),
    range(50, 50, 2, Brand::Maestro),
    range(56, 58, 2, Brand::Maestro),
    range(6304, 6304, 4, Brand::Maestro),
    range(639, 639, 3, Brand::Maestro),
    range(67, 67, 2, Brand::Maestro),
];

/// Detects brands from digits typed so far (ASCII digits; anything else yields nothing).
pub fn detect_brands(digits: &str) -> Brands {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Brands::default();
    }
    let mut network = None;
    for range in RANGES {
        if prefix_may_match(digits, range) {
            if network.is_some_and(|b| b != range.brand) {
                // Still ambiguous: wait for more digits.
                network = None;
                break;
            }
            network = Some(range.brand);
        }
    }
    let mada = is_mada(digits);
    // A Mada card is co-badged only with the international schemes that issue Mada cards.
    let network = if mada { network.filter(|b| matches!(b, Brand::Visa | Brand::Mastercard)) } else { network };
    Brands { network, mada }
}

/// True when some number starting with `digits` falls in `range`.
fn prefix_may_match(digits: &str, range: &Range) -> bool {
    let width = usize::from(range.digits);
    let taken = digits.len().min(width);
    let prefix: u32 = digits[..taken].parse().unwrap_or(0);
    // Widen the typed prefix to the range's width: "2" covers 2000..=2999 for a four-digit range.
    let scale = 10u32.pow((width - taken) as u32);
    let low = prefix * scale;
    let high = low + scale - 1;
    low <= range.high && high >= range.low
}

fn is_mada(digits: &str) -> bool {
    // BINs are 6 or 8 digits; a 6-digit listing covers every 8-digit extension.
    [6usize, 8].iter().any(|&len| digits.len() >= len && MADA_BINS.binary_search(&&digits[..len]).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_decide_only_when_unambiguous() {
        assert_eq!(detect_brands("4").network, Some(Brand::Visa));
        assert_eq!(detect_brands("3").network, None);
        assert_eq!(detect_brands("34").network, Some(Brand::Amex));
        // Only Mastercard has a range starting with 2; nothing starts with 1.
        assert_eq!(detect_brands("2").network, Some(Brand::Mastercard));
        assert_eq!(detect_brands("1").network, None);
        assert_eq!(detect_brands("22").network, Some(Brand::Mastercard));
        assert_eq!(detect_brands("2220").network, None);
        assert_eq!(detect_brands("2720").network, Some(Brand::Mastercard));
        assert_eq!(detect_brands("2721").network, None);
        assert_eq!(detect_brands("35").network, Some(Brand::Jcb));
        assert_eq!(detect_brands("3527").network, None);
        assert_eq!(detect_brands("").network, None);
        assert_eq!(detect_brands("4x").network, None);
    }

    #[test]
    fn mada_co_badge_reports_both_brands() {
        let visa_mada = detect_brands("446404");
        assert_eq!(visa_mada.all().collect::<Vec<_>>(), vec![Brand::Mada, Brand::Visa]);
        let local_only = detect_brands("968208");
        assert_eq!(local_only.all().collect::<Vec<_>>(), vec![Brand::Mada]);
        // 588845 sits in a Maestro range but is a Mada-only card: no Maestro co-badge.
        assert_eq!(detect_brands("588845").all().collect::<Vec<_>>(), vec![Brand::Mada]);
        // Five digits cannot yet be a Mada BIN.
        assert!(!detect_brands("44640").mada);
    }
}
