//! The sandbox's test cards. Any other Luhn-valid number is approved; the listed ones trigger each
//! outcome a connector must handle. Documented in README.md ("Test cards").

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Approve,
    /// Declined with this network-style code.
    Decline(&'static str),
    /// The acquirer fails with a 500: neither approved nor declined.
    ProcessingError,
    /// Approved, but only after `SLOW_ANSWER_MS`: longer than a connector's timeout.
    Slow,
    /// Approved and capturable, but every refund of it is refused (`refund_declined`).
    RefundsFail,
    /// 3-D Secure with a challenge: `requires_action` and the sandbox's authentication page, where the shopper
    /// approves, fails or abandons it. Without a `return_url` the issuer's demand cannot be met: declined
    /// `authentication_required`.
    Challenge,
    /// 3-D Secure without a challenge (frictionless): authenticated by the issuer on its own, approved at once.
    Frictionless,
}

/// (number, behaviour, what it is for).
pub const TEST_CARDS: &[(&str, Behaviour, &str)] = &[
    ("4242424242424242", Behaviour::Approve, "success (Visa)"),
    ("5555555555554444", Behaviour::Approve, "success (Mastercard)"),
    ("378282246310005", Behaviour::Approve, "success (Amex)"),
    ("4464040000000007", Behaviour::Approve, "success (Mada co-badged Visa)"),
    ("4000000000000002", Behaviour::Decline("generic_decline"), "generic decline"),
    ("4000000000009995", Behaviour::Decline("insufficient_funds"), "insufficient funds"),
    ("4000000000000069", Behaviour::Decline("expired_card"), "expired card"),
    ("4000000000000127", Behaviour::Decline("incorrect_cvc"), "incorrect CVC"),
    ("4000000000000119", Behaviour::ProcessingError, "processing error (HTTP 500)"),
    ("4000000000006975", Behaviour::Slow, "slow answer (times out the connector)"),
    ("4000000000005126", Behaviour::RefundsFail, "approved; every refund is refused"),
    ("4000000000003220", Behaviour::Challenge, "3-D Secure challenge (approve, fail or abandon it)"),
    ("4000000000003055", Behaviour::Frictionless, "3-D Secure, frictionless (approved without a challenge)"),
];

pub fn behaviour_of(number: &str) -> Behaviour {
    TEST_CARDS.iter().find(|(n, _, _)| *n == number).map(|(_, b, _)| *b).unwrap_or(Behaviour::Approve)
}
