//! Quarantine output: one JSON Lines object per (dataset, source unit); each line holds where
//! the record came from ([`Source`], typed), why it was refused (kind, message, field) and its
//! raw payload. The same types read the lines back ([`Entry`]) for `adx quarantine replay`.

use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Position;
use crate::kafka_record::{SchemaMetadata, StreamRecord};
use crate::naming::quarantine_key;
use crate::ports::{ObjectStore, ObjectWriter};
use crate::report::WrittenObject;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The raw content of a quarantined record.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Bytes as read: written as `payload` when UTF-8, else `payload_base64`.
    Bytes(&'a [u8]),
    /// No payload (an object that could not be read at all).
    None,
}

/// Where a quarantined record came from: the entry's `source`, in the record's lineage terms.
///
/// Written as one flat JSON object whose members name the kind: `bucket`, `key`, `version`,
/// `arrival_ms` and one of `line`, `item`, `record` for an S3 object; `topic`, `partition`,
/// `offset`, `timestamp` and, when the event source mapping decoded the framing,
/// `data_format` and `schema_id` for a Kafka record. Members are written in name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SourceWire", into = "SourceWire")]
pub enum Source {
    /// A record of a landing object (or the whole object, when it could not be read).
    Object(ObjectOrigin),
    /// A Kafka record.
    Kafka(KafkaOrigin),
}

/// A landing object as the S3 event named it, and where in it the record sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectOrigin {
    /// Bucket.
    pub bucket: String,
    /// Key, URL-decoded.
    pub key: String,
    /// Version id, else ETag, of the object.
    pub version: Option<String>,
    /// The event's time, epoch millis: the record's arrival time.
    pub arrival_ms: i64,
    /// The record's place in the object; `None` for an entry about the whole object.
    pub position: Option<Position>,
}

/// A Kafka record's coordinates, and the framing facts its replay needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOrigin {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// The record's timestamp, epoch millis: its arrival time.
    pub timestamp_ms: i64,
    /// Set when the event source mapping's schema-registry integration decoded the framing.
    pub schema_metadata: Option<SchemaMetadata>,
}

impl Source {
    /// The source of a Kafka record.
    pub fn kafka(record: &StreamRecord) -> Source {
        Source::Kafka(KafkaOrigin {
            topic: record.topic.to_string(),
            partition: record.partition,
            offset: record.offset,
            timestamp_ms: record.timestamp_ms,
            schema_metadata: record.schema_metadata.clone(),
        })
    }
}

/// The JSON form of a [`Source`]: every member of either kind, in name order, so that
/// serializing writes them sorted.
#[derive(Default, Serialize, Deserialize)]
struct SourceWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    arrival_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

impl From<Source> for SourceWire {
    fn from(source: Source) -> Self {
        match source {
            Source::Object(o) => {
                let mut wire = SourceWire {
                    bucket: Some(o.bucket),
                    key: Some(o.key),
                    version: o.version,
                    arrival_ms: Some(o.arrival_ms),
                    ..SourceWire::default()
                };
                match o.position {
                    Some(Position::Line(n)) => wire.line = Some(n),
                    Some(Position::Item(n)) => wire.item = Some(n),
                    Some(Position::Record(n)) => wire.record = Some(n),
                    None => {}
                }
                wire
            }
            Source::Kafka(k) => {
                let (data_format, schema_id) = match k.schema_metadata {
                    Some(m) => (Some(m.data_format), Some(m.schema_id)),
                    None => (None, None),
                };
                SourceWire {
                    topic: Some(k.topic),
                    partition: Some(k.partition),
                    offset: Some(k.offset),
                    timestamp: Some(k.timestamp_ms),
                    data_format,
                    schema_id,
                    ..SourceWire::default()
                }
            }
        }
    }
}

/// Why a quarantine entry's `source` is neither kind.
#[derive(Debug, thiserror::Error)]
#[error("source: {0}")]
pub struct SourceError(&'static str);

impl TryFrom<SourceWire> for Source {
    type Error = SourceError;

    fn try_from(w: SourceWire) -> Result<Self, SourceError> {
        if let Some(topic) = w.topic {
            return Ok(Source::Kafka(KafkaOrigin {
                topic,
                partition: w
                    .partition
                    .ok_or(SourceError("a Kafka source without partition"))?,
                offset: w
                    .offset
                    .ok_or(SourceError("a Kafka source without offset"))?,
                timestamp_ms: w
                    .timestamp
                    .ok_or(SourceError("a Kafka source without timestamp"))?,
                schema_metadata: match (w.data_format, w.schema_id) {
                    (Some(data_format), Some(schema_id)) => Some(SchemaMetadata {
                        data_format,
                        schema_id,
                    }),
                    (None, None) => None,
                    _ => return Err(SourceError("data_format and schema_id go together")),
                },
            }));
        }
        let position = match (w.line, w.item, w.record) {
            (None, None, None) => None,
            (Some(n), None, None) => Some(Position::Line(n)),
            (None, Some(n), None) => Some(Position::Item(n)),
            (None, None, Some(n)) => Some(Position::Record(n)),
            _ => return Err(SourceError("more than one of line, item and record")),
        };
        Ok(Source::Object(ObjectOrigin {
            bucket: w
                .bucket
                .ok_or(SourceError("neither a topic nor a bucket"))?,
            key: w.key.ok_or(SourceError("an object source without key"))?,
            version: w.version,
            arrival_ms: w
                .arrival_ms
                .ok_or(SourceError("an object source without arrival_ms"))?,
            position,
        }))
    }
}

/// The `error` member of an entry (members in name order).
#[derive(Debug, Serialize, Deserialize)]
pub struct EntryError {
    /// The field path, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The kind of refusal.
    pub kind: RecordErrorKind,
    /// What is wrong.
    pub message: String,
}

impl From<EntryError> for RecordError {
    fn from(e: EntryError) -> Self {
        RecordError {
            kind: e.kind,
            message: e.message,
            field: e.field,
        }
    }
}

/// The `error` member as written, borrowed from the [`RecordError`].
#[derive(Serialize)]
struct ErrorOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    kind: RecordErrorKind,
    message: &'a str,
}

/// One line as written (members in name order).
#[derive(Serialize)]
struct LineOut<'a> {
    dataset: &'a str,
    error: ErrorOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
    source: &'a Source,
}

/// One line of a quarantine object, read back.
#[derive(Debug, Deserialize)]
pub struct Entry {
    /// The dataset it was refused for, or `_unrouted`.
    pub dataset: String,
    /// Where the record came from.
    pub source: Source,
    /// Why it was refused.
    pub error: EntryError,
    /// The raw record, when it was UTF-8.
    pub payload: Option<String>,
    /// The raw record in base64, when it was not.
    pub payload_base64: Option<String>,
}

impl Entry {
    /// The raw record's bytes, when the entry carries a (decodable) payload.
    pub fn payload_bytes(&self) -> Option<Vec<u8>> {
        match (&self.payload, &self.payload_base64) {
            (Some(text), _) => Some(text.as_bytes().to_vec()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).ok(),
            (None, None) => None,
        }
    }
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

impl Name {
    /// The object's key, given its first entry's source.
    fn key(&self, dataset: &str, first: &Source) -> String {
        match self {
            Name::Fixed(key) => key.clone(),
            Name::FirstEntry { topic, partition } => {
                let (timestamp, offset) = match first {
                    Source::Kafka(k) => (k.timestamp_ms, k.offset),
                    Source::Object(_) => (0, 0),
                };
                quarantine_key(dataset, timestamp, &format!("{topic}+{partition}+{offset}"))
            }
        }
    }
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

    /// Writes one entry; `source` says where the record came from.
    pub fn write(
        &mut self,
        source: &Source,
        error: &RecordError,
        payload: Payload<'_>,
    ) -> Result<(), IngestError> {
        if self.key.is_none() {
            self.key = Some(self.name.key(&self.dataset, source));
        }
        let (text, base64) = match payload {
            Payload::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => (Some(text), None),
                Err(_) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                ),
            },
            Payload::None => (None, None),
        };
        let line = LineOut {
            dataset: &self.dataset,
            error: ErrorOut {
                field: error.field.as_deref(),
                kind: error.kind,
                message: &error.message,
            },
            payload: text,
            payload_base64: base64,
            source,
        };
        // Serializing strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buffer, &line);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::MemoryStore;

    fn kafka(offset: i64, timestamp_ms: i64, meta: bool) -> Source {
        Source::Kafka(KafkaOrigin {
            topic: "clicks".into(),
            partition: 3,
            offset,
            timestamp_ms,
            schema_metadata: meta.then(|| SchemaMetadata {
                data_format: "AVRO".into(),
                schema_id: "id-1".into(),
            }),
        })
    }

    fn object(position: Option<Position>) -> Source {
        Source::Object(ObjectOrigin {
            bucket: "landing".into(),
            key: "clicks/a b.csv".into(),
            version: Some("v1".into()),
            arrival_ms: 1_000,
            position,
        })
    }

    fn refusal() -> RecordError {
        RecordError::new(RecordErrorKind::Parse, "broken")
    }

    /// 2026-11-28T06:00:00Z.
    const ARRIVAL_MS: i64 = 1_795_845_600_000;

    #[test]
    fn a_partition_object_is_named_after_its_first_entry_and_dated_by_its_timestamp() {
        let store = MemoryStore::new();
        let mut writer = QuarantineWriter::for_partition(&store, "q", "clicks", 3, "ds");
        // The day of the first entry's timestamp, though the second falls on the next day.
        let next_day = ARRIVAL_MS + 86_400_000;
        for (offset, t) in [(41, ARRIVAL_MS), (42, next_day)] {
            let source = kafka(offset, t, false);
            writer
                .write(&source, &refusal(), Payload::Bytes(b"x"))
                .unwrap();
        }
        let written = writer.finish().unwrap().unwrap();
        assert_eq!(written.key, "ds/dt=2026-11-28/clicks+3+41.jsonl");
        assert_eq!(written.records, 2);
        let bytes = store.object("q", &written.key).unwrap();
        assert_eq!(bytes.len() as u64, written.bytes);
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 2);
    }

    #[test]
    fn a_writer_with_nothing_written_writes_no_object() {
        let store = MemoryStore::new();
        let writer = QuarantineWriter::new(&store, "q", "ds/dt=2026-11-28/f.jsonl".into(), "ds");
        assert!(writer.finish().unwrap().is_none());
        assert!(store.objects("q").is_empty());
    }

    #[test]
    fn an_entry_is_written_with_its_members_in_name_order() {
        let store = MemoryStore::new();
        let mut writer = QuarantineWriter::new(&store, "q", "k.jsonl".into(), "ds");
        let error = RecordError::from_field(
            RecordErrorKind::Rule,
            crate::error::FieldError::new("n", "a number", "\"x\""),
        );
        writer
            .write(
                &object(Some(Position::Line(7))),
                &error,
                Payload::Bytes(b"a,b"),
            )
            .unwrap();
        writer
            .write(&kafka(5, 9, true), &refusal(), Payload::Bytes(&[0xff, 0]))
            .unwrap();
        writer
            .write(&object(None), &refusal(), Payload::None)
            .unwrap();
        writer.finish().unwrap();
        let text = String::from_utf8(store.object("q", "k.jsonl").unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"dataset":"ds","error":{"field":"n","kind":"rule","message":"field `n`: expected a number, found \"x\""},"payload":"a,b","source":{"arrival_ms":1000,"bucket":"landing","key":"clicks/a b.csv","line":7,"version":"v1"}}"#,
                r#"{"dataset":"ds","error":{"kind":"parse","message":"broken"},"payload_base64":"/wA=","source":{"data_format":"AVRO","offset":5,"partition":3,"schema_id":"id-1","timestamp":9,"topic":"clicks"}}"#,
                r#"{"dataset":"ds","error":{"kind":"parse","message":"broken"},"source":{"arrival_ms":1000,"bucket":"landing","key":"clicks/a b.csv","version":"v1"}}"#,
            ]
        );
    }

    #[test]
    fn sources_read_back_as_they_were_written() {
        let sources = [
            kafka(5, 9, true),
            kafka(5, 9, false),
            object(None),
            object(Some(Position::Line(1))),
            object(Some(Position::Item(0))),
            object(Some(Position::Record(12))),
        ];
        for source in sources {
            let text = serde_json::to_string(&source).unwrap();
            let back: Source = serde_json::from_str(&text).unwrap();
            assert_eq!(back, source, "{text}");
        }
    }

    #[test]
    fn a_source_of_neither_kind_is_refused_with_the_reason() {
        for (text, reason) in [
            (r#"{"offset":1}"#, "neither a topic nor a bucket"),
            (
                r#"{"topic":"t","offset":1,"timestamp":2}"#,
                "without partition",
            ),
            (
                r#"{"topic":"t","partition":0,"offset":1,"timestamp":2,"schema_id":"x"}"#,
                "go together",
            ),
            (
                r#"{"bucket":"b","key":"k","arrival_ms":1,"line":1,"item":2}"#,
                "more than one",
            ),
            (r#"{"bucket":"b","key":"k"}"#, "without arrival_ms"),
        ] {
            let e = serde_json::from_str::<Source>(text).unwrap_err();
            assert!(e.to_string().contains(reason), "{text}: {e}");
        }
    }

    #[test]
    fn an_entry_gives_back_its_payload_bytes() {
        let line = r#"{"dataset":"ds","error":{"kind":"parse","message":"m"},"payload_base64":"/wA=","source":{"offset":5,"partition":3,"timestamp":9,"topic":"t"}}"#;
        let entry: Entry = serde_json::from_str(line).unwrap();
        assert_eq!(entry.payload_bytes(), Some(vec![0xff, 0]));
        let error = RecordError::from(entry.error);
        assert_eq!(
            (error.kind, error.message.as_str()),
            (RecordErrorKind::Parse, "m")
        );
    }
}
