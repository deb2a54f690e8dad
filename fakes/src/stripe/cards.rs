//! Stripe's documented test cards (docs.stripe.com/testing) and what each does when confirmed. Any other
//! number that passes the Luhn check succeeds, as on Stripe in test mode.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    Succeeds,
    /// 402 `card_error` with this `code` and, for `card_declined`, this `decline_code`.
    Declined {
        code: &'static str,
        decline_code: Option<&'static str>,
    },
    /// The issuer wants 3-D Secure: the PaymentIntent stops in `requires_action`.
    RequiresAction,
}

/// (number, outcome).
pub const TEST_CARDS: &[(&str, CardOutcome)] = &[
    ("4242424242424242", CardOutcome::Succeeds),
    ("5555555555554444", CardOutcome::Succeeds),
    ("378282246310005", CardOutcome::Succeeds),
    ("4000000000000077", CardOutcome::Succeeds),
    ("4000000000000002", CardOutcome::Declined { code: "card_declined", decline_code: Some("generic_decline") }),
    ("4000000000009995", CardOutcome::Declined { code: "card_declined", decline_code: Some("insufficient_funds") }),
    ("4000000000009987", CardOutcome::Declined { code: "card_declined", decline_code: Some("lost_card") }),
    ("4000000000009979", CardOutcome::Declined { code: "card_declined", decline_code: Some("stolen_card") }),
    ("4000000000000069", CardOutcome::Declined { code: "expired_card", decline_code: None }),
    ("4000000000000127", CardOutcome::Declined { code: "incorrect_cvc", decline_code: None }),
    ("4000000000000119", CardOutcome::Declined { code: "processing_error", decline_code: None }),
    ("4000000000003220", CardOutcome::RequiresAction),
    // 3-D Secure 2 supported, authenticated without a challenge ("frictionless").
    ("4000000000003055", CardOutcome::Succeeds),
];

pub fn outcome_of(number: &str) -> CardOutcome {
    TEST_CARDS.iter().find(|(n, _)| *n == number).map(|(_, o)| *o).unwrap_or(CardOutcome::Succeeds)
}

/// The message Stripe gives each card error code.
pub fn message_of(code: &str) -> &'static str {
    match code {
        "expired_card" => "Your card has expired.",
        "incorrect_cvc" => "Your card's security code is incorrect.",
        "processing_error" => "An error occurred while processing your card. Try again in a little bit.",
        "incorrect_number" => "Your card number is incorrect.",
        "invalid_expiry_month" => "Your card's expiration month is invalid.",
        "invalid_expiry_year" => "Your card's expiration year is invalid.",
        _ => "Your card was declined.",
    }
}

pub fn luhn_valid(number: &str) -> bool {
    if number.len() < 12 || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}
