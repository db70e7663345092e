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
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    /// Milliseconds after `start` when a byte last moved.
    last_ms: AtomicU64,
    /// Milliseconds after `start` when the server last answered: a handler finished or a
    /// byte was written (0 until then). An HTTP/1 head must be complete within the read
    /// timeout of it.
    answered_ms: AtomicU64,
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
    /// The connection speaks HTTP/1 (request heads are bounded by the watchdog).
    http1: bool,
}

/// Why [`Activity::watchdog`] closed a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// Nothing moved for the idle timeout (the read and idle timeouts with a request in
    /// progress).
    Idle,
    /// An HTTP/1 request head took longer than the read timeout.
    SlowHead,
}

impl Activity {
    /// The activity of a new connection; `http1`: bound its request heads.
    pub fn new(http1: bool) -> Arc<Self> {
        Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            answered_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            http1,
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Bytes were read.
    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The server answered (a handler finished, or bytes were written).
    fn answered(&self) {
        let ms = self.now_ms();
        self.last_ms.store(ms, Ordering::Relaxed);
        self.answered_ms.store(ms, Ordering::Relaxed);
    }

    /// Counts a request as in progress until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Completes when the connection should be closed: silent for `idle` with no request
    /// in progress, or for `idle + read` with one; on HTTP/1, also when no request is in
    /// progress and `read` has passed since the last answer (the next head is late).
    pub async fn watchdog(self: Arc<Self>, idle: Duration, read: Duration) -> Closed {
        let tick = (idle.min(read) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let (idle_ms, read_ms) = (idle.as_millis() as u64, read.as_millis() as u64);
        loop {
            tokio::time::sleep(tick).await;
            let now = self.now_ms();
            let silent = now.saturating_sub(self.last_ms.load(Ordering::Relaxed));
            let between_requests = self.in_flight.load(Ordering::Relaxed) == 0;
            let limit = if between_requests {
                idle_ms
            } else {
                idle_ms + read_ms
            };
            if silent >= limit {
                return Closed::Idle;
            }
            let waited = now.saturating_sub(self.answered_ms.load(Ordering::Relaxed));
            if self.http1 && between_requests && waited >= read_ms {
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
        activity.answered();
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
