//! Where a request's time goes at the edge, hop by hop: a `Server-Timing` header (W3C Server Timing), sent only
//! when the variable `SERVER_TIMING` is `on`. Off by default, so an API caller learns nothing of our internals
//! unless an operator asks for it (the benchmark does: `make bench WHAT=edge`).
//!
//! The hops of a proxied request are `key` (the API key: nothing when the isolate has it cached, else its lookup
//! with the rate limit's take beside it), `limit` (the rate-limit object, after a cached key), `idempotency`
//! (the idempotency object's begin, beside `limit`) and `backend` (the signed call and its answer); `edge` is the
//! whole request inside the worker. Durations are whole milliseconds of the runtime's clock, which Workers
//! advance only at I/O (a Spectre mitigation): every hop is I/O and so is seen, CPU between hops is not.

use std::cell::RefCell;
use std::fmt::Write;
use worker::Env;

/// The hops of one request, in the order they ended.
pub struct Timings {
    started: u64,
    hops: RefCell<Vec<(&'static str, u64)>>,
}

impl Timings {
    pub fn start() -> Self {
        Timings { started: now(), hops: RefCell::new(Vec::new()) }
    }

    /// Runs `work`, recording how long it took under `name`.
    pub async fn hop<T>(&self, name: &'static str, work: impl std::future::Future<Output = T>) -> T {
        let started = now();
        let done = work.await;
        self.hops.borrow_mut().push((name, now().saturating_sub(started)));
        done
    }

    /// The header's value: each hop, then `edge`, the request so far.
    pub fn header(&self) -> String {
        self.header_at(now())
    }

    fn header_at(&self, now: u64) -> String {
        let mut value = String::new();
        for (name, ms) in self.hops.borrow().iter() {
            let _ = write!(value, "{name};dur={ms}, ");
        }
        let _ = write!(value, "edge;dur={}", now.saturating_sub(self.started));
        value
    }
}

/// Whether the operator asked for the header (`SERVER_TIMING = "on"`).
pub fn enabled(env: &Env) -> bool {
    env.var("SERVER_TIMING").is_ok_and(|v| v.to_string() == "on")
}

fn now() -> u64 {
    worker::Date::now().as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_lists_each_hop_then_the_whole() {
        let timings = Timings { started: 100, hops: RefCell::new(vec![("limit", 1), ("backend", 12)]) };
        assert_eq!(timings.header_at(115), "limit;dur=1, backend;dur=12, edge;dur=15");
    }
}
