//! Apple Pay domains as the API answers them.

use super::{Timestamp, livemode};
use crate::domain::apple_pay_domains::DomainRecord;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ApplePayDomain {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub domain_name: String,
    pub created: Timestamp,
}

impl From<&DomainRecord> for ApplePayDomain {
    fn from(record: &DomainRecord) -> Self {
        ApplePayDomain {
            id: record.id.clone(),
            object: "apple_pay_domain",
            livemode: livemode(record.mode),
            domain_name: record.domain_name.clone(),
            created: Timestamp(record.created),
        }
    }
}
