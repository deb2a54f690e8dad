//! The decline vocabulary. Every connector maps its processor's reason for refusing a card to one of these;
//! the code is the charge's `failure_code` (the processor's own code is kept beside it), the API words it
//! with `message`, and the card form explains it to the shopper. Codes follow the names shops already know
//! from Stripe's decline codes (docs.stripe.com/declines/codes), so a shop's existing handling carries over.

macro_rules! decline_codes {
    ($($(#[$doc:meta])* $variant:ident = ($code:literal, $message:literal);)*) => {
        /// Why a card was refused, normalized across processors.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DeclineCode { $($(#[$doc])* $variant,)* }

        impl DeclineCode {
            pub const ALL: &'static [DeclineCode] = &[$(DeclineCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(DeclineCode::$variant => $code,)* }
            }

            /// One of our codes, or `None` (a processor's own code is mapped by its connector instead).
            pub fn parse(text: &str) -> Option<DeclineCode> {
                match text { $($code => Some(DeclineCode::$variant),)* _ => None }
            }

            /// The charge's `failure_message`: for the merchant, never blaming the shopper for our errors.
            pub fn message(self) -> &'static str {
                match self { $(DeclineCode::$variant => $message,)* }
            }
        }
    };
}

decline_codes! {
    /// The issuer declined without saying why (also every processor code we do not know).
    GenericDecline = ("generic_decline", "The card was declined");
    InsufficientFunds = ("insufficient_funds", "The card has insufficient funds");
    ExpiredCard = ("expired_card", "The card has expired");
    IncorrectCvc = ("incorrect_cvc", "The card's security code is incorrect");
    IncorrectNumber = ("incorrect_number", "The card number is incorrect");
    LostCard = ("lost_card", "The card was declined");
    StolenCard = ("stolen_card", "The card was declined");
    PickupCard = ("pickup_card", "The card was declined");
    DoNotHonor = ("do_not_honor", "The card was declined");
    Fraudulent = ("fraudulent", "The card was declined");
    RestrictedCard = ("restricted_card", "The card was declined");
    TransactionNotAllowed = ("transaction_not_allowed", "The card does not allow this kind of purchase");
    CardNotSupported = ("card_not_supported", "The card does not support this kind of purchase");
    CurrencyNotSupported = ("currency_not_supported", "The card does not support this currency");
    CardVelocityExceeded = ("card_velocity_exceeded", "The card has exceeded its limit");
    CallIssuer = ("call_issuer", "The card was declined; the cardholder should call their bank");
    TryAgainLater = ("try_again_later", "The card was declined for now; a later attempt may succeed");
    /// The issuer wants the cardholder to authenticate (3-D Secure).
    AuthenticationRequired = ("authentication_required", "The card needs the cardholder's authentication");
    /// The cardholder failed the authentication the issuer asked for (a wrong code, a refusal in the bank's app).
    AuthenticationFailed = ("authentication_failed", "The cardholder's authentication failed");
    /// The authentication was never completed: the charge waited for it, then failed.
    AuthenticationAbandoned = ("authentication_abandoned", "The cardholder did not complete the authentication in time");
    /// The processor could not process the card (an error on its side, not the issuer's refusal).
    ProcessingError = ("processing_error", "The processor could not process the card");
    /// The processor account refused the request as set up (e.g. Stripe without raw card data access): the
    /// merchant's configuration, not the card, is at fault. The processor account records the problem.
    ProcessorMisconfigured = ("processor_misconfigured", "The processor account is not set up to take this payment");
    /// The token was already used, has expired or does not exist.
    TokenUsed = ("token_used", "The token was already used, has expired or does not exist");
}

impl DeclineCode {
    /// Stripe's `decline_code` (or, for `card_error`s without one, its error `code`) as ours. Codes Stripe
    /// may add later are generic declines, never a success or a crash; the raw code is kept by the caller.
    pub fn from_stripe(code: &str) -> DeclineCode {
        match code {
            "card_declined"
            | "generic_decline"
            | "no_action_taken"
            | "not_permitted"
            | "revocation_of_authorization"
            | "revocation_of_all_authorizations"
            | "security_violation"
            | "service_not_allowed"
            | "stop_payment_order"
            | "new_account_information_available"
            | "reenter_transaction"
            | "invalid_account"
            | "invalid_amount"
            | "approve_with_id"
            | "issuer_not_available"
            | "duplicate_transaction"
            | "withdrawal_count_limit_exceeded"
            | "merchant_blacklist" => DeclineCode::GenericDecline,
            "incorrect_zip"
            | "invalid_pin"
            | "offline_pin_required"
            | "online_or_offline_pin_required"
            | "pin_try_exceeded"
            | "testmode_decline" => DeclineCode::GenericDecline,
            "invalid_cvc" => DeclineCode::IncorrectCvc,
            "invalid_number" => DeclineCode::IncorrectNumber,
            "invalid_expiry_month" | "invalid_expiry_year" => DeclineCode::ExpiredCard,
            "authentication_not_handled" => DeclineCode::AuthenticationRequired,
            // The PaymentIntent's error after a failed 3-D Secure challenge.
            "payment_intent_authentication_failure" => DeclineCode::AuthenticationFailed,
            other => DeclineCode::parse(other).unwrap_or(DeclineCode::GenericDecline),
        }
    }

    /// Checkout.com's `response_code` (checkout.com/docs/resources/codes/api-response-codes: 20xxx soft
    /// declines, 30xxx hard declines, 40xxx risk, 50xxx Checkout.com's own) as ours. Codes without a closer
    /// match are generic declines; the raw code is kept by the caller.
    pub fn from_checkout(code: &str) -> DeclineCode {
        match code {
            "20005" | "20001" | "20002" => DeclineCode::DoNotHonor,
            "20012" | "20057" | "20058" => DeclineCode::TransactionNotAllowed,
            "20014" | "30014" => DeclineCode::IncorrectNumber,
            "20051" => DeclineCode::InsufficientFunds,
            "20054" | "30033" | "30054" => DeclineCode::ExpiredCard,
            "20059" | "30034" => DeclineCode::Fraudulent,
            "20061" | "20065" => DeclineCode::CardVelocityExceeded,
            "20062" | "30036" => DeclineCode::RestrictedCard,
            "20082" | "20087" => DeclineCode::IncorrectCvc,
            "20091" | "20096" => DeclineCode::TryAgainLater,
            "30004" | "30007" => DeclineCode::PickupCard,
            "30041" => DeclineCode::LostCard,
            "30043" => DeclineCode::StolenCard,
            "20150" | "20154" => DeclineCode::AuthenticationRequired,
            code if code.starts_with('4') => DeclineCode::Fraudulent,
            code if code.starts_with('5') => DeclineCode::ProcessingError,
            _ => DeclineCode::GenericDecline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_to_itself_and_has_a_message() {
        for code in DeclineCode::ALL {
            assert_eq!(DeclineCode::parse(code.as_str()), Some(*code));
            assert!(!code.message().is_empty());
        }
        assert_eq!(DeclineCode::parse("approved"), None);
    }

    #[test]
    fn checkout_codes_map_to_ours() {
        for (checkout, ours) in [
            ("20051", DeclineCode::InsufficientFunds),
            ("20005", DeclineCode::DoNotHonor),
            ("20054", DeclineCode::ExpiredCard),
            ("30041", DeclineCode::LostCard),
            ("40101", DeclineCode::Fraudulent),
            ("50001", DeclineCode::ProcessingError),
            ("20999", DeclineCode::GenericDecline),
        ] {
            assert_eq!(DeclineCode::from_checkout(checkout), ours, "{checkout}");
        }
    }

    #[test]
    fn stripe_codes_map_to_ours_and_unknown_ones_are_generic_declines() {
        for (stripe, ours) in [
            ("insufficient_funds", DeclineCode::InsufficientFunds),
            ("card_declined", DeclineCode::GenericDecline),
            ("lost_card", DeclineCode::LostCard),
            ("stolen_card", DeclineCode::StolenCard),
            ("expired_card", DeclineCode::ExpiredCard),
            ("incorrect_cvc", DeclineCode::IncorrectCvc),
            ("invalid_cvc", DeclineCode::IncorrectCvc),
            ("processing_error", DeclineCode::ProcessingError),
            ("authentication_required", DeclineCode::AuthenticationRequired),
            ("a_code_stripe_adds_next_year", DeclineCode::GenericDecline),
            ("", DeclineCode::GenericDecline),
        ] {
            assert_eq!(DeclineCode::from_stripe(stripe), ours, "{stripe}");
        }
    }
}
