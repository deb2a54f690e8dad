//! Fresh ids for the backend: core's typed ids need the clock and random bytes, which live here.

use paygate_core::id::{Id, IdKind, Minter};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn unix_ms_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn unix_seconds_now() -> i64 {
    (unix_ms_now() / 1_000) as i64
}

/// The process's one minter: ids from this process strictly increase (see `Minter`).
static MINTER: Mutex<Minter> = Mutex::new(Minter::new());

/// A new id of kind `K` stamped with the current time, after every id this process made before.
pub fn new_id<K: IdKind>() -> Id<K> {
    let mut random = [0u8; 10];
    // The OS random source failing is not a condition a payment service can continue under.
    getrandom::fill(&mut random).expect("the operating system's random source is unavailable");
    // The lock is held for a few arithmetic operations; a poisoned lock still holds a valid minter.
    MINTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).next(unix_ms_now(), random)
}
