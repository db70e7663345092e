//! Deadlines for connections, whatever they speak: the first bytes (before hyper can tell
//! HTTP/1 from HTTP/2) within the read timeout, and an idle watchdog that closes an HTTP/1
//! or HTTP/2 connection once no byte has moved for the idle timeout while no request is in
//! progress (hyper's own HTTP/2 server has no idle timer, and a peer that answers nothing
//! would hold its connection forever). A request in progress is bounded by the read timeout
//! for its head and body (hyper and the edge) and, as a last resort, by the watchdog once
//! nothing has moved for the read and idle timeouts together.

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
    /// HTTP/1 or the HTTP/2 preface: serve it.
    Http,
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
        if n == buf.len() || buf[..n] != H2_PREFACE[..n] {
            return FirstBytes::Http;
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
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Counts a request as in progress until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Completes when the connection should be closed: silent for `idle` with no request
    /// in progress, or for `idle + read` with one.
    pub async fn watchdog(self: Arc<Self>, idle: Duration, read: Duration) {
        let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            tokio::time::sleep(tick).await;
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let silent = Instant::now().saturating_duration_since(last);
            let limit = if self.in_flight.load(Ordering::Relaxed) == 0 {
                idle
            } else {
                idle + read
            };
            if silent >= limit {
                return;
            }
        }
    }
}

/// A request in progress (see [`Activity::request`]).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
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
        activity.touch();
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
            this.activity.touch();
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
            this.activity.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
