//! Processor accounts and the routing table as the API answers them. Credentials are never part of an
//! answer: only their hint (`sk_test_…4242`).

use super::{Timestamp, livemode};
use crate::domain::processors::accounts::AccountRecord;
use crate::domain::processors::events::StoredEvent;
use paygate_core::routing::RoutingTable;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct ProcessorAccount {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub connector: &'static str,
    pub display_name: String,
    /// What identifies the credentials to people; the credentials themselves are never answered.
    pub credentials_hint: Option<String>,
    pub settings: Value,
    pub enabled: bool,
    /// The processor's last word that the account is not set up for what was asked; null when none.
    pub problem: Option<String>,
    pub problem_at: Option<Timestamp>,
    pub created: Timestamp,
    /// Where the scheduled pull of its settlement reports stands; null before the first.
    pub settlement_pull: Option<SettlementPull>,
}

#[derive(Debug, Serialize)]
pub struct SettlementPull {
    /// Everything the processor reported before this instant has been imported.
    pub pulled_until: Timestamp,
    pub last_pulled_at: Option<Timestamp>,
    pub next_pull_at: Timestamp,
    /// Failures in a row, and the last one's reason (null once a pull succeeds).
    pub failures: i32,
    pub last_error: Option<String>,
}

impl From<&AccountRecord> for ProcessorAccount {
    fn from(account: &AccountRecord) -> Self {
        ProcessorAccount {
            id: account.id.to_string(),
            object: "processor_account",
            livemode: livemode(account.mode),
            connector: account.connector.0.as_str(),
            display_name: account.display_name.clone(),
            credentials_hint: account.credentials_hint.clone(),
            settings: account.settings.clone(),
            enabled: account.enabled,
            problem: account.problem.clone(),
            problem_at: account.problem_at.map(Timestamp),
            created: Timestamp(account.created),
            settlement_pull: account.settlement_pull.as_ref().map(|pull| SettlementPull {
                pulled_until: Timestamp(pull.pulled_until),
                last_pulled_at: pull.last_pulled_at.map(Timestamp),
                next_pull_at: Timestamp(pull.next_pull_at),
                failures: pull.failures,
                last_error: pull.last_error.clone(),
            }),
        }
    }
}

/// The routing table; `configured: false` is the implicit one (test mode: the sandbox account).
#[derive(Debug, Serialize)]
pub struct Routing {
    object: &'static str,
    pub livemode: bool,
    pub configured: bool,
    pub rules: Vec<paygate_core::routing::Rule>,
    pub default: Option<String>,
}

impl Routing {
    pub fn new(mode: paygate_core::Mode, table: Option<RoutingTable>, implicit_default: Option<String>) -> Self {
        match table {
            Some(table) => Routing {
                object: "routing",
                livemode: livemode(mode),
                configured: true,
                rules: table.rules,
                default: Some(table.default),
            },
            None => Routing {
                object: "routing",
                livemode: livemode(mode),
                configured: false,
                rules: vec![],
                default: implicit_default,
            },
        }
    }
}

/// A webhook a processor sent for one of the merchant's accounts, and what it did: `unmatched` ones are about
/// payments Paygate does not know (made outside Paygate, or under another account) and want a look.
#[derive(Debug, Serialize)]
pub struct ReceivedProcessorEvent {
    pub id: String,
    object: &'static str,
    /// The processor's own event id (`evt_…`).
    pub processor_event_id: String,
    pub event_type: String,
    /// The processor's payment the event is about (`pi_…`, `pay_…`).
    pub payment: Option<String>,
    /// The action or refund it is about, when it names one.
    pub object_reference: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    pub received: Timestamp,
}

impl From<&StoredEvent> for ReceivedProcessorEvent {
    fn from(event: &StoredEvent) -> Self {
        ReceivedProcessorEvent {
            id: event.cursor.clone(),
            object: "processor_event",
            processor_event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            payment: event.payment_reference.clone(),
            object_reference: event.object_reference.clone(),
            outcome: event.outcome.clone(),
            detail: event.detail.clone(),
            received: Timestamp(event.received),
        }
    }
}
