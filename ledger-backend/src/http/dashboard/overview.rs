//! The overview: per currency (never summed across currencies) what the last 30 days captured, the success
//! rate of decided charges, what was refunded, the open reconciliation exceptions, and a bar chart of the
//! captured volume per day, drawn here as SVG (no script, no inline style).

use super::chrome::{Chrome, Nav, money, when};
use super::pages::{PageError, render};
use super::session::Signed;
use crate::domain::dashboard::overview;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

const DAYS: i32 = 30;

pub struct CurrencyView {
    pub currency: String,
    pub captured: String,
    pub refunded: String,
    pub succeeded: i64,
    pub success_rate: String,
    pub chart: Chart,
}

/// A bar per day, scaled to the busiest day.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub width: i64,
    pub height: i64,
    pub first_day: String,
    pub last_day: String,
    pub peak: String,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub label: String,
}

// In the SVG's own units; the page shows it at most this wide (CSS), so its 10-unit text stays 10 px.
const BAR: i64 = 18;
const GAP: i64 = 3;
const CHART_HEIGHT: i64 = 120;

fn chart(days: &[(i64, i64)], currency: &str) -> Chart {
    let peak = days.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, (day, value))| {
            // Integer scaling: a day with anything captured gets at least one unit of height.
            let height = if peak == 0 { 0 } else { ((value * CHART_HEIGHT) / peak).max(i64::from(*value > 0)) };
            Bar {
                x: i as i64 * (BAR + GAP),
                y: CHART_HEIGHT - height,
                width: BAR,
                height,
                label: format!("{}: {}", when(*day).get(0..10).unwrap_or(""), money(*value, currency)),
            }
        })
        .collect();
    let day = |i: Option<&(i64, i64)>| i.map(|(d, _)| when(*d).get(0..10).unwrap_or("").to_owned()).unwrap_or_default();
    Chart {
        bars,
        width: days.len() as i64 * (BAR + GAP),
        height: CHART_HEIGHT,
        first_day: day(days.first()),
        last_day: day(days.last()),
        peak: money(peak, currency),
    }
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    currencies: Vec<CurrencyView>,
    open_exceptions: i64,
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    let scope = signed.session.scope();
    let loaded = signed
        .act(async {
            let summaries = overview::summary(&state.pool, scope, DAYS).await?;
            let open_exceptions = overview::open_exceptions(&state.pool, scope).await?;
            let mut currencies = Vec::with_capacity(summaries.len());
            for summary in summaries {
                let days = overview::daily_captured(&state.pool, scope, &summary.currency, DAYS).await?;
                currencies.push(CurrencyView {
                    captured: money(summary.captured, &summary.currency),
                    refunded: money(summary.refunded, &summary.currency),
                    succeeded: summary.succeeded,
                    success_rate: summary.success_percent().map(|p| format!("{p}%")).unwrap_or_else(|| "–".into()),
                    chart: chart(&days, &summary.currency),
                    currency: summary.currency,
                });
            }
            Ok::<_, sqlx::Error>((currencies, open_exceptions))
        })
        .await;
    match loaded {
        Ok((currencies, open_exceptions)) => render(
            StatusCode::OK,
            &OverviewPage { chrome: Chrome::new(&signed, Nav::Overview), currencies, open_exceptions },
        ),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_a_small_day_still_shows() {
        let days = [(0, 0), (86_400, 1), (172_800, 1_000)];
        let chart = chart(&days, "EUR");
        let heights: Vec<i64> = chart.bars.iter().map(|b| b.height).collect();
        assert_eq!(heights, [0, 1, CHART_HEIGHT]);
        assert_eq!(chart.bars[2].y, 0);
        assert_eq!(chart.bars[1].label, "1970-01-02: 0.01 EUR");
        assert_eq!(chart.peak, "10.00 EUR");
    }
}
