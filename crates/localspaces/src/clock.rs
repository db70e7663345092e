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

/// The real clock shifted by an offset that only grows (the admin "advance the clock").
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    /// Moves this clock `secs` ahead of real time (cumulative).
    pub fn advance(&self, secs: f64) {
        let ms = (secs.max(0.0) * 1000.0) as i64;
        self.offset_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves this clock to at least `secs` ahead of real time (the offset another replica
    /// stored); never back. True if it moved.
    pub fn raise_to(&self, secs: f64) -> bool {
        let ms = (secs.max(0.0) * 1000.0) as i64;
        self.offset_ms.fetch_max(ms, std::sync::atomic::Ordering::SeqCst) < ms
    }

    /// Seconds this clock is ahead of real time.
    pub fn offset(&self) -> f64 {
        self.offset_ms.load(std::sync::atomic::Ordering::SeqCst) as f64 / 1000.0
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> f64 {
        SystemClock.now() + self.offset()
    }
}
