//! A blocking `Read` over a GetObject body: the object streams through in the chunks the
//! connection delivers, so a big object is never held whole in memory.
//!
//! The body is fetched ahead of the reader, in the background on the AWS runtime, up to
//! [`READ_AHEAD_BYTES`]: the download goes on while the caller decodes what it has. A failure
//! of the connection reaches the reader as an error where the bytes stop, never as an early end.

use aws_sdk_s3::primitives::ByteStream;
use bytes::{Buf, Bytes};
use std::io::{self, Read};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

/// Bytes of the body fetched and not yet read, at most (besides the chunk being fetched).
pub const READ_AHEAD_BYTES: usize = 8 << 20;

/// Chunks waiting for the reader, at most (the byte bound above is the one that counts).
const CHUNKS_AHEAD: usize = 4096;

/// A fetched chunk and its share of the read-ahead budget, the end of the body (`None`), or
/// why the body broke off.
type Fetched = Result<Option<(Bytes, OwnedSemaphorePermit)>, String>;

/// The body of one GetObject answer, fetched ahead on the AWS runtime and read chunk by chunk.
pub struct S3BodyReader {
    handle: Handle,
    fetched: mpsc::Receiver<Fetched>,
    fetch: JoinHandle<()>,
    chunk: Bytes,
    /// The current chunk's share of the budget, given back once it is read (held, not read).
    #[allow(dead_code)]
    permit: Option<OwnedSemaphorePermit>,
    location: String,
    done: bool,
    /// Why the body broke off: every read from there on says so.
    broken: Option<String>,
}

impl S3BodyReader {
    /// Starts fetching `body` ahead; `location` (`s3://bucket/key`) goes into read errors.
    pub fn new(handle: Handle, body: ByteStream, location: String) -> Self {
        let (sender, fetched) = mpsc::channel(CHUNKS_AHEAD);
        let fetch = handle.spawn(fetch_ahead(body, location.clone(), sender));
        S3BodyReader {
            handle,
            fetched,
            fetch,
            chunk: Bytes::new(),
            permit: None,
            location,
            done: false,
            broken: None,
        }
    }
}

/// Moves the body's chunks to the reader, holding at most [`READ_AHEAD_BYTES`] not yet read.
async fn fetch_ahead(mut body: ByteStream, location: String, sender: mpsc::Sender<Fetched>) {
    let budget = Arc::new(Semaphore::new(READ_AHEAD_BYTES));
    loop {
        let fetched = match body.next().await {
            None => Ok(None),
            Some(Ok(chunk)) => {
                // A chunk above the whole budget takes all of it.
                let share = chunk.len().clamp(1, READ_AHEAD_BYTES) as u32;
                match budget.clone().acquire_many_owned(share).await {
                    Ok(permit) => Ok(Some((chunk, permit))),
                    Err(e) => Err(format!("reading {location}: {e}")),
                }
            }
            Some(Err(e)) => Err(format!(
                "reading {location}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )),
        };
        let last = !matches!(fetched, Ok(Some(_)));
        // A send fails only when the reader is gone: nothing more to fetch for.
        if sender.send(fetched).await.is_err() || last {
            return;
        }
    }
}

impl Read for S3BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            self.permit = None;
            if let Some(message) = &self.broken {
                return Err(io::Error::other(message.clone()));
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.handle.block_on(self.fetched.recv()) {
                Some(Ok(Some((chunk, permit)))) => {
                    self.chunk = chunk;
                    self.permit = Some(permit);
                }
                Some(Ok(None)) => self.done = true,
                Some(Err(message)) => self.broken = Some(message),
                // The fetch stopped without saying the body ended (it panicked, or the
                // runtime is shutting down): not an end of the object.
                None => {
                    self.broken = Some(format!("reading {}: the download stopped", self.location))
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl Drop for S3BodyReader {
    fn drop(&mut self) {
        // An object not read to its end (quarantined, a failed invocation) stops downloading.
        self.fetch.abort();
    }
}
