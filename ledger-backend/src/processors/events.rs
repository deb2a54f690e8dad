//! What a processor's webhook means for us, the same for every connector: each connector reads its own
//! event format into a `ProcessorEvent` (pure; the signature was verified before).

/// The change a processor event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventEffect {
    /// The payment was authorized (`captured`: and captured): settles an authorization whose answer we lost.
    Authorized {
        captured: bool,
    },
    /// The payment was declined: settles an authorization whose answer we lost.
    AuthorizationDeclined {
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
    /// A refund is done: found by our refund id (`reference`) or the processor's action id.
    Refunded {
        reference: Option<String>,
        action: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
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
