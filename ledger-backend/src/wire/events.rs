//! An event as the API answers it and as webhooks carry it: the Standard Webhooks-style envelope
//! `{id, type, created, livemode, data: {object}}`, where the object is the one the change produced.

use super::Timestamp;
use crate::domain::events::EventRecord;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct Event {
    pub id: String,
    object: &'static str,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: Timestamp,
    pub livemode: bool,
    pub data: Value,
}

impl From<&EventRecord> for Event {
    fn from(event: &EventRecord) -> Self {
        Event {
            id: event.id.clone(),
            object: "event",
            event_type: event.event_type.clone(),
            created: Timestamp(event.created),
            livemode: event.mode == "live",
            data: event.data.clone(),
        }
    }
}
