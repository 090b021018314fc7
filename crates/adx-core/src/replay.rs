//! Replay of quarantine objects (`adx quarantine replay`): every quarantined record is decoded
//! again, against its dataset's latest schema (after a schema fix, say), and goes through the
//! same rules, de-duplication and writers as on its first pass.
//!
//! Recovered records become curated Parquet named after the quarantine object and a hash of
//! its content; what still fails is written back over the quarantine object (which is removed
//! when nothing is left). Curated objects are finished before the quarantine object changes, so
//! a replay stopped at any point and run again writes the same objects: nothing is lost, and
//! nothing is doubled. Entries without a payload (a whole object that could not be read) stay
//! as they are: re-drive their source object instead.

use crate::convert::seed::SeedContext;
use crate::curated::{CuratedWriter, Lineage};
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::json::decode_one;
use crate::formats::{Decoded, Format, Raw, Stop, csv::decode_csv, detect};
use crate::ingest::{Ports, UNROUTED};
use crate::model::dataset::Dataset;
use crate::naming::{PartNames, object_base_name, quarantine_key};
use crate::ports::StoreError;
use crate::quarantine::{Payload, QuarantineWriter};
use crate::report::DatasetReport;
use crate::sink::{DatasetSink, KeySet, key_set};
use crate::stream::{Router, SchemaMetadata, StreamConfig, StreamRecord};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use xxhash_rust::xxh3::Xxh3;

/// What the replay of one quarantine object did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReplayReport {
    /// The quarantine object replayed.
    pub key: String,
    /// Its entries.
    pub entries: u64,
    /// Entries without a payload, kept as they were.
    pub kept: u64,
    /// Per dataset: the replayed entries (`received`) and where they went.
    pub datasets: BTreeMap<String, DatasetReport>,
    /// True when nothing was left to keep and the quarantine object was removed.
    pub removed: bool,
}

/// One line of a quarantine object.
#[derive(Deserialize)]
struct Entry {
    dataset: String,
    #[serde(default)]
    source: Map<String, Value>,
    error: EntryError,
    payload: Option<String>,
    payload_base64: Option<String>,
}

#[derive(Deserialize)]
struct EntryError {
    kind: RecordErrorKind,
    message: String,
    field: Option<String>,
}

fn bad_entry(bucket: &str, key: &str, line: u64, e: impl std::fmt::Display) -> IngestError {
    IngestError::Store(StoreError::Failed {
        operation: "replay",
        bucket: bucket.to_string(),
        key: key.to_string(),
        message: format!("line {line} is not a quarantine entry: {e}"),
    })
}

/// Reads the object line by line, calling `each` with the line number and the line.
fn for_each_line(
    ports: Ports<'_>,
    bucket: &str,
    key: &str,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut reader = BufReader::with_capacity(256 << 10, ports.store.get(bucket, key)?);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| StoreError::Failed {
                operation: "get",
                bucket: bucket.to_string(),
                key: key.to_string(),
                message: e.to_string(),
            })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        each(number, &line)?;
    }
}

/// The arrival time of an entry's record: its S3 event time or Kafka timestamp, else the
/// start of the quarantine object's day.
fn arrival_ms(source: &Map<String, Value>, fallback: i64) -> i64 {
    source
        .get("arrival_ms")
        .or_else(|| source.get("timestamp"))
        .and_then(Value::as_i64)
        .unwrap_or(fallback)
}

/// The start of the `dt=YYYY-MM-DD` day in a quarantine key, epoch millis (0 if none).
fn day_of_key(key: &str) -> i64 {
    key.split('/')
        .find_map(|s| s.strip_prefix("dt="))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

/// The writers of one replay, by dataset.
struct Outputs<'a> {
    ports: Ports<'a>,
    config: &'a StreamConfig,
    bucket: &'a str,
    key: &'a str,
    home: String,
    base: String,
    day_ms: i64,
    sinks: Vec<(DatasetSink<'a>, KeySet)>,
    /// Entries of no dataset, written back to the replayed object (when its home is not a dataset).
    unrouted: Option<(QuarantineWriter<'a>, DatasetReport)>,
}

impl<'a> Outputs<'a> {
    fn sink(&mut self, dataset: &Arc<Dataset>) -> &mut (DatasetSink<'a>, KeySet) {
        let at = match self
            .sinks
            .iter()
            .position(|(s, _)| s.dataset_name() == dataset.name)
        {
            Some(at) => at,
            None => {
                let ingest = &self.config.ingest;
                // Still-failing entries of the replayed object's own dataset replace it.
                let qkey = if dataset.name == self.home {
                    self.key.to_string()
                } else {
                    quarantine_key(&dataset.name, self.day_ms, &self.base)
                };
                let curated = CuratedWriter::new(
                    dataset.clone(),
                    self.ports.store,
                    &ingest.curated_bucket,
                    PartNames::Object {
                        base: self.base.clone(),
                    },
                    ingest.limits,
                );
                let quarantine =
                    QuarantineWriter::new(self.ports.store, self.bucket, qkey, &dataset.name);
                self.sinks.push((
                    DatasetSink::new(dataset.clone(), curated, quarantine),
                    key_set(),
                ));
                self.sinks.len() - 1
            }
        };
        &mut self.sinks[at]
    }

    /// Writes an entry back unchanged but for its error (no dataset takes it).
    fn keep(
        &mut self,
        dataset: Option<&Arc<Dataset>>,
        source: Map<String, Value>,
        error: &RecordError,
        payload: Payload<'_>,
    ) -> Result<(), IngestError> {
        if let Some(dataset) = dataset {
            return self.sink(dataset).0.refuse(source, error, payload);
        }
        let (writer, report) = self.unrouted.get_or_insert_with(|| {
            (
                QuarantineWriter::new(
                    self.ports.store,
                    self.bucket,
                    self.key.to_string(),
                    &self.home,
                ),
                DatasetReport::default(),
            )
        });
        writer.write(source, error, payload)?;
        report.received += 1;
        report.quarantined += 1;
        Ok(())
    }
}

/// Replays the quarantine object `s3://bucket/key`.
pub fn replay_object(
    ports: Ports<'_>,
    config: &StreamConfig,
    bucket: &str,
    key: &str,
) -> Result<ReplayReport, IngestError> {
    // First pass: the content's hash names the outputs; topics learn their datasets.
    let mut hash = Xxh3::new();
    let mut topic_datasets = config.topic_datasets.clone();
    for_each_line(ports, bucket, key, |n, line| {
        hash.update(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let entry: Entry =
            serde_json::from_slice(line).map_err(|e| bad_entry(bucket, key, n, e))?;
        if let Some(topic) = entry.source.get("topic").and_then(Value::as_str)
            && entry.dataset != UNROUTED
        {
            topic_datasets
                .entry(topic.to_string())
                .or_insert(entry.dataset);
        }
        Ok(())
    })?;
    let content = format!("{:032x}", hash.digest128());
    let replay_config = StreamConfig {
        topic_datasets,
        ..config.clone()
    };
    let home = key.split('/').next().unwrap_or_default().to_string();
    let mut outputs = Outputs {
        ports,
        config: &replay_config,
        bucket,
        key,
        base: format!("replay-{}", object_base_name(bucket, key, Some(&content))),
        day_ms: day_of_key(key),
        home: home.clone(),
        sinks: Vec::new(),
        unrouted: None,
    };
    let mut router = Router::new(ports, &replay_config);
    let mut report = ReplayReport {
        key: key.to_string(),
        ..ReplayReport::default()
    };

    // Second pass: each entry through the pipeline again.
    for_each_line(ports, bucket, key, |n, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let entry: Entry =
            serde_json::from_slice(line).map_err(|e| bad_entry(bucket, key, n, e))?;
        report.entries += 1;
        let dataset = ports
            .catalog
            .route(ports.registry, &entry.dataset)?
            .dataset();
        let payload = match (&entry.payload, &entry.payload_base64) {
            (Some(text), _) => Some(text.as_bytes().to_vec()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).ok(),
            (None, None) => None,
        };
        let Some(payload) = payload else {
            report.kept += 1;
            let error = RecordError {
                kind: entry.error.kind,
                message: entry.error.message,
                field: entry.error.field,
            };
            return outputs.keep(dataset.as_ref(), entry.source, &error, Payload::None);
        };
        let arrival = arrival_ms(&entry.source, outputs.day_ms);
        let source = entry.source;
        let number = ["line", "item", "record", "offset"]
            .iter()
            .find_map(|k| source.get(*k).and_then(Value::as_i64))
            .unwrap_or(0);
        if let Some(topic) = source.get("topic").and_then(Value::as_str) {
            let record = StreamRecord {
                topic: topic.into(),
                partition: source
                    .get("partition")
                    .and_then(Value::as_i64)
                    .and_then(|p| i32::try_from(p).ok())
                    .unwrap_or(0),
                offset: number,
                timestamp_ms: arrival,
                value: None,
                schema_metadata: match (
                    source.get("data_format").and_then(Value::as_str),
                    source.get("schema_id").and_then(Value::as_str),
                ) {
                    (Some(format), Some(id)) => Some(SchemaMetadata {
                        data_format: format.to_string(),
                        schema_id: id.to_string(),
                    }),
                    _ => None,
                },
            };
            let routed = router.route(&record, &payload)?;
            let Some(dataset) = routed.dataset else {
                let error = routed
                    .outcome
                    .err()
                    .unwrap_or_else(|| RecordError::new(RecordErrorKind::Unrouted, "no dataset"));
                return outputs.keep(None, source, &error, Payload::Bytes(&payload));
            };
            let lineage = Lineage {
                source: &record.topic,
                version: None,
                partition: Some(record.partition),
                offset: record.offset,
                arrival_ms: arrival,
            };
            let (sink, seen) = outputs.sink(&dataset);
            return sink.accept(
                seen,
                routed.outcome,
                Raw::Bytes(&payload),
                &lineage,
                config.ingest.max_future_skew_ms,
                &|| source.clone(),
            );
        }
        let object_key = source
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (Some(dataset), Some((format, _))) = (dataset, detect(object_key)) else {
            let error = RecordError {
                kind: entry.error.kind,
                message: entry.error.message,
                field: entry.error.field,
            };
            return outputs.keep(None, source, &error, Payload::Bytes(&payload));
        };
        let uri = format!(
            "s3://{}/{object_key}",
            source
                .get("bucket")
                .and_then(Value::as_str)
                .unwrap_or_default()
        );
        let version = source.get("version").and_then(Value::as_str);
        let lineage = Lineage {
            source: &uri,
            version,
            partition: None,
            offset: number,
            arrival_ms: arrival,
        };
        let skew = config.ingest.max_future_skew_ms;
        let (sink, seen) = outputs.sink(&dataset);
        match format {
            Format::Csv => {
                // The payload is the object's header and the row.
                let mut emitted = 0;
                let mut input = payload.as_slice();
                let mut emit = |d: Decoded<'_>| {
                    emitted += 1;
                    sink.accept(seen, d.outcome, d.raw, &lineage, skew, &|| source.clone())
                };
                match decode_csv(
                    &mut input,
                    &dataset.shape,
                    config.ingest.max_record_bytes,
                    &mut emit,
                ) {
                    Ok(()) if emitted == 1 => Ok(()),
                    Err(Stop::Infra(e)) => Err(e),
                    Ok(()) | Err(Stop::Object(_)) if emitted == 0 => sink.accept(
                        seen,
                        Err(RecordError::new(
                            RecordErrorKind::Parse,
                            "the payload is not a CSV header and row",
                        )),
                        Raw::Bytes(&payload),
                        &lineage,
                        skew,
                        &|| source.clone(),
                    ),
                    // A payload of several rows was never written by the pipeline; each row
                    // was taken on its own above.
                    Ok(()) | Err(Stop::Object(_)) => Ok(()),
                }
            }
            Format::Json | Format::Avro => {
                let ty = dataset.record_ty();
                let outcome = decode_one(&payload, &ty, &SeedContext::new());
                sink.accept(seen, outcome, Raw::Bytes(&payload), &lineage, skew, &|| {
                    source.clone()
                })
            }
        }
    })?;

    // Other datasets first, then the replayed object's own: its quarantine object changes last.
    let Outputs {
        mut sinks,
        unrouted,
        ..
    } = outputs;
    sinks.sort_by_key(|(s, _)| s.dataset_name() == home);
    let mut rewritten = false;
    for (sink, _) in sinks {
        let name = sink.dataset_name().to_string();
        let dataset_report = sink.finish()?;
        if name == home {
            rewritten |= dataset_report
                .objects
                .iter()
                .any(|o| o.kind == "quarantine" && o.key == key);
        }
        report
            .datasets
            .entry(name)
            .or_default()
            .merge(dataset_report);
    }
    if let Some((writer, mut unrouted_report)) = unrouted {
        if let Some(object) = writer.finish()? {
            rewritten = true;
            unrouted_report.objects.push(object);
        }
        report
            .datasets
            .entry(home)
            .or_default()
            .merge(unrouted_report);
    }
    if !rewritten {
        ports.store.delete(bucket, key)?;
        report.removed = true;
    }
    Ok(report)
}
