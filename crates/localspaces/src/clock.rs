//! Time as the service sees it. Handlers and the lifecycle engine read time only through a
//! [`Clock`], so tests can control it.

use parking_lot::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in epoch seconds.
pub trait Clock: Send + Sync + 'static {
    /// Now, in epoch seconds (millisecond resolution is enough for the API).
    fn now(&self) -> f64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        (d.as_millis() as f64) / 1000.0
    }
}

/// A clock that moves only when told to (tests, the admin endpoint).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<f64>,
}

impl ManualClock {
    /// A manual clock starting at `start` epoch seconds.
    pub fn new(start: f64) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves time forward by `secs`.
    pub fn advance(&self, secs: f64) {
        *self.now.lock() += secs;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        *self.now.lock()
    }
}
