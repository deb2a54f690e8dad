//! The card vault: tokenization (`tokens`), sealed storage (`store`, `cipher`) and the two operations the
//! backend may ask of it: vault-forward (`forward`) and the card's safe summary for routing (`describe`).

pub mod apple_pay;
pub mod cipher;
pub mod describe;
pub mod forward;
pub mod store;
pub mod tokens;
