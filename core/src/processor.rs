//! The processors Paygate can route to, by the one name the backend (connectors, processor accounts), the
//! edge (the vault-forward allow-list) and the API agree on.

use crate::api_key::Mode;

/// A connector: the code that speaks one processor's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    /// Paygate's own sandbox acquirer: test mode only, every test-mode merchant's default account.
    Sandbox,
    /// Stripe's PaymentIntents API.
    Stripe,
    /// Checkout.com's Unified Payments API.
    Checkout,
}

impl ConnectorKind {
    pub const ALL: &'static [ConnectorKind] = &[ConnectorKind::Sandbox, ConnectorKind::Stripe, ConnectorKind::Checkout];

    /// Whether the connector can send a payment made with `method`. Every one takes cards and Apple Pay's device
    /// cards (a network token with its cryptogram); a Stripe account must have network tokens enabled by Stripe,
    /// which only its answer tells (the account then shows the problem).
    pub fn takes(self, method: crate::payment_method::PaymentMethod) -> bool {
        use crate::payment_method::PaymentMethod;
        match method {
            PaymentMethod::Card | PaymentMethod::ApplePay => true,
        }
    }

    /// Whether an answer with `status` is one the processor documents as "not processed": the request was
    /// refused before anything happened, so the same payment may go to the next account (failover) exactly as
    /// when the connection never opened. Stripe and Checkout.com: 429, rate-limited before processing.
    pub fn answered_unprocessed(self, status: u16) -> bool {
        match self {
            ConnectorKind::Stripe | ConnectorKind::Checkout => status == 429,
            ConnectorKind::Sandbox => false,
        }
    }

    /// Its one spelling: the API's `connector`, the database's, and the vault-forward `destination`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Sandbox => "sandbox",
            ConnectorKind::Stripe => "stripe",
            ConnectorKind::Checkout => "checkout",
        }
    }

    pub fn parse(text: &str) -> Option<ConnectorKind> {
        ConnectorKind::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// Whether accounts of this connector may exist in `mode`: the sandbox moves no real money, so never live.
    pub fn allowed_in(self, mode: Mode) -> bool {
        match self {
            ConnectorKind::Sandbox => mode == Mode::Test,
            ConnectorKind::Stripe | ConnectorKind::Checkout => true,
        }
    }

    /// Whether a merchant creates accounts of this connector through the API (the sandbox account is made
    /// for every merchant, never by hand).
    pub fn merchant_created(self) -> bool {
        !matches!(self, ConnectorKind::Sandbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_sandbox_is_test_only() {
        for kind in ConnectorKind::ALL {
            assert_eq!(ConnectorKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(ConnectorKind::parse("Stripe"), None);
        assert!(!ConnectorKind::Sandbox.allowed_in(Mode::Live));
        assert!(ConnectorKind::Sandbox.allowed_in(Mode::Test));
        assert!(ConnectorKind::Stripe.allowed_in(Mode::Live));
        assert!(!ConnectorKind::Sandbox.merchant_created());
    }
}
