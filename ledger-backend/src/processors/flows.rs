//! Our side of every flow, the same for every connector: what we ask for.

use paygate_core::{Amount, Currency};

/// Authorize (or, with `capture`, sell) with the card of `token`.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest<'a> {
    /// Our attempt id: the processor's idempotency key, and how recovery finds the answer.
    pub attempt_id: &'a str,
    /// Our charge id, planted in the processor's records (metadata, reference) for reconciliation.
    pub charge_id: &'a str,
    pub token: &'a str,
    pub amount: Amount,
    pub currency: Currency,
    /// Capture in the same call (charge `capture: true`).
    pub capture: bool,
    /// A domestic Mada payment (Saudi merchant, Mada card): always a sale, sent the way Mada's rules say.
    pub mada: bool,
    /// A card, or a wallet's device card (a network token whose cryptogram and ECI the vault fills in).
    pub method: paygate_core::payment_method::PaymentMethod,
    /// Where the processor sends the shopper's browser back after a 3-D Secure authentication
    /// (`paygate_core::authentication::return_url`).
    pub return_url: &'a str,
}

/// An authorization the processor made, as later flows (capture, void, refund, lookups) address it.
#[derive(Debug, Clone, Copy)]
pub struct Authorization<'a> {
    /// The processor's id for it (Stripe's PaymentIntent id, the sandbox's authorization id).
    pub processor_reference: &'a str,
}

/// The operations on an authorization, for the connectors whose answers differ by flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Capture,
    Void,
    Refund,
}
