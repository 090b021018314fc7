//! Reading a stream ahead on a thread of its own, so that decompressing an object (`.gz`,
//! `.zst`) runs on one core while its records are decoded on another. The thread fills chunks
//! of [`CHUNK_BYTES`] and hands them over in order, at most [`CHUNKS_AHEAD`] filled and not yet
//! taken by the reader; the chunks' buffers go back to it to be filled again. The reader sees
//! the same bytes, each error where the stream broke (with its kind and message), and an end
//! only where the stream ends: a thread that stops without saying so is an error, never an
//! early end. Dropping the reader stops the thread before its next read of the source.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::Scope;

/// Bytes of one chunk handed over.
pub const CHUNK_BYTES: usize = 256 << 10;

/// Chunks the thread may have filled that the reader has not taken (three waiting in the
/// channel, one more waiting to be sent).
pub const CHUNKS_AHEAD: usize = 4;

/// What the thread sends.
enum Chunk {
    /// The next bytes of the stream (never empty).
    Bytes(Vec<u8>),
    /// The stream ended here.
    End,
    /// Reading failed here; nothing follows.
    Failed(io::Error),
}

/// Where the reader stands once the chunks stopped.
enum Stopped {
    /// The stream ended.
    End,
    /// Reading failed: the same error again on every later read.
    Failed(io::ErrorKind, String),
}

/// The reading side: a [`Read`] over the chunks the thread fills.
pub struct ReadAhead {
    chunks: Receiver<Chunk>,
    spare: Sender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    stopped: Option<Stopped>,
    /// Set when the reader is dropped: the thread reads no more.
    gone: Arc<AtomicBool>,
}

/// Reads `source` on a thread of `scope` (named `adx-read-ahead`) and returns the reader of
/// its bytes; an error if the thread cannot be started. Dropping the reader stops the thread
/// before its next read of the source.
pub fn read_ahead<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    source: Box<dyn Read + Send + 'env>,
) -> io::Result<ReadAhead> {
    let (chunk_tx, chunks) = sync_channel(CHUNKS_AHEAD - 1);
    let (spare, spare_rx) = channel();
    let gone = Arc::new(AtomicBool::new(false));
    let stop = gone.clone();
    std::thread::Builder::new()
        .name("adx-read-ahead".into())
        .spawn_scoped(scope, move || fill(source, &chunk_tx, &spare_rx, &stop))?;
    Ok(ReadAhead {
        chunks,
        spare,
        current: Vec::new(),
        at: 0,
        stopped: None,
        gone,
    })
}

/// The thread: fills chunks from `source` until its end, an error, or a reader gone.
fn fill(
    mut source: Box<dyn Read + Send + '_>,
    chunks: &SyncSender<Chunk>,
    spare: &Receiver<Vec<u8>>,
    gone: &AtomicBool,
) {
    loop {
        let mut buf = spare.try_recv().unwrap_or_default();
        buf.resize(CHUNK_BYTES, 0);
        let mut filled = 0;
        let mut stop = None;
        while filled < buf.len() {
            if gone.load(Ordering::Relaxed) {
                return;
            }
            match source.read(&mut buf[filled..]) {
                Ok(0) => {
                    stop = Some(Chunk::End);
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    stop = Some(Chunk::Failed(e));
                    break;
                }
            }
        }
        buf.truncate(filled);
        if filled > 0 && chunks.send(Chunk::Bytes(buf)).is_err() {
            return;
        }
        if let Some(stop) = stop {
            let _ = chunks.send(stop);
            return;
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.gone.store(true, Ordering::Relaxed);
    }
}

impl ReadAhead {
    fn stopped_error(kind: io::ErrorKind, message: &str) -> io::Error {
        io::Error::new(kind, message.to_string())
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.at == self.current.len() {
            match &self.stopped {
                Some(Stopped::End) => return Ok(0),
                Some(Stopped::Failed(kind, message)) => {
                    return Err(Self::stopped_error(*kind, message));
                }
                None => {}
            }
            let next = self.chunks.recv().unwrap_or_else(|_| {
                Chunk::Failed(io::Error::other(
                    "the read-ahead thread stopped before the end of the stream",
                ))
            });
            match next {
                Chunk::Bytes(bytes) => {
                    let done = std::mem::replace(&mut self.current, bytes);
                    // The thread allocates a new buffer if it is gone; nothing to do then.
                    let _ = self.spare.send(done);
                    self.at = 0;
                }
                Chunk::End => self.stopped = Some(Stopped::End),
                Chunk::Failed(e) => {
                    self.stopped = Some(Stopped::Failed(e.kind(), e.to_string()));
                    return Err(e);
                }
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that gives its bytes a few at a time, then fails (or ends), counting reads.
    struct Source {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        fail: bool,
        reads: Arc<AtomicUsize>,
    }

    impl Read for Source {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.at == self.bytes.len() {
                if self.fail {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate stream",
                    ));
                }
                return Ok(0);
            }
            let n = out.len().min(self.step).min(self.bytes.len() - self.at);
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn source(len: usize, step: usize, fail: bool) -> (Source, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let bytes = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let s = Source {
            bytes,
            at: 0,
            step,
            fail,
            reads: reads.clone(),
        };
        (s, reads)
    }

    /// Reads everything in pieces of `piece` bytes: the bytes, then the error if any.
    fn read_in_pieces(reader: &mut dyn Read, piece: usize) -> (Vec<u8>, Option<io::Error>) {
        let mut got = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Some(e)),
            }
        }
    }

    #[test]
    fn the_reader_gets_every_byte_in_order_and_then_the_end() {
        let len = 3 * CHUNK_BYTES + 12_345;
        let (s, _) = source(len, 10_000, false);
        let expected = s.bytes.clone();
        std::thread::scope(|scope| {
            let mut reader = read_ahead(scope, Box::new(s)).expect("thread");
            let (got, error) = read_in_pieces(&mut reader, 7_777);
            assert!(error.is_none(), "{error:?}");
            assert_eq!(got.len(), len);
            assert!(got == expected, "the bytes differ");
            assert_eq!(
                reader.read(&mut [0; 8]).ok(),
                Some(0),
                "the end stays the end"
            );
        });
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it_and_on_every_later_read() {
        let len = CHUNK_BYTES + 100;
        let (s, _) = source(len, 4_096, true);
        let expected = s.bytes.clone();
        std::thread::scope(|scope| {
            let mut reader = read_ahead(scope, Box::new(s)).expect("thread");
            let (got, error) = read_in_pieces(&mut reader, 1_000);
            assert!(got == expected, "every byte before the error arrives");
            let error = error.map(|e| (e.kind(), e.to_string()));
            let corrupt = Some((
                io::ErrorKind::InvalidData,
                "corrupt deflate stream".to_string(),
            ));
            assert_eq!(error, corrupt);
            let again = reader
                .read(&mut [0; 8])
                .map_err(|e| (e.kind(), e.to_string()));
            assert_eq!(again.err(), corrupt, "the error is sticky");
        });
    }

    #[test]
    fn a_thread_that_stops_without_an_end_is_an_error_not_an_end() {
        struct Panics;
        impl Read for Panics {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("decompressor bug");
            }
        }
        let seen = std::sync::Mutex::new(None);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|scope| {
                let mut reader = read_ahead(scope, Box::new(Panics)).expect("thread");
                let read = reader.read(&mut [0; 8]).map_err(|e| e.to_string());
                *seen.lock().unwrap() = Some(read);
            })
        }));
        // The reader sees the stop as an error; the scope then re-raises the thread's panic.
        assert!(outcome.is_err(), "the panic is not swallowed");
        let read = seen.lock().unwrap().take();
        let message = match read {
            Some(Err(message)) => message,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(message.contains("stopped before the end"), "{message}");
    }

    #[test]
    fn a_reader_dropped_early_stops_the_thread_within_a_few_chunks() {
        let len = 64 * CHUNK_BYTES;
        let (s, reads) = source(len, CHUNK_BYTES, false);
        std::thread::scope(|scope| {
            let mut reader = read_ahead(scope, Box::new(s)).expect("thread");
            let mut first = [0; 16];
            assert_eq!(reader.read(&mut first).ok(), Some(16));
            drop(reader);
        });
        // The scope joined the thread: it stopped with the chunk the reader had and the
        // chunks filled ahead of it.
        let reads = reads.load(Ordering::SeqCst);
        assert!(reads <= CHUNKS_AHEAD + 1, "{reads} reads of 64 chunks");
    }

    #[test]
    fn a_reader_dropped_early_stops_a_slow_source_before_its_chunk_is_full() {
        /// One full chunk at once, then 64 bytes a millisecond (4 s to fill a chunk).
        struct Slow {
            reads: Arc<AtomicUsize>,
        }
        impl Read for Slow {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.reads.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Ok(out.len());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
                let n = out.len().min(64);
                out[..n].fill(0);
                Ok(n)
            }
        }
        let reads = Arc::new(AtomicUsize::new(0));
        let slow = Slow {
            reads: reads.clone(),
        };
        std::thread::scope(|scope| {
            let mut reader = read_ahead(scope, Box::new(slow)).expect("thread");
            assert_eq!(reader.read(&mut [0; 16]).ok(), Some(16));
            drop(reader);
        });
        let reads = reads.load(Ordering::SeqCst);
        assert!(reads < 200, "{reads} reads after the reader was dropped");
    }
}
