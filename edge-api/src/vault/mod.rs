//! The card vault: tokenization (`tokens`), sealed storage (`store`, `cipher`) and the one operation the
//! backend may ask of it, vault-forward (`forward`).

pub mod cipher;
pub mod forward;
pub mod store;
pub mod tokens;
