//! Where log lines go: a buffer that a thread of its own writes out to stderr every few
//! milliseconds, so that a request that logs a line only copies it (no system call, no thread
//! woken per line). Nothing is dropped: past [`HIGH_WATER`] bytes the writer thread is woken at
//! once, and past [`LIMIT`] the request writes the buffer out itself. Dropping the [`Flusher`]
//! writes out what is left.
//!
//! Why not `tracing-appender`'s non-blocking writer: it sends each line through a channel to a
//! worker that writes it on its own, and without loss (`lossy(false)`, which "nothing is dropped"
//! needs) it cost the wrong-code verify about 6 µs of server CPU a request. Measured with
//! `make load`'s first step (5 s runs, 2026-12-06, the same session, two runs each): this writer
//! 71,434 and 72,209 verifies/s at 17.3 and 17.1 µs; `tracing-appender` 54,503 and 52,348/s at
//! 22.8 and 23.6 µs, against a bare endpoint at about 175,000/s either way.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How often queued lines are written out when few arrive.
const INTERVAL: Duration = Duration::from_millis(20);
/// Queued bytes that wake the writer thread before its interval.
const HIGH_WATER: usize = 256 * 1024;
/// Queued bytes past which a logging request writes the queue out itself rather than grow it.
const LIMIT: usize = 8 * 1024 * 1024;

struct Shared<W> {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Held while writing out, so that chunks reach it in the order they were queued; the queue
    /// itself is free meanwhile.
    out: Mutex<W>,
}

struct Queue {
    lines: Vec<u8>,
    closed: bool,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves at worst a partial line behind.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<W: Write> Shared<W> {
    /// Writes out everything queued so far; `spare` is an empty buffer to swap in.
    fn write_out(&self, spare: &mut Vec<u8>) {
        let mut out = locked(&self.out);
        std::mem::swap(&mut locked(&self.queue).lines, spare);
        if !spare.is_empty() {
            // Nowhere to report a failing stderr: the lines are given up rather than kept.
            let _ = out.write_all(spare);
            let _ = out.flush();
            spare.clear();
        }
    }
}

/// The `MakeWriter` for `tracing_subscriber`: each line is appended to the shared queue.
pub struct QueuedWriter<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for QueuedWriter<W> {
    fn clone(&self) -> Self {
        QueuedWriter {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Writes out what is queued when dropped, and stops the writer thread.
pub struct Flusher<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A queued writer over `out`, and the handle that flushes it at the end.
pub fn queued<W: Write + Send + 'static>(out: W) -> (QueuedWriter<W>, Flusher<W>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            lines: Vec::with_capacity(HIGH_WATER),
            closed: false,
        }),
        wake: Condvar::new(),
        out: Mutex::new(out),
    });
    let worker = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("otp-relay-log".into())
        .spawn(move || {
            let mut spare = Vec::with_capacity(HIGH_WATER);
            loop {
                worker.write_out(&mut spare);
                let queue = locked(&worker.queue);
                if queue.closed {
                    break;
                }
                if queue.lines.len() < HIGH_WATER {
                    let _ = worker.wake.wait_timeout(queue, INTERVAL);
                }
            }
        })
        .ok();
    (
        QueuedWriter {
            shared: Arc::clone(&shared),
        },
        Flusher { shared, thread },
    )
}

impl<W: Write> Write for QueuedWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let queued = {
            let mut queue = locked(&self.shared.queue);
            queue.lines.extend_from_slice(bytes);
            queue.lines.len()
        };
        if queued >= LIMIT {
            self.shared.write_out(&mut Vec::new());
        } else if queued >= HIGH_WATER {
            self.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> tracing_subscriber::fmt::MakeWriter<'a> for QueuedWriter<W> {
    type Writer = QueuedWriter<W>;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl<W: Write + Send + 'static> Drop for Flusher<W> {
    fn drop(&mut self) {
        locked(&self.shared.queue).closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Without a thread (it could not be started), or lines written since: out they go.
        self.shared.write_out(&mut Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_and_nothing_is_left_at_the_end() {
        let sink = Sink::default();
        let (writer, flusher) = queued(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for n in 0..10_000 {
                        writer.write_all(format!("{t} {n}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flusher);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 40_000);
        for t in 0..4 {
            let own: Vec<u32> = text
                .lines()
                .filter_map(|line| line.strip_prefix(&format!("{t} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(own, (0..10_000).collect::<Vec<_>>(), "thread {t} in order");
        }
    }

    #[test]
    fn lines_are_written_out_without_waiting_for_the_end() {
        let sink = Sink::default();
        let (mut writer, _flusher) = queued(sink.clone());
        writer.write_all(b"one line\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written out");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().unwrap().as_slice(), b"one line\n");
    }
}
