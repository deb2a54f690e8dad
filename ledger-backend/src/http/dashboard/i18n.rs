//! The dashboard's two languages. Every word a page shows is a field of `Labels`, so a template cannot show a
//! string that has no Arabic, and the compiler finds a label missing in either language. Arabic pages are
//! right-to-left (`dir="rtl"`); amounts and ids stay in Latin digits, as Saudi banking screens show them.

/// The page's language, from the `pg_lang` cookie, else the browser's `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ar,
}

/// The cookie that remembers the choice.
pub const COOKIE: &str = "pg_lang";

impl Lang {
    pub fn from_request(headers: &axum::http::HeaderMap) -> Lang {
        let cookie = super::session::cookie(headers, COOKIE);
        match cookie.as_deref() {
            Some("ar") => return Lang::Ar,
            Some("en") => return Lang::En,
            _ => {}
        }
        let accept = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
        // The first language the browser names that we have.
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag == "ar" || tag.starts_with("ar-") {
                return Lang::Ar;
            }
            if tag == "en" || tag.starts_with("en-") {
                return Lang::En;
            }
        }
        Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Ar => "rtl",
        }
    }

    pub fn labels(self) -> &'static Labels {
        match self {
            Lang::En => &EN,
            Lang::Ar => &AR,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ar,
            Lang::Ar => Lang::En,
        }
    }
}

pub struct Labels {
    pub product: &'static str,
    pub skip_to_content: &'static str,
    pub main_navigation: &'static str,
    pub other_language: &'static str,
    pub test_mode: &'static str,
    pub live_mode: &'static str,
    pub mode_switch: &'static str,
    pub viewing_test_data: &'static str,
    pub live_unavailable: &'static str,
    pub overview: &'static str,
    pub charges: &'static str,
    pub api_keys: &'static str,
    pub sign_out: &'static str,
    pub sign_out_everywhere: &'static str,
    pub signed_in_as: &'static str,
    // Accounts.
    pub sign_in: &'static str,
    pub sign_up: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub password_hint: &'static str,
    pub business_name: &'static str,
    pub create_account: &'static str,
    pub have_account: &'static str,
    pub no_account: &'static str,
    pub welcome: &'static str,
    pub keys_shown_once: &'static str,
    pub continue_to_dashboard: &'static str,
    // Overview.
    pub volume: &'static str,
    pub succeeded_charges: &'static str,
    pub success_rate: &'static str,
    pub refunded: &'static str,
    pub open_exceptions: &'static str,
    pub last_30_days: &'static str,
    pub no_charges_yet: &'static str,
    pub no_charges_yet_hint: &'static str,
    pub daily_volume_chart: &'static str,
    // Charges.
    pub filters: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub status: &'static str,
    pub any: &'static str,
    pub currency: &'static str,
    pub brand: &'static str,
    pub method: &'static str,
    pub processor: &'static str,
    pub amount_min: &'static str,
    pub amount_max: &'static str,
    pub created_from: &'static str,
    pub created_to: &'static str,
    pub apply: &'static str,
    pub clear: &'static str,
    pub export_csv: &'static str,
    pub amount: &'static str,
    pub card: &'static str,
    pub created: &'static str,
    pub id: &'static str,
    pub newer: &'static str,
    pub older: &'static str,
    pub no_matching_charges: &'static str,
    pub no_matching_charges_hint: &'static str,
    // Charge page.
    pub charge: &'static str,
    pub authorized: &'static str,
    pub captured: &'static str,
    pub routing: &'static str,
    pub routing_default: &'static str,
    pub routing_rule: &'static str,
    pub metadata: &'static str,
    pub failure: &'static str,
    pub pending_operation: &'static str,
    pub capture: &'static str,
    pub capture_amount: &'static str,
    pub void: &'static str,
    pub refund: &'static str,
    pub refund_amount: &'static str,
    pub refunds: &'static str,
    pub timeline: &'static str,
    pub ledger_entries: &'static str,
    pub account: &'static str,
    pub debit: &'static str,
    pub credit: &'static str,
    pub not_allowed_for_role: &'static str,
    pub done: &'static str,
    // Keys.
    pub publishable_key: &'static str,
    pub secret_key: &'static str,
    pub kind: &'static str,
    pub key: &'static str,
    pub last_used: &'static str,
    pub never: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub roll: &'static str,
    pub create_key: &'static str,
    pub new_key_once: &'static str,
    pub active: &'static str,
    pub no_keys: &'static str,
    // Errors.
    pub error_title: &'static str,
    pub not_found: &'static str,
    pub back: &'static str,
}

pub static EN: Labels = Labels {
    product: "Paygate",
    skip_to_content: "Skip to content",
    main_navigation: "Main",
    other_language: "العربية",
    test_mode: "Test",
    live_mode: "Live",
    mode_switch: "Data shown",
    viewing_test_data: "You are viewing test data.",
    live_unavailable: "Live mode opens once the owner completes the business profile.",
    overview: "Overview",
    charges: "Charges",
    api_keys: "API keys",
    sign_out: "Sign out",
    sign_out_everywhere: "Sign out everywhere",
    signed_in_as: "Signed in as",
    sign_in: "Sign in",
    sign_up: "Create your account",
    email: "Email",
    password: "Password",
    password_hint: "At least 10 characters.",
    business_name: "Business name",
    create_account: "Create account",
    have_account: "Already have an account? Sign in",
    no_account: "New to Paygate? Create an account",
    welcome: "Your account is ready",
    keys_shown_once: "These are your test keys. Copy the secret key now: it is shown this once and never again.",
    continue_to_dashboard: "Continue to the dashboard",
    volume: "Volume",
    succeeded_charges: "Succeeded charges",
    success_rate: "Success rate",
    refunded: "Refunded",
    open_exceptions: "Open reconciliation exceptions",
    last_30_days: "Last 30 days",
    no_charges_yet: "No charges yet",
    no_charges_yet_hint: "Make a test charge with your secret key; it appears here at once.",
    daily_volume_chart: "Captured volume per day",
    filters: "Filters",
    search: "Search",
    search_hint: "A charge id, the card's last 4 digits, or a metadata value",
    status: "Status",
    any: "Any",
    currency: "Currency",
    brand: "Brand",
    method: "Method",
    processor: "Processor",
    amount_min: "Amount from",
    amount_max: "Amount to",
    created_from: "Created from",
    created_to: "Created to",
    apply: "Apply",
    clear: "Clear",
    export_csv: "Export CSV",
    amount: "Amount",
    card: "Card",
    created: "Created",
    id: "ID",
    newer: "Newer",
    older: "Older",
    no_matching_charges: "No charges match",
    no_matching_charges_hint: "Change or clear the filters.",
    charge: "Charge",
    authorized: "Authorized",
    captured: "Captured",
    routing: "Routing",
    routing_default: "the default account",
    routing_rule: "rule",
    metadata: "Metadata",
    failure: "Failure",
    pending_operation: "Waiting for the processor to confirm",
    capture: "Capture",
    capture_amount: "Amount to capture",
    void: "Void",
    refund: "Refund",
    refund_amount: "Amount to refund",
    refunds: "Refunds",
    timeline: "Timeline",
    ledger_entries: "Ledger entries",
    account: "Account",
    debit: "Debit",
    credit: "Credit",
    not_allowed_for_role: "Your role cannot do this.",
    done: "Done.",
    publishable_key: "Publishable key",
    secret_key: "Secret key",
    kind: "Kind",
    key: "Key",
    last_used: "Last used",
    never: "Never",
    revoked: "Revoked",
    revoke: "Revoke",
    roll: "Roll",
    create_key: "Create a key",
    new_key_once: "Your new key. Copy it now: it is shown this once.",
    active: "Active",
    no_keys: "No keys in this mode.",
    error_title: "Something went wrong",
    not_found: "Not found",
    back: "Back",
};

pub static AR: Labels = Labels {
    product: "بايجيت",
    skip_to_content: "انتقل إلى المحتوى",
    main_navigation: "الرئيسية",
    other_language: "English",
    test_mode: "تجريبي",
    live_mode: "فعلي",
    mode_switch: "البيانات المعروضة",
    viewing_test_data: "أنت تعرض بيانات تجريبية.",
    live_unavailable: "يُتاح الوضع الفعلي بعد أن يكمل المالك ملف النشاط التجاري.",
    overview: "نظرة عامة",
    charges: "المدفوعات",
    api_keys: "مفاتيح الواجهة البرمجية",
    sign_out: "تسجيل الخروج",
    sign_out_everywhere: "تسجيل الخروج من كل الأجهزة",
    signed_in_as: "مسجل الدخول باسم",
    sign_in: "تسجيل الدخول",
    sign_up: "أنشئ حسابك",
    email: "البريد الإلكتروني",
    password: "كلمة المرور",
    password_hint: "عشرة أحرف على الأقل.",
    business_name: "اسم النشاط التجاري",
    create_account: "إنشاء الحساب",
    have_account: "لديك حساب؟ سجّل الدخول",
    no_account: "جديد على بايجيت؟ أنشئ حسابًا",
    welcome: "حسابك جاهز",
    keys_shown_once: "هذه مفاتيحك التجريبية. انسخ المفتاح السري الآن: يُعرض هذه المرة فقط.",
    continue_to_dashboard: "المتابعة إلى لوحة التحكم",
    volume: "الحجم",
    succeeded_charges: "المدفوعات الناجحة",
    success_rate: "نسبة النجاح",
    refunded: "المسترد",
    open_exceptions: "استثناءات التسوية المفتوحة",
    last_30_days: "آخر ٣٠ يومًا",
    no_charges_yet: "لا توجد مدفوعات بعد",
    no_charges_yet_hint: "أجرِ دفعة تجريبية بمفتاحك السري؛ ستظهر هنا فورًا.",
    daily_volume_chart: "الحجم المحصّل يوميًا",
    filters: "عوامل التصفية",
    search: "بحث",
    search_hint: "معرّف الدفعة، أو آخر ٤ أرقام من البطاقة، أو قيمة من البيانات الوصفية",
    status: "الحالة",
    any: "الكل",
    currency: "العملة",
    brand: "نوع البطاقة",
    method: "طريقة الدفع",
    processor: "المعالج",
    amount_min: "المبلغ من",
    amount_max: "المبلغ إلى",
    created_from: "تاريخ الإنشاء من",
    created_to: "تاريخ الإنشاء إلى",
    apply: "تطبيق",
    clear: "مسح",
    export_csv: "تصدير CSV",
    amount: "المبلغ",
    card: "البطاقة",
    created: "تاريخ الإنشاء",
    id: "المعرّف",
    newer: "الأحدث",
    older: "الأقدم",
    no_matching_charges: "لا توجد مدفوعات مطابقة",
    no_matching_charges_hint: "غيّر عوامل التصفية أو امسحها.",
    charge: "دفعة",
    authorized: "المفوَّض",
    captured: "المحصّل",
    routing: "التوجيه",
    routing_default: "الحساب الافتراضي",
    routing_rule: "القاعدة",
    metadata: "البيانات الوصفية",
    failure: "سبب الفشل",
    pending_operation: "بانتظار تأكيد المعالج",
    capture: "تحصيل",
    capture_amount: "المبلغ المراد تحصيله",
    void: "إلغاء التفويض",
    refund: "استرداد",
    refund_amount: "المبلغ المراد استرداده",
    refunds: "المبالغ المستردة",
    timeline: "السجل الزمني",
    ledger_entries: "قيود دفتر الأستاذ",
    account: "الحساب",
    debit: "مدين",
    credit: "دائن",
    not_allowed_for_role: "دورك لا يسمح بهذا الإجراء.",
    done: "تم.",
    publishable_key: "المفتاح القابل للنشر",
    secret_key: "المفتاح السري",
    kind: "النوع",
    key: "المفتاح",
    last_used: "آخر استخدام",
    never: "أبدًا",
    revoked: "ملغى",
    revoke: "إلغاء",
    roll: "تجديد",
    create_key: "إنشاء مفتاح",
    new_key_once: "مفتاحك الجديد. انسخه الآن: يُعرض هذه المرة فقط.",
    active: "نشط",
    no_keys: "لا توجد مفاتيح في هذا الوضع.",
    error_title: "حدث خطأ",
    not_found: "غير موجود",
    back: "رجوع",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn the_cookie_decides_then_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::from_request(&headers), Lang::En);
        headers.insert("accept-language", "fr-FR, ar-SA;q=0.8, en;q=0.5".parse().unwrap());
        assert_eq!(Lang::from_request(&headers), Lang::Ar);
        headers.insert("cookie", "a=b; pg_lang=en".parse().unwrap());
        assert_eq!(Lang::from_request(&headers), Lang::En);
        assert_eq!((Lang::Ar.dir(), Lang::En.dir()), ("rtl", "ltr"));
    }
}
