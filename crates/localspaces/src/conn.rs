//! Deadlines for connections, whatever they speak: the first bytes (before hyper can tell
//! HTTP/1 from HTTP/2) within the read timeout, and an idle watchdog that closes an HTTP/1
//! or HTTP/2 connection once no byte has moved for the idle timeout while no request is in
//! progress (hyper's own HTTP/2 server has no idle timer, and a peer that answers nothing
//! would hold its connection forever). On HTTP/1 the watchdog also bounds each request head:
//! it must be complete within the read timeout of the previous answer (or of the connection's
//! start), like hyper's own header timer, which would cost a timer per request. A request
//! in progress is bounded by the read timeout for its body (the edge) and, as a last resort,
//! by the watchdog once nothing has moved for the read and idle timeouts together.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstBytes {
    /// HTTP/1: serve it.
    Http1,
    /// The HTTP/2 preface: serve it.
    Http2,
    /// Something that is no HTTP (a TLS ClientHello, binary junk): answer 400 and close.
    NotHttp,
    /// Nothing within the deadline, or the peer went away: close.
    Silent,
}

/// Waits up to `limit` for the first bytes of a connection, until they tell HTTP/1 from the
/// HTTP/2 preface (what hyper-util's auto builder reads first, without a timer of its own).
pub async fn first_bytes(stream: &TcpStream, limit: Duration) -> FirstBytes {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 24];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return FirstBytes::Silent,
        };
        if n == 0 {
            return FirstBytes::Silent;
        }
        // Every HTTP/1 method and the HTTP/2 preface start with an upper-case letter.
        if !buf[0].is_ascii_uppercase() {
            return FirstBytes::NotHttp;
        }
        if buf[..n] != H2_PREFACE[..n] {
            return FirstBytes::Http1;
        }
        if n == buf.len() {
            return FirstBytes::Http2;
        }
        // A prefix of the HTTP/2 preface: wait for the rest, within the same deadline.
        if Instant::now() >= deadline {
            return FirstBytes::Silent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The answer to bytes that are not HTTP: an AWS-shaped 400 (a client that speaks TLS to
/// the plain port cannot read it, but a person looking at the bytes can).
pub const NOT_HTTP_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amzn-ErrorType: SerializationException\r\nConnection: close\r\nContent-Length: 108\r\n\r\n{\"__type\":\"SerializationException\",\"message\":\"The request is not HTTP (TLS is not served on this port).\"}";

/// Activity shared between a connection's IO, its requests and its watchdog.
///
/// The IO side only bumps counters; the watchdog, which wakes every tick anyway, notes the
/// tick at which a counter last changed. Reading the clock on every read and write cost two
/// clock reads and a subtraction per request; a change is now dated to the first tick after
/// it, so a deadline is judged at most one tick late and never early.
#[derive(Debug)]
pub struct Activity {
    /// Bumped whenever bytes are read or the server answers.
    moved: AtomicU64,
    /// Bumped whenever the server answers: a handler finished or bytes were written. The
    /// connection's start counts as an answer: an HTTP/1 request head must be complete
    /// within the read timeout of the last one.
    answers: AtomicU64,
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
    /// The connection speaks HTTP/1 (request heads are bounded by the watchdog).
    http1: bool,
}

/// Why a connection's watchdog task ended it: [`Activity::watchdog`]'s verdicts, or the server
/// stopping.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// Nothing moved for the idle timeout (the read and idle timeouts with a request in
    /// progress).
    Idle,
    /// An HTTP/1 request head took longer than the read timeout.
    SlowHead,
    /// The server is stopping: finish the requests in progress, then close.
    Draining,
}

/// A counter and the time the watchdog last saw it change.
struct Seen {
    count: u64,
    at: Instant,
}

impl Seen {
    /// Notes `count` read at `now`: a change is dated `now`.
    fn update(&mut self, count: u64, now: Instant) {
        if count != self.count {
            self.count = count;
            self.at = now;
        }
    }
}

impl Activity {
    /// The activity of a new connection; `http1`: bound its request heads.
    pub fn new(http1: bool) -> Arc<Self> {
        Arc::new(Activity {
            moved: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            http1,
        })
    }

    /// Bytes were read.
    fn touch(&self) {
        self.moved.fetch_add(1, Ordering::Relaxed);
    }

    /// The server answered (a handler finished, or bytes were written).
    fn answered(&self) {
        self.moved.fetch_add(1, Ordering::Relaxed);
        self.answers.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request as in progress until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Completes when the connection should be closed: silent for `idle` with no request
    /// in progress, or for `idle + read` with one; on HTTP/1, also when no request is in
    /// progress and `read` has passed since the last answer (the next head is late).
    /// Started with the connection: its start is the first activity and the first answer.
    pub async fn watchdog(self: Arc<Self>, idle: Duration, read: Duration) -> Closed {
        let tick = (idle.min(read) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let start = Instant::now();
        let mut moved = Seen {
            count: self.moved.load(Ordering::Relaxed),
            at: start,
        };
        let mut answered = Seen {
            count: self.answers.load(Ordering::Relaxed),
            at: start,
        };
        loop {
            tokio::time::sleep(tick).await;
            let now = Instant::now();
            moved.update(self.moved.load(Ordering::Relaxed), now);
            answered.update(self.answers.load(Ordering::Relaxed), now);
            let between_requests = self.in_flight.load(Ordering::Relaxed) == 0;
            let limit = if between_requests { idle } else { idle + read };
            if now.duration_since(moved.at) >= limit {
                return Closed::Idle;
            }
            if self.http1 && between_requests && now.duration_since(answered.at) >= read {
                return Closed::SlowHead;
            }
        }
    }
}

/// A request in progress (see [`Activity::request`]).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.answered();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream that records when bytes move.
pub struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    pub fn new(inner: TcpStream, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.answered();
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.answered();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(4);
    const READ: Duration = Duration::from_secs(2);

    /// Runs the watchdog while `poke` acts every 100 ms for `busy`; returns why it closed
    /// and how long after the activity stopped.
    async fn closed_after(http1: bool, busy: Duration, poke: fn(&Arc<Activity>)) -> (Closed, Duration) {
        let a = Activity::new(http1);
        let dog = tokio::spawn(Arc::clone(&a).watchdog(IDLE, READ));
        let start = Instant::now();
        while start.elapsed() < busy {
            poke(&a);
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(!dog.is_finished(), "closed while active");
        }
        let stopped = Instant::now();
        let why = dog.await.expect("watchdog");
        (why, stopped.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_closes_after_the_idle_timeout_at_most_a_tick_or_two_late() {
        let (why, after) = closed_after(false, Duration::ZERO, |_| {}).await;
        assert_eq!(why, Closed::Idle);
        // tick = min(idle, read) / 4 = 500 ms.
        assert!(
            after >= IDLE && after <= IDLE + Duration::from_millis(1000),
            "{after:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answering_keeps_a_connection_open_and_its_silence_counts_from_the_last_answer() {
        let (why, after) = closed_after(false, Duration::from_secs(10), |a| a.answered()).await;
        assert_eq!(why, Closed::Idle);
        assert!(
            after + Duration::from_millis(600) >= IDLE && after <= IDLE + Duration::from_millis(1000),
            "{after:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_http1_head_that_trickles_in_is_closed_after_the_read_timeout() {
        // Bytes keep arriving, but no request is complete: no answer since the start.
        let a = Activity::new(true);
        let dog = tokio::spawn(Arc::clone(&a).watchdog(IDLE, READ));
        let start = Instant::now();
        while !dog.is_finished() {
            a.touch();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(dog.await.expect("watchdog"), Closed::SlowHead);
        let took = start.elapsed();
        assert!(
            took >= READ && took <= READ + Duration::from_millis(1000),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_has_the_read_timeout_on_top_of_the_idle_one() {
        let a = Activity::new(true);
        let guard = a.request();
        let dog = tokio::spawn(Arc::clone(&a).watchdog(IDLE, READ));
        let start = Instant::now();
        let why = dog.await.expect("watchdog");
        assert_eq!(why, Closed::Idle);
        let took = start.elapsed();
        assert!(
            took >= IDLE + READ && took <= IDLE + READ + Duration::from_millis(1000),
            "{took:?}"
        );
        drop(guard);
    }
}
