//! Request ids minted at the edge, the first place a request touches; the backend keeps them.

use paygate_core::id::{Id, RequestKind};

pub fn new() -> String {
    let mut random = [0u8; 10];
    // workerd always provides crypto.getRandomValues; without it no id could be unique.
    let _ = getrandom::fill(&mut random);
    Id::<RequestKind>::new(worker::Date::now().as_millis(), random).to_string()
}
