//! Routing: which processor account takes a payment. Per merchant and mode, an ordered list of rules
//! (conditions → account, first match wins) and a default. `candidates` answers every eligible account in
//! order of preference, the first being the decision and the rest failover, each with the rule that
//! chose it (`None` for the default). Pure: the caller says which accounts are enabled.

use crate::money::Currency;
use crate::payment_method::PaymentMethod;
use serde::{Deserialize, Serialize};

/// What a rule looks at. An empty list or an absent bound matches everything; all conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_methods: Vec<String>,
    /// ISO 4217 codes, upper case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub currencies: Vec<String>,
    /// Inclusive bounds in the payment currency's minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_max: Option<i64>,
    /// Card brands (`visa`, `mastercard`, `mada`, ...): matches when the card carries any of them, co-badges
    /// included. Never matches a payment whose card is not known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brands: Vec<String>,
    /// ISO 3166-1 alpha-2 codes of the issuing country: matches only where the country is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuing_countries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub conditions: Conditions,
    /// A processor account id (`pa_…`) of the same merchant and mode.
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingTable {
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Where a payment no rule matches goes; also the last failover.
    pub default: String,
}

/// The facts about a payment that rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub method: PaymentMethod,
    pub currency: Currency,
    pub amount: i64,
    /// The card's brands, co-badges included; empty when not known.
    pub brands: &'a [String],
    pub issuing_country: Option<&'a str>,
}

/// Whether a payment is a domestic Mada transaction: a card carrying the Mada brand (co-badged Visa or
/// Mastercard–Mada included) at a merchant in Saudi Arabia. Such a payment goes over Mada whatever the
/// front-of-card brand (SAMA circular 391000075005), as a sale: Mada has no separate authorization, no partial
/// capture and no void. Outside Saudi Arabia the same card is an ordinary Visa or Mastercard.
pub fn is_domestic_mada(merchant_country: Option<&str>, card_brands: &[String]) -> bool {
    merchant_country == Some("SA") && card_brands.iter().any(|b| b == "mada")
}

/// At most this many rules per table: a table people can still read.
pub const RULES_MAX: usize = 50;

/// Why a table cannot be stored, naming the field (`rules[2].conditions.currencies[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Conditions {
    pub fn matches(&self, payment: &Payment) -> bool {
        (self.payment_methods.is_empty() || self.payment_methods.iter().any(|m| m == payment.method.as_str()))
            && (self.currencies.is_empty() || self.currencies.iter().any(|c| c == payment.currency.code()))
            && self.amount_min.is_none_or(|min| payment.amount >= min)
            && self.amount_max.is_none_or(|max| payment.amount <= max)
            && (self.brands.is_empty() || self.brands.iter().any(|b| payment.brands.contains(b)))
            && (self.issuing_countries.is_empty()
                || payment.issuing_country.is_some_and(|c| self.issuing_countries.iter().any(|i| i == c)))
    }

    /// Whether matching needs the card (its brands or issuing country), which only the vault knows.
    pub fn needs_card(&self) -> bool {
        !self.brands.is_empty() || !self.issuing_countries.is_empty()
    }

    fn check(&self, at: &str) -> Result<(), Invalid> {
        let invalid = |field: String, reason: &str| Err(Invalid { field, reason: reason.to_owned() });
        for (i, method) in self.payment_methods.iter().enumerate() {
            if PaymentMethod::parse(method).is_none() {
                return invalid(format!("{at}.payment_methods[{i}]"), "is not a payment method");
            }
        }
        for (i, code) in self.currencies.iter().enumerate() {
            if Currency::parse(code).is_err() || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return invalid(format!("{at}.currencies[{i}]"), "is not an ISO 4217 currency code");
            }
        }
        for (i, brand) in self.brands.iter().enumerate() {
            if crate::card::Brand::parse(brand).is_none() {
                return invalid(format!("{at}.brands[{i}]"), "is not a card brand");
            }
        }
        for (i, country) in self.issuing_countries.iter().enumerate() {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return invalid(format!("{at}.issuing_countries[{i}]"), "is not an ISO 3166-1 alpha-2 country code");
            }
        }
        for (name, bound) in [("amount_min", self.amount_min), ("amount_max", self.amount_max)] {
            if bound.is_some_and(|b| !(0..=crate::money::AMOUNT_MINOR_MAX).contains(&b)) {
                return invalid(format!("{at}.{name}"), "must be a non-negative amount in minor units");
            }
        }
        if let (Some(min), Some(max)) = (self.amount_min, self.amount_max)
            && min > max
        {
            return invalid(format!("{at}.amount_max"), "must not be below amount_min");
        }
        Ok(())
    }
}

impl RoutingTable {
    /// Whether any rule looks at the card, so the vault must describe it before routing.
    pub fn needs_card(&self) -> bool {
        self.rules.iter().any(|r| r.conditions.needs_card())
    }

    /// The table's own rules: the size, each condition and each account's shape. Whether each account
    /// exists, is enabled and is in the table's mode is the caller's check (it needs the database).
    pub fn check(&self, account_ok: impl Fn(&str) -> bool) -> Result<(), Invalid> {
        if self.rules.len() > RULES_MAX {
            return Err(Invalid { field: "rules".into(), reason: format!("at most {RULES_MAX} rules") });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.conditions.check(&format!("rules[{i}].conditions"))?;
            if !account_ok(&rule.account) {
                return Err(Invalid {
                    field: format!("rules[{i}].account"),
                    reason: "is not an enabled processor account of this mode".into(),
                });
            }
        }
        if !account_ok(&self.default) {
            return Err(Invalid {
                field: "default".into(),
                reason: "is not an enabled processor account of this mode".into(),
            });
        }
        Ok(())
    }

    /// Every account that may take `payment`, in order: the matching rules' accounts, then the default;
    /// each once, only where `enabled` says so; with the rule that chose it (`None`: the default).
    pub fn candidates<'a>(
        &'a self,
        payment: &Payment,
        enabled: impl Fn(&str) -> bool,
    ) -> Vec<(Option<usize>, &'a str)> {
        let matching = self.rules.iter().enumerate().filter(|(_, r)| r.conditions.matches(payment));
        let mut out: Vec<(Option<usize>, &str)> = Vec::new();
        for (rule, account) in
            matching.map(|(i, r)| (Some(i), r.account.as_str())).chain([(None, self.default.as_str())])
        {
            if enabled(account) && !out.iter().any(|(_, a)| *a == account) {
                out.push((rule, account));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: i64) -> Payment<'static> {
        Payment {
            method: PaymentMethod::Card,
            currency: Currency::parse("USD").unwrap(),
            amount,
            brands: &[],
            issuing_country: None,
        }
    }

    #[test]
    fn a_mada_card_is_a_mada_transaction_only_at_a_saudi_merchant() {
        let co_badged = ["mada".to_owned(), "visa".to_owned()];
        assert!(is_domestic_mada(Some("SA"), &co_badged));
        assert!(!is_domestic_mada(Some("DE"), &co_badged));
        assert!(!is_domestic_mada(None, &co_badged));
        assert!(!is_domestic_mada(Some("SA"), &["visa".to_owned()]));
    }

    #[test]
    fn brand_and_country_rules_match_only_a_known_card() {
        let mada = Conditions { brands: vec!["mada".into()], ..Default::default() };
        let saudi = Conditions { issuing_countries: vec!["SA".into()], ..Default::default() };
        let co_badged = ["mada".to_owned(), "visa".to_owned()];
        let card = Payment { brands: &co_badged, issuing_country: Some("SA"), ..usd(100) };
        assert!(mada.matches(&card) && saudi.matches(&card));
        let visa = ["visa".to_owned()];
        let plain = Payment { brands: &visa, ..usd(100) };
        assert!(!mada.matches(&plain) && !saudi.matches(&plain));
        assert!(!mada.matches(&usd(100)), "an unknown card matches no brand rule");
        assert!(mada.needs_card() && !Conditions::default().needs_card());
        let mut bad = mada.clone();
        bad.brands.push("Visa".into());
        assert_eq!(bad.check("c").unwrap_err().field, "c.brands[1]");
        let bad = Conditions { issuing_countries: vec!["SAU".into()], ..Default::default() };
        assert_eq!(bad.check("c").unwrap_err().field, "c.issuing_countries[0]");
    }

    fn table() -> RoutingTable {
        RoutingTable {
            rules: vec![
                Rule {
                    conditions: Conditions { currencies: vec!["EUR".into()], ..Default::default() },
                    account: "pa_eur".into(),
                },
                Rule {
                    conditions: Conditions { amount_min: Some(10_000), ..Default::default() },
                    account: "pa_big".into(),
                },
                Rule {
                    conditions: Conditions { payment_methods: vec!["card".into()], ..Default::default() },
                    account: "pa_cards".into(),
                },
            ],
            default: "pa_default".into(),
        }
    }

    #[test]
    fn first_matching_rule_wins_and_the_rest_are_failover_in_order() {
        let all = |_: &str| true;
        let t = table();
        let picked = t.candidates(&usd(20_000), all);
        assert_eq!(picked, vec![(Some(1), "pa_big"), (Some(2), "pa_cards"), (None, "pa_default")]);
        let picked = t.candidates(&usd(500), all);
        assert_eq!(picked, vec![(Some(2), "pa_cards"), (None, "pa_default")]);
    }

    #[test]
    fn disabled_accounts_are_skipped_and_an_account_appears_once() {
        let mut t = table();
        t.default = "pa_cards".into();
        let picked = t.candidates(&usd(20_000), |a| a != "pa_big");
        assert_eq!(picked, vec![(Some(2), "pa_cards")]);
        assert!(t.candidates(&usd(1), |_| false).is_empty());
    }

    #[test]
    fn amount_bounds_are_inclusive() {
        let c = Conditions { amount_min: Some(100), amount_max: Some(200), ..Default::default() };
        assert!(c.matches(&usd(100)) && c.matches(&usd(200)));
        assert!(!c.matches(&usd(99)) && !c.matches(&usd(201)));
    }

    #[test]
    fn a_bad_table_names_its_field() {
        let mut t = table();
        t.rules[1].conditions.currencies = vec!["usd".into()];
        assert_eq!(t.check(|_| true).unwrap_err().field, "rules[1].conditions.currencies[0]");
        let mut t = table();
        t.rules[0].conditions.amount_min = Some(5);
        t.rules[0].conditions.amount_max = Some(4);
        assert_eq!(t.check(|_| true).unwrap_err().field, "rules[0].conditions.amount_max");
        let mut t = table();
        t.rules[2].conditions.payment_methods = vec!["cash".into()];
        assert_eq!(t.check(|_| true).unwrap_err().field, "rules[2].conditions.payment_methods[0]");
        assert_eq!(table().check(|a| a != "pa_default").unwrap_err().field, "default");
        assert_eq!(table().check(|a| a != "pa_big").unwrap_err().field, "rules[1].account");
        assert!(table().check(|_| true).is_ok());
    }
}
