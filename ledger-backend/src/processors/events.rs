//! What a processor's webhook means for us, the same for every connector: each connector reads its own
//! event format into a `ProcessorEvent` (pure; the signature was verified before). The reading is stored
//! with the event (serialized here, never the processor's raw body), so an event that came too early can be
//! applied again later.

use serde::{Deserialize, Serialize};

/// The change a processor event reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum EventEffect {
    /// The payment was authorized (`captured`: and captured): settles an authorization whose answer we lost.
    Authorized {
        captured: bool,
    },
    /// The payment was declined: settles an authorization whose answer we lost.
    AuthorizationDeclined {
        #[serde(with = "decline_code_text")]
        code: paygate_core::decline::DeclineCode,
        raw_code: String,
    },
    /// A capture the processor accepted is done (`action`: its id).
    Captured {
        action: Option<String>,
    },
    CaptureDeclined {
        code: String,
    },
    Voided,
    VoidDeclined {
        code: String,
    },
    /// A refund is done: found by our refund id (`reference`) or the processor's action id. One that is none of
    /// ours was made at the processor itself (its dashboard), and is booked by its `amount`.
    Refunded {
        reference: Option<String>,
        action: Option<String>,
        amount: Option<i64>,
    },
    RefundDeclined {
        reference: Option<String>,
        action: Option<String>,
        code: String,
    },
    /// The processor has refunded this much of the payment in all (Stripe's `charge.refunded`, which also fires
    /// on partial refunds): more than we know of means refunds made at the processor itself.
    RefundedInAll {
        total: i64,
        refund: Option<String>,
    },
    /// A dispute (or an inquiry) was opened on the payment: stored and told to the merchant.
    DisputeOpened,
    /// Nothing for us to do (an event that confirms what we already know, or a type we do not act on).
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorEvent {
    /// The processor's event id: an event is stored once by it.
    pub id: String,
    pub event_type: String,
    /// The processor's payment (Checkout.com `pay_…`, Stripe `pi_…`) the event is about.
    pub payment: Option<String>,
    /// Our charge and attempt, as we planted them in the payment (reference, metadata), when the event
    /// carries them: how an event finds a charge whose authorization answer never reached us.
    pub charge: Option<String>,
    pub attempt: Option<String>,
    pub effect: EventEffect,
}

/// A decline code as its text (a code this build does not know reads back as a generic decline).
mod decline_code_text {
    use paygate_core::decline::DeclineCode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(code: &DeclineCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(code.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DeclineCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(DeclineCode::parse(&text).unwrap_or(DeclineCode::GenericDecline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_core::decline::DeclineCode;

    #[test]
    fn a_reading_is_stored_and_read_back_unchanged() {
        let effects = [
            EventEffect::Authorized { captured: true },
            EventEffect::AuthorizationDeclined { code: DeclineCode::InsufficientFunds, raw_code: "20051".into() },
            EventEffect::Captured { action: Some("act_1".into()) },
            EventEffect::RefundDeclined { reference: None, action: Some("act_2".into()), code: "20005".into() },
            EventEffect::RefundedInAll { total: 250, refund: Some("re_1".into()) },
            EventEffect::Voided,
        ];
        for effect in effects {
            let event = ProcessorEvent {
                id: "evt_1".into(),
                event_type: "payment_approved".into(),
                payment: Some("pay_1".into()),
                charge: Some("ch_1".into()),
                attempt: None,
                effect,
            };
            let stored = serde_json::to_value(&event).unwrap();
            assert_eq!(serde_json::from_value::<ProcessorEvent>(stored).unwrap(), event);
        }
    }
}
