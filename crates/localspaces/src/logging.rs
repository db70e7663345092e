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
use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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

impl Write for BatchWriter {
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
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn lines_from_many_threads_all_arrive_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::new(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        w.write_all(format!("t{t} line {i}\n").as_bytes()).unwrap();
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
        let (mut writer, _guard) = BatchWriter::new(sink.clone());
        for n in 1..=2 {
            std::thread::sleep(FLUSH_INTERVAL * 3);
            writer.write_all(b"hello\n").unwrap();
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
        let (mut writer, guard) = BatchWriter::new(sink.clone());
        let chunk = vec![b'x'; MAX_BUFFERED / 4];
        for _ in 0..10 {
            writer.write_all(&chunk).unwrap();
        }
        drop(guard);
        assert_eq!(sink.0.lock().len(), chunk.len() * 10);
    }
}
