//! A merchant's price as the operator API answers it.

use super::Timestamp;
use crate::domain::pricing::PriceRow;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Price {
    object: &'static str,
    /// An ISO 4217 code, or `*` for every currency without its own price.
    pub currency: String,
    pub basis_points: i32,
    pub fixed_minor: i64,
    /// When it took effect (the Unix epoch for a price that always applied).
    pub effective_from: Timestamp,
}

impl From<&PriceRow> for Price {
    fn from(row: &PriceRow) -> Self {
        Price {
            object: "price",
            currency: row.currency.clone(),
            basis_points: row.basis_points,
            fixed_minor: row.fixed_minor,
            effective_from: Timestamp(row.effective_from),
        }
    }
}
