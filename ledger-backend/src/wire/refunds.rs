//! A refund as the API answers it.

use super::{Timestamp, livemode};
use crate::domain::refunds::RefundRecord;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct Refund {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub charge: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub metadata: Value,
    pub failure_code: Option<String>,
    pub created: Timestamp,
}

impl From<&RefundRecord> for Refund {
    fn from(refund: &RefundRecord) -> Self {
        Refund {
            id: refund.id.to_string(),
            object: "refund",
            livemode: livemode(refund.mode),
            charge: refund.charge_id.to_string(),
            status: refund.status.clone(),
            amount: refund.amount,
            currency: refund.currency.clone(),
            reason: refund.reason.clone(),
            metadata: refund.metadata.clone(),
            failure_code: refund.failure_code.clone(),
            created: Timestamp(refund.created),
        }
    }
}
