//! What the file path ([`crate::ingest`]), the stream path ([`crate::stream`]) and replay
//! share, so that none of them imports another: the ports they run on, the pipeline settings,
//! and the name under which records of no dataset are reported and quarantined.

use crate::catalog::Catalog;
use crate::curated::WriterLimits;
use crate::ports::{ObjectStore, SchemaRegistry};

/// Name under which objects of no known dataset are reported and quarantined.
pub const UNROUTED: &str = "_unrouted";

/// Settings of the pipeline (from the environment in the handlers).
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Bucket of curated Parquet.
    pub curated_bucket: String,
    /// Bucket of quarantine JSON Lines.
    pub quarantine_bucket: String,
    /// How far past its arrival a record's event time may lie.
    pub max_future_skew_ms: i64,
    /// Size bounds of the curated writer.
    pub limits: WriterLimits,
    /// The longest record (JSON line or item, CSV row) decoded; longer ones are quarantined.
    pub max_record_bytes: usize,
    /// The most a compressed object may decompress to; past it the object is quarantined.
    pub max_inflated_bytes: u64,
    /// Encode an object's Parquet on a second thread while this one decodes, and a Kafka
    /// batch's partitions' objects on threads of their own while the next partition is read,
    /// and decompress a compressed object on a third (when the process has more than one
    /// core to run on).
    pub encode_thread: bool,
}

/// What the pipeline reads from and writes to.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    /// Object store (landing, curated and quarantine buckets).
    pub store: &'a dyn ObjectStore,
    /// Schema registry.
    pub registry: &'a dyn SchemaRegistry,
    /// Compiled datasets.
    pub catalog: &'a Catalog,
}
