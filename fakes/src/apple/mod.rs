//! Apple's side of Apple Pay on the web, for tests and `make dev`: `tokens` (a test PKI shaped like Apple's and
//! `EC_v1` tokens minted as a device does) and `server`, a stand-in of Apple's merchant validation servers that
//! also mints tokens on request (`paygate-fake-apple`).

pub mod server;
pub mod tokens;

pub use tokens::*;
