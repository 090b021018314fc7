//! A Kafka record as the stream path and replay take it (what the MSK event holds, its value decoded from
//! base64), and the schema facts the event source mapping may add to it.

use crate::curated::Lineage;
use bytes::Bytes;
use std::sync::Arc;

/// The registry integration of the event source mapping: the value's schema as Lambda says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMetadata {
    /// `AVRO` (EventRecordFormat SOURCE: the bare datum) or `JSON` (already JSON).
    pub data_format: String,
    /// The writer schema's version id.
    pub schema_id: String,
}

/// One Kafka record of a batch, its value already base64-decoded.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// Topic (shared by the records of a batch that name it).
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// The record's timestamp, epoch millis: its arrival time.
    pub timestamp_ms: i64,
    /// The value (a slice of a buffer that the batch's values share); `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Set when the event source mapping's schema-registry integration decoded the framing.
    pub schema_metadata: Option<SchemaMetadata>,
}

impl StreamRecord {
    /// The lineage columns of the record's curated row.
    pub fn lineage(&self) -> Lineage<'_> {
        Lineage {
            source: &self.topic,
            version: None,
            partition: Some(self.partition),
            offset: self.offset,
            arrival_ms: self.timestamp_ms,
        }
    }
}
