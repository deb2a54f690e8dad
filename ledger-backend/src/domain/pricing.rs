//! Merchant pricing: what Paygate charges a merchant per captured charge, per currency, with `*` as the
//! default for every other currency. Operators set it (the CLI's `set-pricing`, the operator API); a change
//! is a new row effective from its moment, so it applies to charges created after it and never re-prices a
//! charge already made. Each change writes an audit row naming the operator.

use crate::domain::journal::{self, AuditEntry};
use crate::domain::tenancy::Scope;
use paygate_core::id::MerchantId;
use paygate_core::ledger::Pricing;
use paygate_core::{Amount, Currency, Mode};
use sqlx::{PgConnection, PgPool};

/// Which currency a price is for: one, or the default (`*`) for all others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PricedCurrency {
    One(Currency),
    Default,
}

impl PricedCurrency {
    /// `*` or an ISO 4217 code (any case).
    pub fn parse(text: &str) -> Result<Self, paygate_core::money::CurrencyError> {
        if text == "*" { Ok(PricedCurrency::Default) } else { Currency::parse(text).map(PricedCurrency::One) }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PricedCurrency::One(currency) => currency.code(),
            PricedCurrency::Default => "*",
        }
    }
}

/// One price as it is stored: in effect from `effective_from` (Unix seconds; 0 for "always") until a
/// later row of the same currency replaces it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PriceRow {
    pub currency: String,
    pub basis_points: i32,
    pub fixed_minor: i64,
    pub effective_from: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PricingChangeError {
    #[error("no such merchant")]
    UnknownMerchant,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const ROW_COLUMNS: &str = "currency, basis_points, fixed_minor,
    CASE WHEN effective_from = '-infinity' THEN 0 ELSE extract(epoch FROM effective_from)::bigint END AS effective_from";

/// Sets `pricing` for `currency` from now on, audited as `actor`; returns the new row.
pub async fn set(
    pool: &PgPool,
    merchant: MerchantId,
    currency: PricedCurrency,
    pricing: Pricing,
    actor: &str,
) -> Result<PriceRow, PricingChangeError> {
    let mut tx = pool.begin().await?;
    // Locks the merchant row, so two changes of one merchant's prices are ordered.
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM merchants WHERE id = $1 FOR UPDATE")
        .bind(merchant)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(PricingChangeError::UnknownMerchant);
    }
    let insert = format!(
        "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor, effective_from)
         VALUES ($1, $2, $3, $4, clock_timestamp()) RETURNING {ROW_COLUMNS}"
    );
    let row: (String, i32, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(insert))
        .bind(merchant)
        .bind(currency.as_str())
        .bind(i32::from(pricing.basis_points()))
        .bind(pricing.fixed().minor())
        .fetch_one(&mut *tx)
        .await?;
    let data = serde_json::json!({
        "currency": currency.as_str(),
        "basis_points": pricing.basis_points(),
        "fixed_minor": pricing.fixed().minor(),
    });
    // Pricing is the merchant's, not one mode's: the audit row is in live, where it moves real money.
    let scope = Scope { merchant_id: merchant, mode: Mode::Live };
    let entry = AuditEntry {
        actor,
        action: "merchant.pricing_set",
        object_type: "merchant",
        object_id: &merchant.to_string(),
        request_id: None,
        data,
    };
    journal::audit(&mut tx, scope, entry).await?;
    tx.commit().await?;
    Ok(PriceRow { currency: row.0, basis_points: row.1, fixed_minor: row.2, effective_from: row.3 })
}

/// Every price a merchant has had, newest first per currency.
pub async fn history(pool: &PgPool, merchant: MerchantId) -> Result<Vec<PriceRow>, sqlx::Error> {
    let select = format!(
        "SELECT {ROW_COLUMNS} FROM merchant_pricing WHERE merchant_id = $1
         ORDER BY currency, merchant_pricing.effective_from DESC"
    );
    let rows: Vec<(String, i32, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(merchant).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(currency, basis_points, fixed_minor, effective_from)| PriceRow {
            currency,
            basis_points,
            fixed_minor,
            effective_from,
        })
        .collect())
}

/// The price a charge pays on capture: the merchant's price for its currency (else the default) that was
/// in effect when the charge was created; zero when none was. As a scalar subquery over a row of `charges`
/// (`[basis_points, fixed_minor]`, or NULL), so a statement that reads the charge reads its price with it.
pub const CHARGE_PRICING: &str = "(SELECT ARRAY[p.basis_points::bigint, p.fixed_minor] FROM merchant_pricing p
     WHERE p.merchant_id = charges.merchant_id AND p.currency IN (charges.currency, '*')
       AND p.effective_from <= charges.created_at
     ORDER BY p.currency = '*', p.effective_from DESC LIMIT 1)";

/// `CHARGE_PRICING` for the charge `charge_id`, on its own.
pub async fn for_charge(
    conn: &mut PgConnection,
    scope: Scope,
    charge_id: paygate_core::id::ChargeId,
) -> Result<Pricing, sqlx::Error> {
    let select = format!("SELECT {CHARGE_PRICING} FROM charges WHERE id = $1 AND merchant_id = $2");
    let stored: Option<Vec<i64>> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
        .bind(charge_id)
        .bind(scope.merchant_id)
        .fetch_optional(conn)
        .await?
        .flatten();
    from_stored(stored.as_deref())
}

/// The price `CHARGE_PRICING` read.
pub fn from_stored(stored: Option<&[i64]>) -> Result<Pricing, sqlx::Error> {
    // The columns' CHECKs keep both in range; a row that still failed to parse is loud, not free.
    match stored {
        None => Ok(Pricing::default()),
        Some(&[bps, fixed]) => {
            let parsed =
                u16::try_from(bps).ok().zip(Amount::new(fixed).ok()).and_then(|(b, f)| Pricing::new(b, f).ok());
            parsed.ok_or_else(|| sqlx::Error::Decode(format!("merchant_pricing holds {bps} bps + {fixed}").into()))
        }
        Some(other) => Err(sqlx::Error::Decode(format!("a price of {} numbers", other.len()).into())),
    }
}
