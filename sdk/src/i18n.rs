//! The message catalogue: every text the element shows, in English and Arabic. Adding a language is one
//! more column here; nothing else in the element holds display text.

/// The element's languages. Arabic also turns the layout right-to-left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Ar,
}

impl Locale {
    /// `ar`, `ar-SA`... are Arabic; anything else falls back to English.
    pub fn parse(tag: &str) -> Locale {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ar") { Locale::Ar } else { Locale::En }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ar => "ar",
        }
    }

    pub fn direction(self) -> &'static str {
        match self {
            Locale::En => "ltr",
            Locale::Ar => "rtl",
        }
    }
}

/// Every text in the catalogue. Error texts carry the stable `code` the page receives with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    FormLabel,
    NumberLabel,
    ExpiryLabel,
    CvcLabel,
    PostalLabel,
    NumberPlaceholder,
    ExpiryPlaceholder,
    CvcPlaceholder,
    PostalPlaceholder,
    IncompleteNumber,
    InvalidNumber,
    UnsupportedBrand,
    IncompleteExpiry,
    InvalidExpiryMonth,
    InvalidExpiryYear,
    ExpiryInPast,
    IncompleteCvc,
    IncompletePostalCode,
    InvalidName,
    CardDeclined,
    InsufficientFunds,
    IncorrectCvc,
    ExpiredCard,
    AuthenticationFailed,
    ProcessingError,
    NetworkError,
    RateLimited,
    Unavailable,
    ApplePayButton,
    ApplePayUnavailable,
    ApplePayFailed,
    ApplePayCancelled,
}

impl Text {
    /// The code sent to the page with an error text.
    pub fn code(self) -> &'static str {
        match self {
            Text::IncompleteNumber => "incomplete_number",
            Text::InvalidNumber => "invalid_number",
            Text::UnsupportedBrand => "unsupported_brand",
            Text::IncompleteExpiry => "incomplete_expiry",
            Text::InvalidExpiryMonth => "invalid_expiry_month",
            Text::InvalidExpiryYear => "invalid_expiry_year",
            Text::ExpiryInPast => "invalid_expiry_year_past",
            Text::IncompleteCvc => "incomplete_cvc",
            Text::IncompletePostalCode => "incomplete_postal_code",
            Text::InvalidName => "invalid_name",
            Text::CardDeclined => "card_declined",
            Text::InsufficientFunds => "insufficient_funds",
            Text::IncorrectCvc => "incorrect_cvc",
            Text::ExpiredCard => "expired_card",
            Text::AuthenticationFailed => "authentication_failed",
            Text::ProcessingError => "processing_error",
            Text::NetworkError => "network_error",
            Text::RateLimited => "rate_limited",
            Text::Unavailable => "api_error",
            Text::ApplePayUnavailable => "apple_pay_unavailable",
            Text::ApplePayFailed => "apple_pay_failed",
            Text::ApplePayCancelled => "cancelled",
            _ => "",
        }
    }

    /// The text for a charge failure code the shop's server received (`showError(code)`).
    /// Codes that are not about the card (a reused key, a bad parameter) must not tell the shopper
    /// their card was declined: they get the generic processing message.
    pub fn of_charge_failure(code: &str) -> Text {
        match code {
            "insufficient_funds" => Text::InsufficientFunds,
            "incorrect_cvc" => Text::IncorrectCvc,
            "expired_card" | "card_expired" => Text::ExpiredCard,
            "network_error" => Text::NetworkError,
            // 3-D Secure: the bank could not confirm it was the cardholder (failed, abandoned or not possible).
            "authentication_failed" | "authentication_abandoned" | "authentication_required" => {
                Text::AuthenticationFailed
            }
            "card_declined"
            | "generic_decline"
            | "do_not_honor"
            | "lost_card"
            | "stolen_card"
            | "pickup_card"
            | "fraudulent"
            | "restricted_card"
            | "transaction_not_allowed"
            | "card_not_supported" => Text::CardDeclined,
            _ => Text::ProcessingError,
        }
    }

    pub fn get(self, locale: Locale) -> &'static str {
        let (en, ar) = match self {
            Text::FormLabel => ("Card payment details", "تفاصيل الدفع بالبطاقة"),
            Text::NumberLabel => ("Card number", "رقم البطاقة"),
            Text::ExpiryLabel => ("Expiry date", "تاريخ الانتهاء"),
            Text::CvcLabel => ("Security code", "رمز الأمان"),
            Text::PostalLabel => ("Postal code", "الرمز البريدي"),
            Text::NumberPlaceholder => ("1234 1234 1234 1234", "1234 1234 1234 1234"),
            // The field reads left to right in both languages (month first), so the hint does too.
            Text::ExpiryPlaceholder => ("MM / YY", "MM / YY"),
            Text::CvcPlaceholder => ("CVC", "CVC"),
            Text::PostalPlaceholder => ("Postal code", "رمز بريدي"),
            Text::IncompleteNumber => ("Your card number is incomplete.", "رقم البطاقة غير مكتمل."),
            Text::InvalidNumber => ("Your card number is invalid.", "رقم البطاقة غير صالح."),
            Text::UnsupportedBrand => ("This card brand is not supported.", "نوع البطاقة هذا غير مدعوم."),
            Text::IncompleteExpiry => ("Your card's expiry date is incomplete.", "تاريخ انتهاء البطاقة غير مكتمل."),
            Text::InvalidExpiryMonth => ("Your card's expiry month is invalid.", "شهر انتهاء البطاقة غير صالح."),
            Text::InvalidExpiryYear => ("Your card's expiry year is invalid.", "سنة انتهاء البطاقة غير صالحة."),
            Text::ExpiryInPast => ("Your card's expiry date is in the past.", "تاريخ انتهاء البطاقة في الماضي."),
            Text::IncompleteCvc => ("Your card's security code is incomplete.", "رمز أمان البطاقة غير مكتمل."),
            Text::IncompletePostalCode => ("Your postal code is incomplete.", "الرمز البريدي غير مكتمل."),
            Text::InvalidName => ("The cardholder name is not valid.", "اسم حامل البطاقة غير صالح."),
            Text::CardDeclined => ("Your card was declined.", "تم رفض بطاقتك."),
            Text::InsufficientFunds => ("Your card has insufficient funds.", "رصيد بطاقتك غير كافٍ."),
            Text::IncorrectCvc => ("Your card's security code is incorrect.", "رمز أمان بطاقتك غير صحيح."),
            Text::ExpiredCard => ("Your card has expired.", "انتهت صلاحية بطاقتك."),
            Text::AuthenticationFailed => {
                ("Your bank could not confirm this payment.", "تعذّر على مصرفك تأكيد هذه الدفعة.")
            }
            Text::ProcessingError => (
                "An error occurred while processing your card. Try again.",
                "حدث خطأ أثناء معالجة بطاقتك. حاول مرة أخرى.",
            ),
            Text::NetworkError => (
                "We could not reach the payment service. Check your connection and try again.",
                "تعذّر الاتصال بخدمة الدفع. تحقّق من اتصالك وحاول مرة أخرى.",
            ),
            Text::RateLimited => {
                ("Too many attempts. Wait a moment and try again.", "محاولات كثيرة. انتظر قليلًا ثم حاول مرة أخرى.")
            }
            Text::Unavailable => ("Card payments are not available right now.", "الدفع بالبطاقة غير متاح حاليًا."),
            Text::ApplePayButton => ("Pay with Apple Pay", "الدفع باستخدام Apple Pay"),
            Text::ApplePayUnavailable => (
                "Apple Pay is not available for this shop right now. Pay by card instead.",
                "Apple Pay غير متاح لهذا المتجر حاليًا. ادفع بالبطاقة بدلًا من ذلك.",
            ),
            Text::ApplePayFailed => (
                "Apple Pay could not complete the payment. Try again or pay by card.",
                "تعذّر إتمام الدفع عبر Apple Pay. حاول مرة أخرى أو ادفع بالبطاقة.",
            ),
            Text::ApplePayCancelled => ("Apple Pay was closed before paying.", "أُغلق Apple Pay قبل إتمام الدفع."),
        };
        match locale {
            Locale::En => en,
            Locale::Ar => ar,
        }
    }
}

/// The brand's name as printed on cards and shown in the field.
pub fn brand_name(brand: &str) -> &'static str {
    match brand {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" => "American Express",
        "discover" => "Discover",
        "diners" => "Diners Club",
        "jcb" => "JCB",
        "unionpay" => "UnionPay",
        "maestro" => "Maestro",
        // Mada's own brand guidelines write its name in lower case.
        "mada" => "mada",
        _ => "",
    }
}
