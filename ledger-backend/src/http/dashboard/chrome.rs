//! What every signed-in page shares: the frame (navigation, the test/live switch, language, sign-out, the CSRF
//! token htmx sends), and the small formatting rules pages use (money in its currency's minor units, times).

use super::assets::{CSS, HTMX};
use super::i18n::{Labels, Lang};
use super::session::Signed;
use paygate_core::Mode;

/// The pages of the navigation, to mark the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Charges,
    Refunds,
    Balance,
    Webhooks,
    Reconciliation,
    ApiKeys,
    Audit,
    Team,
    Processors,
    ApplePay,
}

pub struct Chrome {
    pub t: &'static Labels,
    pub lang: Lang,
    pub csrf: String,
    pub email: String,
    pub merchant_name: String,
    pub test: bool,
    pub live_enabled: bool,
    pub nav: Nav,
    pub htmx_path: String,
    pub htmx_integrity: String,
    pub css_path: String,
    pub css_integrity: String,
}

impl Chrome {
    pub fn new(signed: &Signed, nav: Nav) -> Chrome {
        let session = &signed.session;
        Chrome {
            t: signed.lang.labels(),
            lang: signed.lang,
            csrf: session.csrf_token.clone(),
            email: session.email.clone(),
            merchant_name: session.merchant_name.clone(),
            test: session.mode == Mode::Test,
            live_enabled: session.live_enabled,
            nav,
            htmx_path: HTMX.path(),
            htmx_integrity: HTMX.integrity.clone(),
            css_path: CSS.path(),
            css_integrity: CSS.integrity.clone(),
        }
    }

    /// `aria-current` for the navigation link to `page` (`overview`, `charges`, `refunds`, `balance`,
    /// `webhooks`, `keys`).
    pub fn aria(&self, page: &str) -> &'static str {
        let current = match self.nav {
            Nav::Overview => "overview",
            Nav::Charges => "charges",
            Nav::Refunds => "refunds",
            Nav::Balance => "balance",
            Nav::Webhooks => "webhooks",
            Nav::Reconciliation => "reconciliation",
            Nav::ApiKeys => "keys",
            Nav::Audit => "audit",
            Nav::Team => "team",
            Nav::Processors => "processors",
            Nav::ApplePay => "apple-pay",
        };
        if page == current { "page" } else { "false" }
    }

    /// htmx sends these headers with every request it makes: the session's CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

/// The frame of the pages before sign-in.
pub struct Plain {
    pub t: &'static Labels,
    pub lang: Lang,
    pub htmx_path: String,
    pub htmx_integrity: String,
    pub css_path: String,
    pub css_integrity: String,
}

impl Plain {
    pub fn new(lang: Lang) -> Plain {
        Plain {
            t: lang.labels(),
            lang,
            htmx_path: HTMX.path(),
            htmx_integrity: HTMX.integrity.clone(),
            css_path: CSS.path(),
            css_integrity: CSS.integrity.clone(),
        }
    }
}

/// `minor` units of `currency` as a decimal with its code: `12.34 EUR`, `1,000 JPY` is `1000 JPY`.
pub fn money(minor: i64, currency: &str) -> String {
    let exponent = paygate_core::Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    let unit = 10u64.pow(u32::from(exponent));
    let text = match exponent {
        0 => magnitude.to_string(),
        e => format!("{}.{:0width$}", magnitude / unit, magnitude % unit, width = usize::from(e)),
    };
    format!("{sign}{text} {}", currency.to_uppercase())
}

/// A Unix time as people read it here: `2026-11-30 14:05 UTC`.
pub fn when(unix_seconds: i64) -> String {
    let text = paygate_core::time::rfc3339(unix_seconds);
    // `2026-11-30T14:05:09Z` → `2026-11-30 14:05 UTC`
    match (text.get(0..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_shown_in_its_currencys_exponent() {
        assert_eq!(money(1234, "EUR"), "12.34 EUR");
        assert_eq!(money(5, "usd"), "0.05 USD");
        assert_eq!(money(1000, "JPY"), "1000 JPY");
        assert_eq!(money(1234, "KWD"), "1.234 KWD");
        assert_eq!(money(-250, "EUR"), "-2.50 EUR");
        assert_eq!(money(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
    }

    #[test]
    fn times_read_as_minutes_in_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
