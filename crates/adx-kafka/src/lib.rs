//! Kafka for local runs and load: a producer of records at a target rate ([`produce`]), and a
//! local event source mapping ([`mapping`]) that reads topics as a consumer group, batches
//! records by size and by window as the MSK event source mapping does, hands each batch as the
//! exact `KafkaEvent` JSON Lambda receives to a handler, commits offsets only after the handler
//! succeeded, and retries a failed batch.
//!
//! The client is librdkafka through the `rdkafka` crate (see [`connect`]).

#![warn(missing_docs)]

pub mod connect;
pub mod event;
pub mod mapping;
pub mod produce;

pub use connect::{Auth, Connection, KafkaError};
