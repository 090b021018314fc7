//! Quarantine output: one JSON Lines object per (dataset, source unit); each line holds where
//! the record came from, why it was refused (kind, message, field) and its raw payload.

use crate::error::{IngestError, RecordError};
use crate::naming::quarantine_key;
use crate::ports::{ObjectStore, ObjectWriter};
use crate::report::WrittenObject;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

/// The raw content of a quarantined record.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Bytes as read: written as `payload` when UTF-8, else `payload_base64`.
    Bytes(&'a [u8]),
    /// No payload (an object that could not be read at all).
    None,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    kind: crate::error::RecordErrorKind,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

const FLUSH_BYTES: usize = 1 << 20;

/// How the quarantine object is named.
enum Name {
    /// Known from the start (an S3 object's entries).
    Fixed(String),
    /// A Kafka partition's entries: named `<topic>+<partition>+<offset>` after the first entry
    /// written, dated by its timestamp. A retried batch that is cut shorter than the failed one
    /// then still writes the same first object, so the stale one is replaced, not left beside.
    FirstEntry {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
}

/// Writes the quarantine object of one dataset for one source unit; nothing is written when
/// nothing is quarantined.
pub struct QuarantineWriter<'a> {
    store: &'a dyn ObjectStore,
    bucket: String,
    name: Name,
    key: Option<String>,
    dataset: String,
    sink: Option<Box<dyn ObjectWriter>>,
    buffer: Vec<u8>,
    records: u64,
    bytes: u64,
}

impl<'a> QuarantineWriter<'a> {
    /// A writer for `s3://bucket/key`.
    pub fn new(store: &'a dyn ObjectStore, bucket: &str, key: String, dataset: &str) -> Self {
        Self::named(store, bucket, Name::Fixed(key), dataset)
    }

    /// A writer for the entries of one Kafka partition: the object is named after its first
    /// entry's offset and dated by its timestamp (taken from the entry's `source`).
    pub fn for_partition(
        store: &'a dyn ObjectStore,
        bucket: &str,
        topic: &str,
        partition: i32,
        dataset: &str,
    ) -> Self {
        let name = Name::FirstEntry {
            topic: topic.to_string(),
            partition,
        };
        Self::named(store, bucket, name, dataset)
    }

    fn named(store: &'a dyn ObjectStore, bucket: &str, name: Name, dataset: &str) -> Self {
        QuarantineWriter {
            store,
            bucket: bucket.to_string(),
            name,
            key: None,
            dataset: dataset.to_string(),
            sink: None,
            buffer: Vec::new(),
            records: 0,
            bytes: 0,
        }
    }

    /// Lines written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Writes one entry; `source` describes where the record came from.
    pub fn write(
        &mut self,
        source: Map<String, Value>,
        error: &RecordError,
        payload: Payload<'_>,
    ) -> Result<(), IngestError> {
        if self.key.is_none() {
            self.key = Some(match &self.name {
                Name::Fixed(key) => key.clone(),
                Name::FirstEntry { topic, partition } => {
                    let number = |k: &str| source.get(k).and_then(Value::as_i64).unwrap_or(0);
                    quarantine_key(
                        &self.dataset,
                        number("timestamp"),
                        &format!("{topic}+{partition}+{}", number("offset")),
                    )
                }
            });
        }
        let mut line = Map::new();
        line.insert("dataset".into(), Value::String(self.dataset.clone()));
        line.insert("source".into(), Value::Object(source));
        let err = ErrorOut {
            kind: error.kind,
            message: &error.message,
            field: error.field.as_deref(),
        };
        line.insert(
            "error".into(),
            serde_json::to_value(err).unwrap_or(Value::Null),
        );
        match payload {
            Payload::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => {
                    line.insert("payload".into(), Value::String(text.to_string()));
                }
                Err(_) => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                    line.insert("payload_base64".into(), Value::String(encoded));
                }
            },
            Payload::None => {}
        }
        // Serializing a map of strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buffer, &Value::Object(line));
        self.buffer.push(b'\n');
        self.records += 1;
        if self.buffer.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let key = self.key.as_deref().unwrap_or_default();
        if self.sink.is_none() {
            self.sink = Some(self.store.create(&self.bucket, key)?);
        }
        if let Some(sink) = self.sink.as_mut() {
            sink.write(&self.buffer)?;
        }
        self.bytes += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Completes the object, if anything was written.
    pub fn finish(mut self) -> Result<Option<WrittenObject>, IngestError> {
        self.flush()?;
        match self.sink.take() {
            None => Ok(None),
            Some(sink) => {
                sink.finish()?;
                Ok(Some(WrittenObject {
                    kind: "quarantine",
                    bucket: self.bucket,
                    key: self.key.unwrap_or_default(),
                    records: self.records,
                    bytes: self.bytes,
                }))
            }
        }
    }
}
