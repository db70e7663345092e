//! A log writer that batches lines for a background flusher, without waking it per line.
//!
//! tracing-appender's non-blocking writer sends each line through a channel and wakes its
//! worker thread for it: under load that is a futex wake and a context switch per request
//! (about 3 µs of a ~20 µs request when the server runs on one core). Here a line is
//! appended to a shared buffer under a mutex; the flusher thread writes the buffer every
//! [`FLUSH_INTERVAL`] while lines keep coming and parks when they stop, so only the first
//! line after a quiet spell wakes it (and that line appears at once). A writer that finds
//! the buffer over [`MAX_BUFFERED`] (the sink is blocked or slow) writes it out itself
//! rather than grow it without bound: lines are never dropped and keep their order.

use parking_lot::{Condvar, Mutex};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How often the flusher writes while lines keep coming.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Buffered bytes beyond which a writer writes out the buffer itself.
pub const MAX_BUFFERED: usize = 4 << 20;

struct State {
    buf: Vec<u8>,
    /// The flusher waits on the condvar (and must be woken by the next line).
    parked: bool,
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while bytes taken from the buffer are written, so that writes keep the order
    /// in which they were taken.
    sink: Mutex<Box<dyn Write + Send>>,
}

impl Shared {
    /// Takes what is buffered (under `sink`, held by the caller) and writes it.
    fn drain(&self, sink: &mut Box<dyn Write + Send>, spare: &mut Vec<u8>) {
        {
            let mut st = self.state.lock();
            std::mem::swap(&mut st.buf, spare);
        }
        if !spare.is_empty() {
            // Nowhere to report a failing log sink; the lines are lost, the server goes on.
            let _ = sink.write_all(spare).and_then(|()| sink.flush());
            spare.clear();
        }
    }
}

/// The writer handed to `tracing_subscriber` (cheap to clone).
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the flusher and writes what is left when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// A writer to `sink`, with its flusher thread.
    pub fn new(sink: impl Write + Send + 'static) -> (BatchWriter, FlushGuard) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buf: Vec::with_capacity(64 << 10),
                parked: false,
                closing: false,
            }),
            wake: Condvar::new(),
            sink: Mutex::new(Box::new(sink)),
        });
        let flusher = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || flush_loop(&flusher))
            .ok();
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            thread,
        };
        (BatchWriter { shared }, guard)
    }

    fn append(&self, bytes: &[u8]) {
        let mut st = self.shared.state.lock();
        st.buf.extend_from_slice(bytes);
        let over = st.buf.len() > MAX_BUFFERED;
        if st.parked {
            st.parked = false;
            self.shared.wake.notify_one();
        }
        drop(st);
        if over {
            let mut sink = self.shared.sink.lock();
            self.shared.drain(&mut sink, &mut Vec::new());
        }
    }
}

fn flush_loop(shared: &Shared) {
    let mut spare = Vec::with_capacity(64 << 10);
    loop {
        {
            let mut st = shared.state.lock();
            while st.buf.is_empty() && !st.closing {
                st.parked = true;
                shared.wake.wait(&mut st);
            }
            if st.buf.is_empty() && st.closing {
                return;
            }
        }
        let mut sink = shared.sink.lock();
        shared.drain(&mut sink, &mut spare);
        drop(sink);
        if shared.state.lock().closing {
            continue;
        }
        std::thread::sleep(FLUSH_INTERVAL);
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        {
            let mut st = self.shared.state.lock();
            st.closing = true;
            st.parked = false;
            self.shared.wake.notify_one();
        }
        match self.thread.take() {
            Some(t) => {
                let _ = t.join();
            }
            None => {
                let mut sink = self.shared.sink.lock();
                self.shared.drain(&mut sink, &mut Vec::new());
            }
        }
    }
}

impl Write for &BatchWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.append(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = &'a BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// The text format of `tracing_subscriber::fmt` without colours
/// (`2026-11-23T10:00:00.123456Z  INFO target: message name="value" n=1`), written
/// without its general machinery: the date part of the timestamp is formatted once a
/// second, strings and numbers are written directly. It costs about a third of the
/// default formatter per request line. Spans are not shown (localspaces opens none).
#[derive(Debug, Default, Clone, Copy)]
pub struct TextFormat;

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // The line is built in a reused buffer with plain `push_str`s and handed to the
        // writer once: the writer is a `dyn fmt::Write`, a call per piece otherwise.
        with_line(|line| {
            let meta = event.metadata();
            // Writing to a `String` cannot fail.
            let _ = write_timestamp(line, SystemTime::now());
            line.push_str(match *meta.level() {
                Level::TRACE => " TRACE ",
                Level::DEBUG => " DEBUG ",
                Level::INFO => "  INFO ",
                Level::WARN => "  WARN ",
                Level::ERROR => " ERROR ",
            });
            line.push_str(meta.target());
            line.push(':');
            event.record(&mut Fields { line });
            line.push('\n');
            w.write_str(line)
        })
    }
}

struct Fields<'a> {
    line: &'a mut String,
}

impl Fields<'_> {
    fn name(&mut self, field: &Field) {
        let name = field.name();
        self.line.push(' ');
        self.line.push_str(name.strip_prefix("r#").unwrap_or(name));
        self.line.push('=');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.line.push(' ');
            self.line.push_str(value);
            return;
        }
        self.name(field);
        push_quoted(self.line, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.line, " {value:?}");
        } else {
            self.name(field);
            let _ = write!(self.line, "{value:?}");
        }
    }
}

/// A string field's value as tracing's text format writes it: in quotes, escaped as Rust's
/// `Debug` escapes it (plain printable ASCII is copied as is).
fn push_quoted(line: &mut String, value: &str) {
    if is_plain(value.as_bytes()) {
        line.push('"');
        line.push_str(value);
        line.push('"');
    } else {
        let _ = write!(line, "{value:?}");
    }
}

/// Whether `Debug` writes every byte of `bytes` as it is (see [`PLAIN`]), eight bytes a
/// step: a word holds another byte when one of its bytes is below 0x20, has its high bit
/// set, or equals `"`, `\` or DEL (the "has a zero byte" / "has a byte below n" word tests,
/// exact as yes/no answers). The byte-by-byte table walk was ~5 instructions a byte on
/// every request line's fields.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let other = (w.wrapping_sub(ONES * 0x20) & !w)
            | w
            | zero_in(w ^ (ONES * u64::from(b'"')))
            | zero_in(w ^ (ONES * u64::from(b'\\')))
            | zero_in(w ^ (ONES * 0x7f));
        if other & HIGH != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| PLAIN[usize::from(b)])
}

/// The bytes `Debug` writes as they are in a string: printable ASCII but `"` and `\`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

/// The writer of the request log when lines are in [`TextFormat`]: the request line (one
/// per call, the one line on the hot path) is then written here directly, the same line
/// the `tracing` event would give, without the event's dispatch and field visits (about
/// 2,500 instructions of a ~43,000-instruction request).
static DIRECT: std::sync::OnceLock<BatchWriter> = std::sync::OnceLock::new();

/// Sends request lines straight to `writer` (which must be the text-format subscriber's).
pub fn write_request_lines_to(writer: BatchWriter) {
    let _ = DIRECT.set(writer);
}

/// One answered request, as the request log shows it.
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub account: &'a str,
    pub operation: &'a str,
    pub protocol: &'a str,
    pub status: u16,
    pub latency_us: u64,
}

impl RequestLine<'_> {
    /// Logs the line (target `localspaces::request`, level INFO) if the filter lets it
    /// through: directly in text format, else as a `tracing` event.
    pub fn log(&self) {
        if !tracing::enabled!(target: "localspaces::request", Level::INFO) {
            return;
        }
        let Some(writer) = DIRECT.get() else {
            tracing::info!(
                target: "localspaces::request",
                request_id = %self.request_id,
                account = self.account,
                operation = self.operation,
                protocol = self.protocol,
                status = self.status,
                latency_us = self.latency_us,
                "request"
            );
            return;
        };
        with_line(|line| {
            self.write(line, SystemTime::now());
            writer.append(line.as_bytes());
        });
    }

    /// The line [`TextFormat`] writes for the request's event.
    fn write(&self, line: &mut String, now: SystemTime) {
        let _ = write_timestamp(line, now);
        line.push_str("  INFO localspaces::request: request request_id=");
        line.push_str(self.request_id);
        line.push_str(" account=");
        push_quoted(line, self.account);
        line.push_str(" operation=");
        push_quoted(line, self.operation);
        line.push_str(" protocol=");
        push_quoted(line, self.protocol);
        line.push_str(" status=");
        line.push_str(itoa::Buffer::new().format(self.status));
        line.push_str(" latency_us=");
        line.push_str(itoa::Buffer::new().format(self.latency_us));
        line.push('\n');
    }
}

/// Runs `f` on this thread's line buffer, emptied; the buffer is kept for the next line
/// unless it grew large.
fn with_line<R>(f: impl FnOnce(&mut String) -> R) -> R {
    LINE.with(|cell| {
        let mut line = cell.take();
        line.clear();
        let r = f(&mut line);
        if line.capacity() <= 4096 {
            cell.set(line);
        }
        r
    })
}

thread_local! {
    /// This thread's line buffer (kept when it stayed small).
    static LINE: Cell<String> = const { Cell::new(String::new()) };
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `2026-11-23T10:00:00.123456Z` (UTC, microseconds), as tracing's default timer writes it.
fn write_timestamp(w: &mut impl std::fmt::Write, now: SystemTime) -> std::fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            *cached = secs;
            *text = civil(secs);
        }
        w.write_str(text)
    })?;
    // Six digits with their leading zeros: those of 1,000,000 + µs after its `1`.
    let mut digits = itoa::Buffer::new();
    let micros = digits.format(1_000_000 + since.subsec_micros());
    w.write_char('.')?;
    w.write_str(micros.get(1..).unwrap_or("000000"))?;
    w.write_char('Z')
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time.
fn civil(secs: u64) -> String {
    let rem = secs % 86_400;
    let (year, month, day) = localspaces_protocol::sigv4::civil_from_days((secs / 86_400) as i64);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        year.clamp(0, 9999),
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word-at-a-time check answers as the byte table does, on any bytes (mostly
        /// printable ASCII, so that long plain runs with one odd byte anywhere are tried).
        #[test]
        fn plain_check_is_the_table_walk(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => 0x20u8..0x7f,
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..40,
            )
        ) {
            let table = bytes.iter().all(|&b| PLAIN[usize::from(b)]);
            proptest::prop_assert_eq!(is_plain(&bytes), table);
        }
    }

    #[test]
    fn plain_check_flags_each_odd_byte_in_a_word() {
        for odd in [0u8, 0x1f, b'"', b'\\', 0x7f, 0x80, 0xff] {
            for at in 0..16 {
                let mut bytes = vec![b'a'; 16];
                bytes[at] = odd;
                assert!(!is_plain(&bytes), "{odd:#x} at {at}");
            }
        }
        assert!(is_plain(b" !#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~"));
    }

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Lines of the same events through `TextFormat` and through tracing's own text format
    /// (no colours) are the same but for the timestamp.
    #[test]
    fn text_format_writes_what_tracings_default_format_writes() {
        fn capture(custom: bool) -> Vec<String> {
            let sink = Sink::default();
            let make = {
                let sink = sink.clone();
                move || sink.clone()
            };
            let builder = tracing_subscriber::fmt().with_ansi(false).with_writer(make);
            let emit = || {
                let rid = "5e3c-41";
                tracing::info!(target: "localspaces::request", request_id = %rid, account = "111122223333",
                    operation = "DescribeIpGroups", status = 200u16, latency_us = 41u64, "request");
                tracing::warn!(error = %"disk \"full\"", count = -3i64, ok = true, "store: {} left", 2);
                tracing::error!(r#type = "x\ny", "plain message");
            };
            if custom {
                tracing::subscriber::with_default(builder.event_format(TextFormat).finish(), emit);
            } else {
                tracing::subscriber::with_default(builder.finish(), emit);
            }
            let out = String::from_utf8(sink.0.lock().clone()).unwrap();
            out.lines()
                .map(|l| l.split_once(' ').unwrap().1.to_string())
                .collect()
        }
        let ours = capture(true);
        assert_eq!(ours.len(), 3, "{ours:?}");
        assert_eq!(ours, capture(false));
    }

    /// The request line written directly is the line of the same event through
    /// `TextFormat` (both with the timestamp cut off).
    #[test]
    fn direct_request_lines_are_the_events_lines() {
        let lines = [
            RequestLine {
                request_id: "5e3c-41",
                account: "111122223333",
                operation: "DescribeIpGroups",
                protocol: "json",
                status: 200,
                latency_us: 41,
            },
            RequestLine {
                request_id: "r",
                account: "we\"ird\nname",
                operation: "admin",
                protocol: "cbor",
                status: 404,
                latency_us: 0,
            },
        ];
        let sink = Sink::default();
        let make = {
            let sink = sink.clone();
            move || sink.clone()
        };
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(make)
            .event_format(TextFormat)
            .finish();
        // No direct writer is installed in tests: `log` sends the event.
        tracing::subscriber::with_default(subscriber, || lines.iter().for_each(RequestLine::log));
        let events = String::from_utf8(sink.0.lock().clone()).unwrap();
        let cut = |l: &str| l.split_once(' ').unwrap().1.to_string();
        let events: Vec<String> = events.lines().map(cut).collect();
        let direct: Vec<String> = lines
            .iter()
            .map(|l| {
                let mut s = String::new();
                l.write(&mut s, SystemTime::now());
                cut(s.trim_end_matches('\n'))
            })
            .collect();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(direct, events);
    }

    #[test]
    fn timestamps_match_known_dates() {
        let at = |secs: u64, micros: u32| {
            let mut s = String::new();
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros.into());
            write_timestamp(&mut s, t).unwrap();
            s
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_795_432_200, 123_456), "2026-11-23T11:10:00.123456Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
        // The cached second is reused for the next call in the same second.
        assert_eq!(at(1_795_432_200, 1), "2026-11-23T11:10:00.000001Z");
    }

    #[test]
    fn lines_from_many_threads_all_arrive_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::new(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        (&w).write_all(format!("t{t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.0.lock().clone()).unwrap();
        let mut next = [0usize; 4];
        for line in out.lines() {
            let (t, i) = line.split_once(" line ").unwrap();
            let t: usize = t[1..].parse().unwrap();
            assert_eq!(i.parse::<usize>().unwrap(), next[t], "{line}");
            next[t] += 1;
        }
        assert_eq!(next, [5000; 4]);
    }

    #[test]
    fn a_line_after_a_quiet_spell_is_written_without_waiting_for_more() {
        let sink = Sink::default();
        let (writer, _guard) = BatchWriter::new(sink.clone());
        for n in 1..=2 {
            std::thread::sleep(FLUSH_INTERVAL * 3);
            (&writer).write_all(b"hello\n").unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while sink.0.lock().len() < 6 * n {
                assert!(std::time::Instant::now() < deadline, "line {n} never written");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn a_buffer_over_the_limit_is_written_by_the_writer_itself() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::new(sink.clone());
        let chunk = vec![b'x'; MAX_BUFFERED / 4];
        for _ in 0..10 {
            (&writer).write_all(&chunk).unwrap();
        }
        drop(guard);
        assert_eq!(sink.0.lock().len(), chunk.len() * 10);
    }
}
