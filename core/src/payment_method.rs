//! How a shopper pays, as a type end to end (request, routing, charge, wire): a card, or a device card from Apple
//! Pay (a network token with a one-time cryptogram, opened in the edge vault).

/// The kind of payment instrument behind a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    Card,
    ApplePay,
}

impl PaymentMethod {
    pub const ALL: &'static [PaymentMethod] = &[PaymentMethod::Card, PaymentMethod::ApplePay];

    /// Its one spelling, on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::ApplePay => "apple_pay",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.iter().copied().find(|m| m.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_back_from_its_spelling() {
        for method in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(method.as_str()), Some(*method));
        }
        assert_eq!(PaymentMethod::parse("Card"), None);
        assert_eq!(PaymentMethod::parse(""), None);
    }
}
