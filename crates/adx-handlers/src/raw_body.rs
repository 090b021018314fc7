//! A layer of the Lambda runtime that takes each invocation's body before the runtime parses
//! it, so that the handler parses it with the event's own parser ([`crate::event::Event`])
//! rather than with the runtime's serde_json: an MSK event is megabytes of base64 text, which
//! sonic-rs reads several times faster. The runtime is handed `null` in its place.

use bytes::Bytes;
use lambda_runtime::LambdaInvocation;
use lambda_runtime::tower::{Layer, Service};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

/// The bodies taken from invocations in flight, by request id.
#[derive(Clone, Default)]
pub struct RawBodies(Arc<Mutex<HashMap<String, Bytes>>>);

impl RawBodies {
    fn put(&self, request_id: String, body: Bytes) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id, body);
    }

    /// The body of the invocation `request_id`, taken out (`None` if it was never kept).
    pub fn take(&self, request_id: &str) -> Option<Bytes> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(request_id)
    }
}

/// What the runtime deserializes in place of the event: nothing (the body it sees is `null`).
#[derive(Debug, Clone, Copy)]
pub struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Unread)
    }
}

/// The layer: keeps each body in [`RawBodies`] and hands the runtime `null`.
pub struct RawBodyLayer(pub RawBodies);

impl<S> Layer<S> for RawBodyLayer {
    type Service = RawBodyService<S>;

    fn layer(&self, inner: S) -> RawBodyService<S> {
        RawBodyService {
            inner,
            bodies: self.0.clone(),
        }
    }
}

/// The service of [`RawBodyLayer`].
pub struct RawBodyService<S> {
    inner: S,
    bodies: RawBodies,
}

impl<S> Service<LambdaInvocation> for RawBodyService<S>
where
    S: Service<LambdaInvocation>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, Bytes::from_static(b"null"));
        self.bodies.put(invocation.context.request_id.clone(), body);
        self.inner.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_taken_once_by_its_request_id() {
        let bodies = RawBodies::default();
        bodies.put("a".into(), Bytes::from_static(b"{}"));
        bodies.put("b".into(), Bytes::from_static(b"[]"));
        assert_eq!(bodies.take("b").as_deref(), Some(&b"[]"[..]));
        assert_eq!(bodies.take("b"), None);
        assert_eq!(bodies.take("a").as_deref(), Some(&b"{}"[..]));
        assert!(serde_json::from_slice::<Unread>(b"null").is_ok());
    }
}
