//! The public wire format: what every API answer and every event's `data.object` is made of. Records are
//! turned into these `Serialize` types in one way only (`From<&Record>`), so a column added to a table never
//! reaches the API by accident, timestamps are formatted in one place (`Timestamp`, core's RFC 3339), and
//! every list is a `List` built from a `Page`'s answer, so `has_more` is always the page's own. The OpenAPI
//! schemas (`http::schemas`) describe these shapes, and a test checks real answers against them.

mod api_keys;
mod apple_pay;
mod charges;
mod events;
mod ledger;
mod pricing;
mod processors;
mod reconciliation;
mod refunds;
mod webhooks;

pub use api_keys::{ApiKey, WithKey};
pub use apple_pay::ApplePayDomain;
pub use charges::{Card, Charge, PaymentMethodDetails};
pub use events::Event;
pub use ledger::{LedgerEntry, LedgerTransaction};
pub use pricing::Price;
pub use processors::{ProcessorAccount, ReceivedProcessorEvent, Routing};
pub use reconciliation::{Payout, ReconciliationException, ReconciliationRun};
pub use refunds::Refund;
pub use webhooks::{Deleted, DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WithSecret};

use serde::{Serialize, Serializer};

/// A moment, stored as Unix seconds and answered as RFC 3339 in UTC (`2026-11-29T22:02:14Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&paygate_core::time::rfc3339(self.0))
    }
}

/// Every list answer: `{object: "list", data, has_more}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
}

impl<T> List<T> {
    /// From what `Page::finish` answered: the page's objects and whether more exist.
    pub fn page((data, has_more): (Vec<T>, bool)) -> Self {
        List { object: "list", data, has_more }
    }

    /// A list that is complete by construction (an event's deliveries: one per subscribed endpoint).
    pub fn whole(data: Vec<T>) -> Self {
        List { object: "list", data, has_more: false }
    }
}

/// `livemode`, from a stored mode.
pub(crate) fn livemode(mode: paygate_core::Mode) -> bool {
    mode.is_live()
}

/// The value as JSON, for event snapshots. Our wire types are plain structs of strings, numbers, booleans
/// and maps, which always serialize.
pub fn to_value<T: Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).expect("wire types always serialize")
}
