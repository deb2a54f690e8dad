//! Charges: the filtered list (status, dates, brand, method, currency, amount range, processor; search by id,
//! last 4 or a metadata value; cursor paging; CSV of the filter), and one charge's page with its timeline and
//! its capture, void and refund, which are the API's own operations done as the signed-in user.

use super::chrome::{Chrome, Nav, money, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::charges::{self, ChargeError, ChargeRecord, ListFilter, Operation};
use crate::domain::dashboard::timeline::{self, Item, LedgerLine};
use crate::domain::dashboard::{Permission, saved_views};
use crate::domain::idempotency::KeyUse;
use crate::domain::page::Page;
use crate::domain::refunds::{self, NewRefund, RefundContext, RefundError, RefundRecord};
use crate::http::AppState;
use crate::http::path_id::PathId;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::charge::ChargeStatus;
use paygate_core::id::{ChargeId, ChargeKind, SavedViewKind};
use paygate_core::{Amount, Currency};

const PAGE_SIZE: i64 = 25;
/// The most rows one CSV export holds.
const EXPORT_ROWS_MAX: usize = 10_000;

/// The filter form as sent (every field text, as typed), and what it means.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct FilterForm {
    pub q: String,
    pub status: String,
    pub currency: String,
    pub brand: String,
    pub method: String,
    pub processor: String,
    pub amount_min: String,
    pub amount_max: String,
    pub created_from: String,
    pub created_to: String,
    #[serde(skip_serializing)]
    pub starting_after: String,
    #[serde(skip_serializing)]
    pub ending_before: String,
}

impl FilterForm {
    /// The domain's filter; a field that does not parse is named in the error.
    fn filter(&self) -> Result<ListFilter, &'static str> {
        // Short plain words (a brand, a method, a connector, a code): anything else names no charge.
        for (field, value) in [("brand", &self.brand), ("method", &self.method), ("processor", &self.processor)] {
            if value.len() > 40 || value.chars().any(char::is_control) {
                return Err(field);
            }
        }
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let currency = text(&self.currency).map(|c| c.to_uppercase());
        let exponent = match &currency {
            Some(code) => Currency::parse(code).map_err(|_| "currency")?.exponent(),
            None => 2,
        };
        let amount = |field: &'static str, s: &str| -> Result<Option<i64>, &'static str> {
            text(s).map(|s| Amount::parse_decimal(&s, exponent).map(Amount::minor).map_err(|_| field)).transpose()
        };
        let day = |field: &'static str, s: &str, end: bool| -> Result<Option<i64>, &'static str> {
            text(s).map(|s| day_start(&s).map(|t| if end { t + 86_399 } else { t }).ok_or(field)).transpose()
        };
        let status = text(&self.status);
        if status.as_deref().is_some_and(|s| ChargeStatus::parse(s).is_none()) {
            return Err("status");
        }
        let mut filter = ListFilter {
            status,
            created_gte: day("created_from", &self.created_from, false)?,
            created_lte: day("created_to", &self.created_to, true)?,
            currency,
            card_brand: text(&self.brand).map(|b| b.to_lowercase()),
            payment_method: text(&self.method),
            amount_min: amount("amount_min", &self.amount_min)?,
            amount_max: amount("amount_max", &self.amount_max)?,
            processor: text(&self.processor),
            ..ListFilter::default()
        };
        // One search box: a charge id, the card's last 4, or else a metadata value.
        if let Some(q) = text(&self.q) {
            if ChargeId::parse(&q).is_ok() {
                filter.id = Some(q);
            } else if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
                filter.card_last4 = Some(q);
            } else if q.len() <= 500 && !q.contains('\0') {
                filter.metadata_value = Some(q);
            } else {
                return Err("q");
            }
        }
        Ok(filter)
    }

    fn page(&self) -> Result<Page, &'static str> {
        let cursor = |s: &str, field: &'static str| -> Result<Option<String>, &'static str> {
            match s.trim() {
                "" => Ok(None),
                id if ChargeId::parse(id).is_ok() => Ok(Some(id.to_owned())),
                _ => Err(field),
            }
        };
        Ok(Page {
            limit: PAGE_SIZE,
            starting_after: cursor(&self.starting_after, "starting_after")?,
            ending_before: cursor(&self.ending_before, "ending_before")?,
        })
    }

    /// The filter as a query string (its non-empty fields), for paging links, the CSV link and saved views.
    pub fn query(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        let fields: Vec<(String, String)> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, v)| v.as_str().filter(|s| !s.is_empty()).map(|s| (name.clone(), s.to_owned())))
            .collect();
        serde_urlencoded::to_string(fields).unwrap_or_default()
    }
}

/// `YYYY-MM-DD` as the Unix seconds of that day's start (UTC).
fn day_start(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(paygate_core::time::unix_seconds_of(year, month, day))
}

/// One row of the list.
pub struct Row {
    pub id: String,
    pub status: String,
    pub amount: String,
    pub card: String,
    pub method: String,
    pub processor: String,
    pub created: String,
}

impl Row {
    fn of(charge: &ChargeRecord) -> Row {
        Row {
            id: charge.id.to_string(),
            status: charge.status.clone(),
            amount: money(charge.amount, &charge.currency),
            card: card_text(charge),
            method: charge.payment_method.0.as_str().to_owned(),
            processor: charge.processor.clone().unwrap_or_default(),
            created: when(charge.created),
        }
    }
}

/// Brand and last 4, never more.
fn card_text(charge: &ChargeRecord) -> String {
    match (&charge.card_brand, &charge.card_last4) {
        (Some(brand), Some(last4)) => format!("{brand} •••• {last4}"),
        _ => String::new(),
    }
}

/// A saved view as the list links it.
pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "dashboard/charges.html")]
struct ListPage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    form: FilterForm,
    statuses: Vec<&'static str>,
    rows: Vec<Row>,
    error: Option<&'static str>,
    newer: Option<String>,
    older: Option<String>,
    export: String,
}

/// The user's saved views, as links.
async fn views_of(state: &AppState, signed: &Signed) -> Vec<ViewLink> {
    let session = &signed.session;
    match signed.act(saved_views::list(&state.pool, session.scope(), session.user_id)).await {
        Ok(views) => views
            .into_iter()
            .map(|v| ViewLink { href: format!("/dashboard/charges?{}", v.query), id: v.id, name: v.name })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "saved views could not be read");
            Vec::new()
        }
    }
}

pub async fn list(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let form: FilterForm = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let views = views_of(&state, &signed).await;
    let statuses = ChargeStatus::ALL.iter().map(|s| s.as_str()).collect();
    let parsed = form.filter().and_then(|filter| Ok((filter, form.page()?)));
    let (filter, page) = match parsed {
        Ok(parsed) => parsed,
        Err(field) => {
            let page = ListPage {
                chrome: Chrome::new(&signed, Nav::Charges),
                views,
                export: form.query(),
                form,
                statuses,
                rows: Vec::new(),
                error: Some(field),
                newer: None,
                older: None,
            };
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    let scope = signed.session.scope();
    let listed = signed.act(charges::list(&state.pool, scope, &page, &filter)).await;
    let (records, has_more) = match listed {
        Ok(listed) => listed,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let base = form.query();
    let link = |cursor: &str, id: &ChargeRecord| format!("/dashboard/charges?{base}&{cursor}={}", id.id);
    // Newest first: "older" goes after the last row, "newer" before the first.
    let paging_back = page.ending_before.is_some();
    let older = match (records.last(), has_more || paging_back) {
        (Some(last), true) => Some(link("starting_after", last)),
        _ => None,
    };
    let newer = match (records.first(), page.starting_after.is_some() || (paging_back && has_more)) {
        (Some(first), true) => Some(link("ending_before", first)),
        _ => None,
    };
    let page = ListPage {
        chrome: Chrome::new(&signed, Nav::Charges),
        views,
        export: base.clone(),
        rows: records.iter().map(Row::of).collect(),
        form,
        statuses,
        error: None,
        newer,
        older,
    };
    render(StatusCode::OK, &page)
}

/// The filter's charges as CSV (at most `EXPORT_ROWS_MAX`, newest first).
pub async fn export(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let form: FilterForm = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let Ok(filter) = form.filter() else {
        return (StatusCode::BAD_REQUEST, "The filter could not be read.").into_response();
    };
    let scope = signed.session.scope();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "created",
        "status",
        "currency",
        "amount",
        "captured",
        "refunded",
        "method",
        "brand",
        "last4",
        "processor",
        "failure_code",
        "description",
    ];
    if writer.write_record(header).is_err() {
        return PageError::internal("csv header").page(signed.lang);
    }
    let mut page = Page { limit: 100, ..Page::default() };
    let mut written = 0;
    loop {
        let listed = signed.act(charges::list(&state.pool, scope, &page, &filter)).await;
        let (records, has_more) = match listed {
            Ok(listed) => listed,
            Err(error) => return PageError::internal(error).page(signed.lang),
        };
        for charge in &records {
            let exponent = Currency::parse(&charge.currency).map(|c| c.exponent()).unwrap_or(2);
            let decimal = |minor: i64| Amount::new(minor).map(|a| a.to_decimal_string(exponent)).unwrap_or_default();
            let record = [
                charge.id.to_string(),
                paygate_core::time::rfc3339(charge.created),
                charge.status.clone(),
                charge.currency.clone(),
                decimal(charge.amount),
                decimal(charge.amount_captured),
                decimal(charge.amount_refunded),
                charge.payment_method.0.as_str().to_owned(),
                charge.card_brand.clone().unwrap_or_default(),
                charge.card_last4.clone().unwrap_or_default(),
                charge.processor.clone().unwrap_or_default(),
                charge.failure_code.clone().unwrap_or_default(),
                spreadsheet_safe(charge.description.as_deref().unwrap_or("")),
            ];
            if writer.write_record(&record).is_err() {
                return PageError::internal("csv row").page(signed.lang);
            }
            written += 1;
        }
        match records.last() {
            Some(last) if has_more && written < EXPORT_ROWS_MAX => page.starting_after = Some(last.id.to_string()),
            _ => break,
        }
    }
    let body = writer.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"charges.csv\""),
        ],
        body,
    )
        .into_response()
}

/// A text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, return) is quoted as text.
fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

pub struct RefundRow {
    pub id: String,
    pub amount: String,
    pub status: String,
    pub created: String,
}

pub struct LedgerRow {
    pub transaction: String,
    pub kind: String,
    pub account: String,
    pub debit: String,
    pub credit: String,
}

pub struct TimelineRow {
    pub when: String,
    pub kind: String,
    pub title: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/charge.html")]
struct ChargePage {
    chrome: Chrome,
    charge: ChargeView,
    refunds: Vec<RefundRow>,
    ledger: Vec<LedgerRow>,
    timeline: Vec<TimelineRow>,
    can_operate: bool,
    error: Option<String>,
    done: bool,
}

/// What the page says of the charge.
pub struct ChargeView {
    pub id: String,
    pub status: String,
    pub amount: String,
    pub authorized: String,
    pub captured: String,
    pub refunded: String,
    pub card: String,
    pub method: String,
    pub processor: String,
    pub routing: String,
    pub description: String,
    pub metadata: Vec<(String, String)>,
    pub failure: String,
    pub pending_operation: String,
    pub created: String,
    pub can_capture: bool,
    pub can_void: bool,
    pub can_refund: bool,
    /// Decimal defaults for the amount fields.
    pub capturable: String,
    pub refundable: String,
    pub refund_key: String,
}

impl ChargeView {
    fn of(charge: &ChargeRecord, t: &super::i18n::Labels) -> ChargeView {
        let exponent = Currency::parse(&charge.currency).map(|c| c.exponent()).unwrap_or(2);
        let decimal = |minor: i64| Amount::new(minor.max(0)).map(|a| a.to_decimal_string(exponent)).unwrap_or_default();
        let status = ChargeStatus::parse(&charge.status);
        let idle = charge.pending_operation.is_none();
        let authorized = status == Some(ChargeStatus::Authorized) && idle;
        let refundable = charge.amount_captured - charge.amount_refunded;
        let routing = match (&charge.processor_account_id, charge.routing_rule) {
            (Some(account), Some(rule)) => format!("{account} ({} {rule})", t.routing_rule),
            (Some(account), None) => format!("{account} ({})", t.routing_default),
            _ => String::new(),
        };
        let metadata = charge
            .metadata
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        ChargeView {
            id: charge.id.to_string(),
            status: charge.status.clone(),
            amount: money(charge.amount, &charge.currency),
            authorized: money(charge.amount_authorized, &charge.currency),
            captured: money(charge.amount_captured, &charge.currency),
            refunded: money(charge.amount_refunded, &charge.currency),
            card: card_text(charge),
            method: charge.payment_method.0.as_str().to_owned(),
            processor: charge.processor.clone().unwrap_or_default(),
            routing,
            description: charge.description.clone().unwrap_or_default(),
            metadata,
            failure: [&charge.failure_code, &charge.failure_message, &charge.failure_processor_code]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" · "),
            pending_operation: charge.pending_operation.clone().unwrap_or_default(),
            created: when(charge.created),
            can_capture: authorized && !charge.mada,
            can_void: authorized && !charge.mada,
            can_refund: idle
                && matches!(status, Some(ChargeStatus::Captured | ChargeStatus::PartiallyRefunded))
                && refundable > 0,
            capturable: decimal(charge.amount_authorized - charge.amount_captured),
            refundable: decimal(refundable),
            refund_key: crate::domain::dashboard::sessions::random_text(),
        }
    }
}

async fn charge_page(
    state: &AppState,
    signed: &Signed,
    id: ChargeId,
    status: StatusCode,
    error: Option<String>,
    done: bool,
) -> Response {
    let scope = signed.session.scope();
    let loaded = signed
        .act(async {
            let charge = charges::get(&state.pool, scope, id).await.map_err(|error| match error {
                ChargeError::NotFound => PageError::NotFound,
                error => PageError::internal(error),
            })?;
            let all = Page { limit: 100, ..Page::default() };
            let (refunds, _) = refunds::of_charge(&state.pool, scope, id, &all).await.map_err(PageError::internal)?;
            let timeline = timeline::of_charge(&state.pool, scope, id).await.map_err(PageError::internal)?;
            let ledger = timeline::ledger_of_charge(&state.pool, scope, id).await.map_err(PageError::internal)?;
            Ok::<_, PageError>((charge, refunds, timeline, ledger))
        })
        .await;
    let (charge, refunds, items, ledger) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return error.page(signed.lang),
    };
    let chrome = Chrome::new(signed, Nav::Charges);
    let page = ChargePage {
        charge: ChargeView::of(&charge, chrome.t),
        refunds: refunds.iter().map(refund_row).collect(),
        ledger: ledger.iter().map(ledger_row).collect(),
        timeline: items.iter().map(timeline_row).collect(),
        can_operate: signed.session.role.allows(Permission::OperatePayments),
        chrome,
        error,
        done,
    };
    render(status, &page)
}

fn refund_row(refund: &RefundRecord) -> RefundRow {
    RefundRow {
        id: refund.id.to_string(),
        amount: money(refund.amount, &refund.currency),
        status: refund.status.clone(),
        created: when(refund.created),
    }
}

fn ledger_row(line: &LedgerLine) -> LedgerRow {
    let (debit, credit) = if line.amount > 0 {
        (money(line.amount, &line.currency), String::new())
    } else {
        (String::new(), money(-line.amount, &line.currency))
    };
    LedgerRow {
        transaction: line.transaction_id.clone(),
        kind: line.transaction_kind.clone(),
        account: line.account.clone(),
        debit,
        credit,
    }
}

fn timeline_row(item: &Item) -> TimelineRow {
    // To the second: the steps of one request follow each other closely, and their order is the story.
    let when = paygate_core::time::rfc3339(item.at.div_euclid(1000)).replace('T', " ").replace('Z', " UTC");
    TimelineRow { when, kind: item.kind.clone(), title: item.title.clone(), detail: item.detail.clone() }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    PathId(id): PathId<ChargeKind>,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Response {
    charge_page(&state, &signed, id, StatusCode::OK, None, done.done.is_some()).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AmountForm {
    amount: String,
    /// The refund form's own key: a resubmitted form refunds once.
    key: String,
}

/// The form's decimal amount in the charge's currency; empty means the whole.
fn amount_of(form: &AmountForm, currency: &str) -> Result<Option<Amount>, String> {
    let text = form.amount.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let exponent = Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
    Amount::parse_decimal(text, exponent)
        .ok()
        .and_then(|a| Amount::positive(a.minor()).ok())
        .map(Some)
        .ok_or_else(|| format!("{text} is not an amount in {currency}"))
}

/// The form's amount for charge `id`, read in the charge's currency; the page to answer with when it cannot be.
async fn form_amount(
    state: &AppState,
    signed: &Signed,
    id: ChargeId,
    form: &AmountForm,
) -> Result<Option<Amount>, Response> {
    let scope = signed.session.scope();
    let charge = match signed.act(charges::get(&state.pool, scope, id)).await {
        Ok(charge) => charge,
        Err(ChargeError::NotFound) => return Err(PageError::NotFound.page(signed.lang)),
        Err(error) => return Err(PageError::internal(error).page(signed.lang)),
    };
    match amount_of(form, &charge.currency) {
        Ok(amount) => Ok(amount),
        Err(detail) => Err(charge_page(state, signed, id, StatusCode::BAD_REQUEST, Some(detail), false).await),
    }
}

/// Runs the operation `make` builds on charge `id` if the user's role may; then back to the charge's page.
async fn operate(
    state: &AppState,
    act: &Act<AmountForm>,
    id: ChargeId,
    make: impl FnOnce(Option<Amount>) -> Operation,
) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::OperatePayments) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let amount = match form_amount(state, signed, id, &act.form).await {
        Ok(amount) => amount,
        Err(page) => return page,
    };
    let scope = signed.session.scope();
    match signed.act(charges::operate(&state.pool, &state.processors, scope, id, make(amount))).await {
        Ok(_) => Redirect::to(&format!("/dashboard/charges/{id}?done=1")).into_response(),
        Err(ChargeError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(error @ ChargeError::Database(_)) => PageError::internal(error).page(signed.lang),
        Err(error) => charge_page(state, signed, id, StatusCode::CONFLICT, Some(error.to_string()), false).await,
    }
}

pub async fn capture(State(state): State<AppState>, PathId(id): PathId<ChargeKind>, act: Act<AmountForm>) -> Response {
    operate(&state, &act, id, |amount| Operation::Capture { amount }).await
}

pub async fn void(State(state): State<AppState>, PathId(id): PathId<ChargeKind>, act: Act<AmountForm>) -> Response {
    operate(&state, &act, id, |_| Operation::Void).await
}

/// A refund, made once per form (its `key` is the refund's Idempotency-Key, so a resubmitted form or a double
/// click answers the same refund).
pub async fn refund(State(state): State<AppState>, PathId(id): PathId<ChargeKind>, act: Act<AmountForm>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::OperatePayments) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let key = act.form.key.trim();
    if key.len() < 16 || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        let detail = Some("The form has expired; try again.".to_owned());
        return charge_page(&state, signed, id, StatusCode::BAD_REQUEST, detail, false).await;
    }
    let amount = match form_amount(&state, signed, id, &act.form).await {
        Ok(amount) => amount,
        Err(page) => return page,
    };
    let scope = signed.session.scope();
    let request_id = crate::http::request_id::current().unwrap_or_default();
    let idempotency_key = format!("dashboard-{key}");
    let path = format!("/dashboard/charges/{id}/refund");
    let fingerprint = paygate_core::idempotency::fingerprint("POST", &path, act.form.amount.trim().as_bytes());
    let ctx = RefundContext {
        pool: &state.pool,
        processors: &state.processors,
        scope,
        request_id: &request_id,
        key: KeyUse { key: &idempotency_key, fingerprint: &fingerprint, object_type: "refund" },
    };
    let new = NewRefund { charge_id: id, amount, reason: None, metadata: serde_json::Map::new() };
    match signed.act(refunds::create(&ctx, &new)).await {
        Ok(_) => Redirect::to(&format!("/dashboard/charges/{id}?done=1")).into_response(),
        Err(error @ RefundError::Database(_)) => PageError::internal(error).page(signed.lang),
        Err(error) => charge_page(&state, signed, id, StatusCode::CONFLICT, Some(error.to_string()), false).await,
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ViewForm {
    name: String,
    query: String,
}

/// Saves the filter the list shows under a name (the filter is read first: only one the list takes is kept).
pub async fn save_view(State(state): State<AppState>, act: Act<ViewForm>) -> Response {
    let signed = &act.signed;
    let form: FilterForm = serde_urlencoded::from_str(&act.form.query).unwrap_or_default();
    if form.filter().is_err() {
        return PageError::NotFound.page(signed.lang);
    }
    let session = &signed.session;
    match signed
        .act(saved_views::save(&state.pool, session.scope(), session.user_id, &act.form.name, &form.query()))
        .await
    {
        Ok(()) => Redirect::to(&format!("/dashboard/charges?{}", form.query())).into_response(),
        Err(saved_views::ViewError::Database(error)) => PageError::internal(error).page(signed.lang),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

pub async fn delete_view(
    State(state): State<AppState>,
    PathId(id): PathId<SavedViewKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let signed = &act.signed;
    let session = &signed.session;
    match signed.act(saved_views::delete(&state.pool, session.scope(), session.user_id, id)).await {
        Ok(true) => Redirect::to("/dashboard/charges").into_response(),
        Ok(false) => PageError::NotFound.page(signed.lang),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_form_becomes_the_domains_filter_or_names_the_bad_field() {
        let form = FilterForm {
            q: "4242".into(),
            currency: "eur".into(),
            amount_min: "1.50".into(),
            created_from: "2026-11-01".into(),
            created_to: "2026-11-01".into(),
            ..FilterForm::default()
        };
        let filter = form.filter().unwrap();
        assert_eq!(filter.card_last4.as_deref(), Some("4242"));
        assert_eq!((filter.currency.as_deref(), filter.amount_min), (Some("EUR"), Some(150)));
        assert_eq!(filter.created_lte.unwrap() - filter.created_gte.unwrap(), 86_399);
        let id = FilterForm { q: "ch_00000000000000000000000000".into(), ..FilterForm::default() };
        assert_eq!(id.filter().unwrap().id.as_deref(), Some("ch_00000000000000000000000000"));
        let order = FilterForm { q: "order 1001".into(), ..FilterForm::default() };
        assert_eq!(order.filter().unwrap().metadata_value.as_deref(), Some("order 1001"));
        for (form, field) in [
            (FilterForm { status: "won".into(), ..FilterForm::default() }, "status"),
            (FilterForm { currency: "EURO".into(), ..FilterForm::default() }, "currency"),
            (FilterForm { amount_max: "1.5.0".into(), ..FilterForm::default() }, "amount_max"),
            (FilterForm { created_to: "2026-13-01".into(), ..FilterForm::default() }, "created_to"),
            (FilterForm { q: "a\0b".into(), ..FilterForm::default() }, "q"),
            (FilterForm { brand: "vi\0sa".into(), ..FilterForm::default() }, "brand"),
            (FilterForm { processor: "x".repeat(41), ..FilterForm::default() }, "processor"),
        ] {
            assert_eq!(form.filter().unwrap_err(), field);
        }
        assert_eq!(
            FilterForm { starting_after: "x".into(), ..FilterForm::default() }.page().unwrap_err(),
            "starting_after"
        );
    }

    #[test]
    fn exported_text_never_runs_as_a_formula() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(1)"), "'@SUM(1)");
        assert_eq!(spreadsheet_safe("plain"), "plain");
    }
}
