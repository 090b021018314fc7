//! A reader that remembers whether the store itself failed, so that a read error inside a
//! decoder can be told apart: a store fault fails the invocation, corrupt data is quarantined.

use std::io::Read;
use std::sync::{Arc, Mutex};

/// Shared record of a source failure.
#[derive(Debug, Clone, Default)]
pub struct SourceFault(Arc<Mutex<Option<String>>>);

impl SourceFault {
    /// The store's error, if it failed.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set(&self, message: String) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.get_or_insert(message);
    }
}

/// Wraps the store's stream and records its errors in a [`SourceFault`].
pub struct TrackedRead<R> {
    inner: R,
    fault: SourceFault,
}

impl<R: Read> TrackedRead<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, fault: SourceFault) -> Self {
        TrackedRead { inner, fault }
    }
}

impl<R: Read> Read for TrackedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            // An interrupted read is retried by the caller: not a fault.
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.fault.set(e.to_string())
            }
        })
    }
}
