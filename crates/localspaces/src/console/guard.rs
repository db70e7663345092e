//! Console sign-in protection (strict mode): sessions that expire when idle, a limit on
//! failed sign-ins per client address, and constant-time comparison of secrets.
//!
//! Times come from the service clock, so the admin `advance` route moves them too.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use subtle::ConstantTimeEq;

/// A session unused for this long is gone: the next page asks to sign in again.
pub const SESSION_IDLE_SECS: f64 = 30.0 * 60.0;
/// Failed sign-ins an address may make before it has to wait.
pub const MAX_FAILURES: u32 = 5;
/// How long an address that reached [`MAX_FAILURES`] waits after its last failure; the
/// count starts again afterwards.
pub const LOCKOUT_SECS: f64 = 60.0;
/// Tracked addresses beyond which stale entries are dropped (bounds memory).
const MAX_TRACKED: usize = 10_000;

/// The peer address of a connection, put in the request's extensions by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of a request; unspecified when the server did not record one.
    pub fn of(parts: &hyper::http::request::Parts) -> IpAddr {
        parts
            .extensions
            .get::<ClientAddr>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0)
    }
}

/// Equality of two secrets in time that depends only on their lengths.
pub fn secret_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[derive(Debug)]
struct Session {
    /// `None`: the admin token (any account); `Some`: that access key's account.
    account: Option<String>,
    last_seen: f64,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: f64,
}

/// Console login sessions and failed sign-in counts, in memory.
#[derive(Debug, Default)]
pub struct ConsoleState {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl ConsoleState {
    /// Starts a session; drops the ones that expired.
    pub fn open(&self, sid: String, account: Option<String>, now: f64) {
        let mut s = self.sessions.lock();
        s.retain(|_, v| now - v.last_seen < SESSION_IDLE_SECS);
        s.insert(
            sid,
            Session {
                account,
                last_seen: now,
            },
        );
    }

    /// The account a live session may see (`Some(None)`: any), refreshing its idle time;
    /// `None` for an unknown or idle-expired session (which is then forgotten).
    pub fn touch(&self, sid: &str, now: f64) -> Option<Option<String>> {
        let mut s = self.sessions.lock();
        let live = s.get(sid).is_some_and(|v| now - v.last_seen < SESSION_IDLE_SECS);
        if !live {
            s.remove(sid);
            return None;
        }
        let v = s.get_mut(sid)?;
        v.last_seen = now;
        Some(v.account.clone())
    }

    /// Ends a session.
    pub fn close(&self, sid: &str) {
        self.sessions.lock().remove(sid);
    }

    /// Seconds `addr` must still wait before it may try to sign in, if it is locked out.
    pub fn locked_for(&self, addr: IpAddr, now: f64) -> Option<u64> {
        let f = *self.failures.lock().get(&addr)?;
        let left = f.last + LOCKOUT_SECS - now;
        (f.count >= MAX_FAILURES && left > 0.0).then(|| left.ceil() as u64)
    }

    /// Counts a failed sign-in of `addr`; returns how many it has made in a row.
    pub fn failed(&self, addr: IpAddr, now: f64) -> u32 {
        let mut m = self.failures.lock();
        if m.len() >= MAX_TRACKED {
            m.retain(|_, f| now - f.last < LOCKOUT_SECS);
        }
        let f = m.entry(addr).or_insert(Failures { count: 0, last: now });
        if now - f.last >= LOCKOUT_SECS {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        f.count
    }

    /// Forgets the failures of `addr` after it signed in.
    pub fn succeeded(&self, addr: IpAddr) {
        self.failures.lock().remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle() {
        let s = ConsoleState::default();
        s.open("a".into(), Some("111122223333".into()), 0.0);
        assert_eq!(s.touch("a", 10.0), Some(Some("111122223333".into())));
        // Use keeps it alive past the timeout counted from its start.
        assert!(s.touch("a", SESSION_IDLE_SECS).is_some());
        assert!(s.touch("a", 2.0 * SESSION_IDLE_SECS + 1.0).is_none());
        assert!(s.touch("a", 0.0).is_none(), "an expired session is forgotten");
        assert!(s.touch("nope", 0.0).is_none());
    }

    #[test]
    fn failures_lock_an_address_out_for_a_while() {
        let s = ConsoleState::default();
        let a: IpAddr = "10.0.0.7".parse().expect("ip");
        let b: IpAddr = "10.0.0.8".parse().expect("ip");
        for i in 1..MAX_FAILURES {
            assert_eq!(s.failed(a, 0.0), i);
            assert_eq!(s.locked_for(a, 0.0), None);
        }
        s.failed(a, 1.0);
        assert_eq!(s.locked_for(a, 1.0), Some(LOCKOUT_SECS as u64));
        assert_eq!(s.locked_for(b, 1.0), None, "per address");
        assert_eq!(s.locked_for(a, 1.0 + LOCKOUT_SECS), None);
        assert_eq!(s.failed(a, 1.0 + LOCKOUT_SECS), 1, "the count starts again");
        s.succeeded(a);
        assert_eq!(s.locked_for(a, 2.0 + LOCKOUT_SECS), None);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_eq("tok-123", "tok-123"));
        assert!(!secret_eq("tok-123", "tok-124"));
        assert!(!secret_eq("tok-123", "tok-1234"));
        assert!(!secret_eq("", "x"));
    }
}
