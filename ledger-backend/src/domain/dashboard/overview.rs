//! The overview page's figures, per currency and never summed across currencies: what was captured, how many
//! charges succeeded of those decided, what was refunded, and the reconciliation exceptions still open; and the
//! captured volume per day for its chart.

use crate::domain::tenancy::Scope;
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CurrencySummary {
    pub currency: String,
    /// Minor units captured by the charges created in the period.
    pub captured: i64,
    pub refunded: i64,
    /// Charges that reached an approved state (authorized and after) and that failed; pending ones are neither.
    pub succeeded: i64,
    pub failed: i64,
}

impl CurrencySummary {
    /// Succeeded out of decided, in whole per cent; `None` before anything was decided.
    pub fn success_percent(&self) -> Option<i64> {
        let decided = self.succeeded + self.failed;
        (decided > 0).then(|| (self.succeeded * 100 + decided / 2) / decided)
    }
}

/// The merchant's figures for the charges created in the last `days` days, one row per currency.
pub async fn summary(pool: &PgPool, scope: Scope, days: i32) -> Result<Vec<CurrencySummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT currency,
                coalesce(sum(amount_captured), 0)::bigint AS captured,
                coalesce(sum(amount_refunded), 0)::bigint AS refunded,
                count(*) FILTER (WHERE status IN ('authorized', 'captured', 'partially_refunded', 'refunded', 'voided', 'expired'))
                    AS succeeded,
                count(*) FILTER (WHERE status = 'failed') AS failed
         FROM charges
         WHERE merchant_id = $1 AND mode = $2 AND created_at > now() - make_interval(days => $3)
         GROUP BY currency ORDER BY currency",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(days)
    .fetch_all(pool)
    .await
}

/// Reconciliation exceptions not yet resolved.
pub async fn open_exceptions(pool: &PgPool, scope: Scope) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM reconciliation_exceptions WHERE merchant_id = $1 AND mode = $2 AND state <> 'resolved'",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_one(pool)
    .await
}

/// Captured minor units of `currency` per UTC day for the last `days` days, oldest first, a zero for a day
/// without any: `(unix seconds of the day's start, captured)`.
pub async fn daily_captured(
    pool: &PgPool,
    scope: Scope,
    currency: &str,
    days: i32,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT extract(epoch FROM day)::bigint, coalesce(sum(c.amount_captured), 0)::bigint
         FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => $4 - 1),
                              date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') AS day
         LEFT JOIN charges c ON c.merchant_id = $1 AND c.mode = $2 AND c.currency = $3
              AND (c.created_at AT TIME ZONE 'UTC') >= day AND (c.created_at AT TIME ZONE 'UTC') < day + interval '1 day'
         GROUP BY day ORDER BY day",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(currency)
    .bind(days)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::CurrencySummary;

    #[test]
    fn the_success_rate_counts_only_decided_charges() {
        let row =
            |succeeded, failed| CurrencySummary { currency: "EUR".into(), captured: 0, refunded: 0, succeeded, failed };
        assert_eq!(row(0, 0).success_percent(), None);
        assert_eq!(row(2, 1).success_percent(), Some(67));
        assert_eq!(row(1, 0).success_percent(), Some(100));
    }
}
