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

/// The latest time the service clock may show: 9999-12-31T23:59:59Z, in epoch seconds.
pub const LATEST: f64 = 253_402_300_799.0;

/// The real clock shifted by an offset that only grows (the admin "advance the clock").
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    /// Moves this clock `secs` ahead (cumulative; it never moves back). Refused, leaving it
    /// unchanged, when `secs` is negative or not finite, or when the clock would pass
    /// [`LATEST`] (what timestamps on the wire can express).
    pub fn advance(&self, secs: f64) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        if !secs.is_finite() || secs < 0.0 {
            return Err("seconds must be a non-negative number".into());
        }
        let headroom = LATEST - SystemClock.now();
        let refuse = || {
            format!("the clock cannot move past 9999-12-31T23:59:59Z (at most {headroom:.0} seconds ahead of now)")
        };
        self.offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                let next = cur as f64 + (secs * 1000.0).round();
                (next / 1000.0 <= headroom).then_some(next as i64)
            })
            .map(|_| ())
            .map_err(|_| refuse())
    }

    /// Moves this clock to at least `secs` ahead of real time (the offset another replica
    /// stored); never back, and never past [`LATEST`] (a corrupt shared offset is clamped).
    /// True if it moved.
    pub fn raise_to(&self, secs: f64) -> bool {
        let headroom = (LATEST - SystemClock.now()).max(0.0);
        let secs = if secs.is_finite() {
            secs.clamp(0.0, headroom)
        } else {
            0.0
        };
        let ms = (secs * 1000.0) as i64;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_bounded_and_monotonic() {
        let c = OffsetClock::default();
        assert!(c.advance(60.0).is_ok());
        assert_eq!(c.offset(), 60.0);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300, LATEST] {
            assert!(c.advance(bad).is_err(), "{bad}");
            assert_eq!(c.offset(), 60.0, "{bad} moved the clock");
        }
        let room = LATEST - SystemClock.now() - 60.0 - 10.0;
        assert!(c.advance(room).is_ok());
        assert!(c.now() <= LATEST);
        assert!(c.advance(3600.0).is_err(), "past year 9999");
    }

    #[test]
    fn a_shared_offset_cannot_push_the_clock_past_year_9999() {
        let c = OffsetClock::default();
        assert!(!c.raise_to(f64::NAN));
        assert!(!c.raise_to(f64::INFINITY));
        assert_eq!(c.offset(), 0.0);
        assert!(c.raise_to(1e300));
        assert!(c.now() <= LATEST + 1.0);
        assert!(!c.raise_to(-5.0), "never back");
    }
}
