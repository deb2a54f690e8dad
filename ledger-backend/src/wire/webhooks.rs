//! Webhook endpoints and an event's deliveries as the API answers them.

use super::Timestamp;
use crate::domain::webhooks::endpoints::EndpointRecord;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct WebhookEndpoint {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub url: String,
    pub description: Option<String>,
    pub enabled_events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The previous secret still signs too, until the rotation's overlap ends.
    pub secret_rotating: bool,
    pub created: Timestamp,
}

impl From<&EndpointRecord> for WebhookEndpoint {
    fn from(endpoint: &EndpointRecord) -> Self {
        WebhookEndpoint {
            id: endpoint.id.clone(),
            object: "webhook_endpoint",
            livemode: endpoint.mode == "live",
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            enabled_events: endpoint.enabled_events.clone(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            secret_rotating: endpoint.rotating,
            created: Timestamp(endpoint.created),
        }
    }
}

/// An endpoint with its signing secret: answered once, at creation and at rotation.
#[derive(Debug, Serialize)]
pub struct WithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// A deleted object, as it was, marked deleted.
#[derive(Debug, Serialize)]
pub struct Deleted<T> {
    #[serde(flatten)]
    pub object: T,
    pub deleted: bool,
}

/// One delivery of an event to one endpoint, with every attempt.
#[derive(Debug, Serialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub object: &'static str,
    pub event: String,
    pub endpoint: String,
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due, while the delivery is pending.
    pub next_attempt_at: Option<Timestamp>,
    pub last_status_code: Option<i32>,
    pub attempt_log: Vec<DeliveryAttempt>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryAttempt {
    pub attempt: i32,
    pub at: Timestamp,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}
