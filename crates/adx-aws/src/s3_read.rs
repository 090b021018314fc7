//! A blocking `Read` over a GetObject body: the object streams through in the chunks the
//! connection delivers, so a big object is never held whole in memory.

use aws_sdk_s3::primitives::ByteStream;
use bytes::{Buf, Bytes};
use std::io::{self, Read};
use tokio::runtime::Handle;

/// The body of one GetObject answer, read chunk by chunk on the AWS runtime.
pub struct S3BodyReader {
    handle: Handle,
    body: ByteStream,
    chunk: Bytes,
    location: String,
    done: bool,
}

impl S3BodyReader {
    /// Wraps `body`; `location` (`s3://bucket/key`) goes into read errors.
    pub fn new(handle: Handle, body: ByteStream, location: String) -> Self {
        S3BodyReader {
            handle,
            body,
            chunk: Bytes::new(),
            location,
            done: false,
        }
    }
}

impl Read for S3BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.handle.block_on(self.body.next()) {
                None => self.done = true,
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    return Err(io::Error::other(format!(
                        "reading {}: {}",
                        self.location,
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    )));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}
