//! Property tests over core's invariants: money arithmetic never leaves its range or mixes currencies,
//! decimal text round-trips in every currency, card parsing and formatting agree with each other and
//! never panic on any input, ids round-trip and sort by time, signatures break when anything changes.

use paygate_core::card::{
    Brand, CardNumber, Expiry, ascii_digits, backspace, backspace_expiry, detect_brands, format_expiry, format_number,
    luhn_valid,
};
use paygate_core::id::ChargeId;
use paygate_core::money::{AMOUNT_MINOR_MAX, Amount, Currency, Money, MoneyError};
use paygate_core::signature::webhook::{WebhookHeaders, WebhookSecret, verify};
use proptest::prelude::*;

fn currency() -> impl Strategy<Value = Currency> {
    let all: Vec<Currency> = Currency::all().collect();
    proptest::sample::select(all)
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![0..=1_000_000i64, 0..=AMOUNT_MINOR_MAX, Just(AMOUNT_MINOR_MAX)].prop_map(|m| Amount::new(m).unwrap())
}

/// A Luhn-valid number of `length` digits starting with `prefix`.
fn complete(prefix: &str, filler: &[u8], length: usize) -> String {
    let mut body: String = prefix.to_owned();
    body.extend(filler.iter().map(|d| char::from(b'0' + d % 10)));
    body.truncate(length - 1);
    (0..10).map(|d| format!("{body}{d}")).find(|n| luhn_valid(n)).unwrap()
}

fn branded_card() -> impl Strategy<Value = (Brand, String)> {
    let cases: Vec<(Brand, &str, usize)> = vec![
        (Brand::Visa, "4", 16),
        (Brand::Visa, "4", 13),
        (Brand::Visa, "4", 19),
        (Brand::Mastercard, "51", 16),
        (Brand::Mastercard, "2720", 16),
        (Brand::Amex, "37", 15),
        (Brand::Discover, "6011", 16),
        (Brand::Diners, "36", 14),
        (Brand::Jcb, "3530", 16),
        (Brand::UnionPay, "62", 19),
        (Brand::Maestro, "6759", 12),
        (Brand::Mada, "968208", 16),
    ];
    (proptest::sample::select(cases), proptest::collection::vec(0u8..10, 19))
        .prop_filter("filler must not turn Visa into Mada", |((brand, prefix, len), filler)| {
            let number = complete(prefix, filler, *len);
            *brand == Brand::Mada || !detect_brands(&number).mada
        })
        .prop_map(|((brand, prefix, len), filler)| (brand, complete(prefix, &filler, len)))
}

proptest! {
    #[test]
    fn addition_then_subtraction_returns_the_original(a in amount(), b in amount(), c in currency()) {
        let (x, y) = (Money::new(a, c), Money::new(b, c));
        match x.checked_add(y) {
            Ok(sum) => {
                prop_assert!(sum.amount.minor() <= AMOUNT_MINOR_MAX);
                prop_assert_eq!(sum.checked_sub(y), Ok(x));
            }
            Err(e) => {
                prop_assert_eq!(e, MoneyError::OutOfRange);
                prop_assert!(a.minor() + b.minor() > AMOUNT_MINOR_MAX);
            }
        }
        prop_assert_eq!(x.checked_sub(y).is_ok(), a >= b);
    }

    #[test]
    fn mixed_currencies_never_combine(a in amount(), b in amount(), c in currency(), d in currency()) {
        prop_assume!(c != d);
        let mismatch = Err(MoneyError::CurrencyMismatch { left: c, right: d });
        prop_assert_eq!(Money::new(a, c).checked_add(Money::new(b, d)), mismatch.clone());
        prop_assert_eq!(Money::new(a, c).checked_sub(Money::new(b, d)), mismatch);
    }

    #[test]
    fn decimal_text_round_trips_in_every_currency(a in amount(), c in currency()) {
        let text = a.to_decimal_string(c.exponent());
        prop_assert_eq!(Money::parse_decimal(&text, c).map(|m| m.amount), Ok(a));
        // One more digit of precision than the currency has is always refused.
        let too_precise = if c.exponent() == 0 { format!("{text}.5") } else { format!("{text}5") };
        prop_assert!(Money::parse_decimal(&too_precise, c).is_err(), "{} {}", too_precise, c);
    }

    #[test]
    fn decimal_parsing_never_panics(text in "\\PC{0,40}", c in currency()) {
        let _ = Money::parse_decimal(&text, c);
    }

    #[test]
    fn generated_cards_parse_to_their_brand((brand, number) in branded_card(), seps in proptest::collection::vec(0usize..4, 0..8)) {
        let card = CardNumber::parse(&number).unwrap();
        prop_assert_eq!(card.brand(), brand);
        // Separators anywhere do not change the card.
        let mut spaced = number.clone();
        for (i, s) in seps.iter().enumerate() {
            let at = (i * 3 + s) % spaced.len();
            spaced.insert(at, if *s % 2 == 0 { ' ' } else { '-' });
        }
        prop_assert_eq!(CardNumber::parse(&spaced).map(|c| c.expose_digits().to_owned()), Ok(number.clone()));
        // Any single changed digit breaks the Luhn check or the brand; it never yields the same card.
        let flipped: String = number.chars().enumerate()
            .map(|(i, ch)| if i == number.len() - 1 { char::from(b'0' + (ch as u8 - b'0' + 1) % 10) } else { ch })
            .collect();
        prop_assert!(CardNumber::parse(&flipped).is_err());
    }

    #[test]
    fn formatting_keeps_the_digits_and_a_sane_caret((_, number) in branded_card(), cut in 0usize..20) {
        let caret = cut.min(number.len());
        let formatted = format_number(&number, caret);
        let digits: String = formatted.text.chars().filter(char::is_ascii_digit).collect();
        prop_assert_eq!(&digits, &number);
        prop_assert!(formatted.caret <= formatted.text.len());
        let before: usize = formatted.text[..formatted.caret].chars().filter(char::is_ascii_digit).count();
        prop_assert_eq!(before, caret);
        // Formatting is idempotent: formatting the output again changes nothing.
        let again = format_number(&formatted.text, formatted.caret);
        prop_assert_eq!((&again.text, again.caret), (&formatted.text, formatted.caret));
        let after_backspace = backspace(&formatted.text, formatted.caret);
        let remaining = after_backspace.text.chars().filter(char::is_ascii_digit).count();
        prop_assert_eq!(remaining, number.len() - usize::from(caret > 0));
    }

    #[test]
    fn card_functions_never_panic(text in "\\PC{0,80}", caret in 0usize..100) {
        let _ = CardNumber::parse(&text);
        let _ = detect_brands(&text);
        let f = format_number(&text, caret);
        prop_assert!(f.caret <= f.text.len());
        let b = backspace(&text, caret);
        prop_assert!(b.caret <= b.text.len());
    }

    /// The expiry field takes whatever a person, a paste or autofill puts there: the answer is always
    /// `MM`, `MM / ` or `MM / YY`-shaped ASCII with the caret inside it, and reformatting it changes nothing.
    #[test]
    fn expiry_formatting_never_panics_and_is_stable(text in "\\PC{0,40}", caret in 0usize..50, deleting: bool) {
        let text = ascii_digits(&text);
        for f in [format_expiry(&text, caret, deleting), backspace_expiry(&text, caret)] {
            prop_assert!(f.caret <= f.text.len(), "caret {} past {:?}", f.caret, f.text);
            prop_assert!(f.text.len() <= "MM / YY".len(), "{:?}", f.text);
            prop_assert!(f.text.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'/'), "{:?}", f.text);
            let again = format_expiry(&f.text, f.caret, false);
            if f.text.len() == "MM / YY".len() {
                prop_assert_eq!(&again.text, &f.text);
                // A whole text is what `Expiry::parse` reads, whatever its validity.
                let _ = Expiry::parse(&f.text);
            }
        }
    }

    #[test]
    fn ascii_digits_keeps_every_character_count(text in "\\PC{0,40}") {
        let converted = ascii_digits(&text);
        prop_assert_eq!(converted.chars().count(), text.chars().count());
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
        prop_assert!(digits(&converted) >= digits(&text));
    }

    #[test]
    fn ids_round_trip_and_sort_by_time(ms in 0u64..(1 << 48), random: [u8; 10], later in 1u64..1_000_000) {
        let id = ChargeId::new(ms, random);
        prop_assert_eq!(ChargeId::parse(&id.to_string()), Ok(id));
        prop_assert_eq!(id.unix_ms(), ms);
        prop_assume!(ms + later < (1 << 48));
        let next = ChargeId::new(ms + later, [0; 10]);
        prop_assert!(id.to_string() < next.to_string());
    }

    #[test]
    fn a_changed_byte_breaks_the_webhook_signature(key: [u8; 32], body in proptest::collection::vec(any::<u8>(), 1..200), at: usize, ts in 0i64..4_000_000_000) {
        let secret = WebhookSecret::from_random(key);
        let sig = secret.sign("evt_1", ts, &body);
        let stamp = ts.to_string();
        let headers = WebhookHeaders { id: "evt_1", timestamp: &stamp, signature: &sig };
        prop_assert!(verify(&secret, &headers, &body, ts).is_ok());
        let mut tampered = body.clone();
        let i = at % tampered.len();
        tampered[i] ^= 0x01;
        prop_assert!(verify(&secret, &headers, &tampered, ts).is_err());
    }
}

mod lifecycle {
    //! Random action sequences on one charge, each applied through the state machine and, when it is
    //! allowed, booked through the posting rules: the charge's amounts and the ledger must agree at
    //! every step, and every journal transaction must balance.

    use paygate_core::charge::{ChargeAction, ChargeAmounts, ChargeStatus, transition};
    use paygate_core::ledger::{AccountKind, LedgerEvent, Pricing, is_balanced, postings};
    use paygate_core::money::Amount;
    use proptest::prelude::*;

    fn action() -> impl Strategy<Value = ChargeAction> {
        let amount = || (0i64..5_000).prop_map(|m| Amount::new(m).unwrap());
        prop_oneof![
            amount().prop_map(|amount| ChargeAction::Authorize { amount }),
            Just(ChargeAction::Fail),
            Just(ChargeAction::RequireAction),
            amount().prop_map(|amount| ChargeAction::Capture { amount }),
            Just(ChargeAction::Void),
            Just(ChargeAction::Expire),
            amount().prop_map(|amount| ChargeAction::Refund { amount }),
            amount().prop_map(|amount| ChargeAction::RevertRefund { amount }),
        ]
    }

    fn ledger_event(
        before: ChargeAmounts,
        after: ChargeAmounts,
        action: ChargeAction,
        pricing: Pricing,
    ) -> Option<LedgerEvent> {
        Some(match action {
            ChargeAction::Authorize { amount } => LedgerEvent::Authorized { amount },
            ChargeAction::Capture { amount } => LedgerEvent::Captured {
                authorized: before.authorized,
                captured: amount,
                fee: pricing.fee(after.captured),
            },
            ChargeAction::Void | ChargeAction::Expire => LedgerEvent::Released { authorized: before.authorized },
            ChargeAction::Refund { amount } => LedgerEvent::Refunded { amount },
            ChargeAction::RevertRefund { amount } => LedgerEvent::RefundReverted { amount },
            // Waiting for the cardholder's authentication moves no money.
            ChargeAction::Fail | ChargeAction::RequireAction => return None,
        })
    }

    proptest! {
        #[test]
        fn charge_amounts_and_ledger_balances_agree(
            actions in proptest::collection::vec(action(), 1..40),
            bps in 0u16..=10_000,
            fixed in 0i64..100,
        ) {
            let pricing = Pricing::new(bps, Amount::new(fixed).unwrap()).unwrap();
            let (mut status, mut amounts) = (ChargeStatus::Pending, ChargeAmounts::default());
            let mut journal = Vec::new();
            for action in actions {
                let Ok((next, after)) = transition(status, amounts, action) else { continue };
                if let Some(event) = ledger_event(amounts, after, action, pricing) {
                    let lines = postings(event).unwrap();
                    prop_assert!(is_balanced(&lines));
                    journal.extend(lines);
                }
                (status, amounts) = (next, after);
                prop_assert!(amounts.refunded <= amounts.captured && amounts.captured <= amounts.authorized);
                let balance = |k: AccountKind| journal.iter().filter(|l| l.account == k).map(|l| l.amount_minor).sum::<i64>();
                let fee = if amounts.captured.is_zero() { 0 } else { pricing.fee(amounts.captured).minor() };
                let hold = if status == ChargeStatus::Authorized { amounts.authorized.minor() } else { 0 };
                prop_assert_eq!(balance(AccountKind::AuthorizationReceivable), hold);
                prop_assert_eq!(balance(AccountKind::ProcessorReceivable), amounts.captured.minor() - amounts.refunded.minor());
                prop_assert_eq!(balance(AccountKind::MerchantPending), -(amounts.captured.minor() - fee - amounts.refunded.minor()));
                prop_assert_eq!(balance(AccountKind::FeeRevenue), -fee);
            }
            prop_assert!(is_balanced(&journal));
        }
    }
}
