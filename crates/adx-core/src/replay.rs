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
use crate::model::dataset::Dataset;
use crate::naming::{PartNames, object_base_name, quarantine_key};
use crate::pending::PendingUnit;
use crate::pipeline::{Ports, UNROUTED};
use crate::ports::StoreError;
use crate::quarantine::{Entry, KafkaOrigin, ObjectOrigin, Payload, QuarantineWriter, Source};
use crate::report::DatasetReport;
use crate::sink::{DatasetSink, KeySet, key_set};
use crate::stream::{Router, StreamConfig, StreamRecord};
use serde::Serialize;
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

fn bad_entry(bucket: &str, key: &str, line: u64, e: impl std::fmt::Display) -> IngestError {
    IngestError::Store(StoreError::Failed {
        operation: "replay",
        bucket: bucket.to_string(),
        key: key.to_string(),
        message: format!("line {line} is not a quarantine entry: {e}"),
    })
}

/// Reads the object line by line, calling `each` with every line as read and its entry (`None`
/// for a blank line); a line that is not an entry fails the replay.
fn for_each_entry(
    ports: Ports<'_>,
    bucket: &str,
    key: &str,
    mut each: impl FnMut(&[u8], Option<Entry>) -> Result<(), IngestError>,
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
        if line.iter().all(u8::is_ascii_whitespace) {
            each(&line, None)?;
            continue;
        }
        let entry: Entry =
            serde_json::from_slice(&line).map_err(|e| bad_entry(bucket, key, number, e))?;
        each(&line, Some(entry))?;
    }
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
    /// The hash of the replayed object's content (the version its pending manifests name).
    content: String,
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
                let unit = PendingUnit::Object {
                    bucket: self.bucket.to_string(),
                    key: self.key.to_string(),
                    version: Some(self.content.clone()),
                    name: self.base.clone(),
                };
                self.sinks.push((
                    DatasetSink::new(dataset.clone(), curated, quarantine, unit),
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
        source: &Source,
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

    /// Finishes every output: other datasets first, then the replayed object's own, so that its
    /// quarantine object changes last; removes the object when nothing was written back to it.
    fn finish(self, mut report: ReplayReport) -> Result<ReplayReport, IngestError> {
        let Outputs {
            ports,
            bucket,
            key,
            home,
            mut sinks,
            unrouted,
            ..
        } = self;
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
}

/// Replays the quarantine object `s3://bucket/key`.
pub fn replay_object(
    ports: Ports<'_>,
    config: &StreamConfig,
    bucket: &str,
    key: &str,
) -> Result<ReplayReport, IngestError> {
    let (content, topic_datasets) = scan(ports, config, bucket, key)?;
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
        content,
        day_ms: day_of_key(key),
        home,
        sinks: Vec::new(),
        unrouted: None,
    };
    let mut router = Router::new(ports, &replay_config);
    let mut report = ReplayReport {
        key: key.to_string(),
        ..ReplayReport::default()
    };
    // Second pass: each entry through the pipeline again.
    for_each_entry(ports, bucket, key, |_, entry| {
        let Some(entry) = entry else {
            return Ok(());
        };
        report.entries += 1;
        let dataset = ports
            .catalog
            .route(ports.registry, &entry.dataset)?
            .dataset();
        let Some(payload) = entry.payload_bytes() else {
            report.kept += 1;
            let error = RecordError::from(entry.error);
            return outputs.keep(dataset.as_ref(), &entry.source, &error, Payload::None);
        };
        match &entry.source {
            Source::Kafka(origin) => {
                replay_kafka(&mut outputs, &mut router, &entry.source, origin, &payload)
            }
            Source::Object(origin) => match (dataset, detect(&origin.key)) {
                (Some(dataset), Some((format, _))) => ObjectEntry {
                    source: &entry.source,
                    origin,
                    dataset: &dataset,
                    payload: &payload,
                }
                .replay(&mut outputs, format),
                _ => {
                    let error = RecordError::from(entry.error);
                    outputs.keep(None, &entry.source, &error, Payload::Bytes(&payload))
                }
            },
        }
    })?;
    outputs.finish(report)
}

/// First pass over the object: the hash of its content (which names the outputs), and the
/// topics' datasets that its Kafka entries show, added to the configured ones.
fn scan(
    ports: Ports<'_>,
    config: &StreamConfig,
    bucket: &str,
    key: &str,
) -> Result<(String, BTreeMap<String, String>), IngestError> {
    let mut hash = Xxh3::new();
    let mut topic_datasets = config.topic_datasets.clone();
    for_each_entry(ports, bucket, key, |line, entry| {
        hash.update(line);
        if let Some(Entry {
            dataset,
            source: Source::Kafka(origin),
            ..
        }) = entry
            && dataset != UNROUTED
        {
            topic_datasets.entry(origin.topic).or_insert(dataset);
        }
        Ok(())
    })?;
    Ok((format!("{:032x}", hash.digest128()), topic_datasets))
}

/// Replays a Kafka record's entry: routed and decoded as the stream path does.
fn replay_kafka(
    outputs: &mut Outputs<'_>,
    router: &mut Router<'_>,
    source: &Source,
    origin: &KafkaOrigin,
    payload: &[u8],
) -> Result<(), IngestError> {
    let record = StreamRecord {
        topic: origin.topic.as_str().into(),
        partition: origin.partition,
        offset: origin.offset,
        timestamp_ms: origin.timestamp_ms,
        value: None,
        schema_metadata: origin.schema_metadata.clone(),
    };
    let routed = router.route(&record, payload)?;
    let Some(dataset) = routed.dataset else {
        let error = routed
            .outcome
            .err()
            .unwrap_or_else(|| RecordError::new(RecordErrorKind::Unrouted, "no dataset"));
        return outputs.keep(None, source, &error, Payload::Bytes(payload));
    };
    let lineage = record.lineage();
    let skew = outputs.config.ingest.max_future_skew_ms;
    let (sink, seen) = outputs.sink(&dataset);
    sink.accept(
        seen,
        routed.outcome,
        Raw::Bytes(payload),
        &lineage,
        skew,
        &|| source.clone(),
    )
}

/// The entry of a landing object's record, with its payload and lineage.
struct ObjectEntry<'e> {
    source: &'e Source,
    origin: &'e ObjectOrigin,
    dataset: &'e Arc<Dataset>,
    payload: &'e [u8],
}

impl ObjectEntry<'_> {
    /// Decodes the payload in the object's format and hands it to the dataset's sink.
    fn replay(self, outputs: &mut Outputs<'_>, format: Format) -> Result<(), IngestError> {
        let config = &outputs.config.ingest;
        let (skew, max_record_bytes) = (config.max_future_skew_ms, config.max_record_bytes);
        let source = self.source;
        let uri = format!("s3://{}/{}", self.origin.bucket, self.origin.key);
        let lineage = Lineage {
            source: &uri,
            version: self.origin.version.as_deref(),
            partition: None,
            offset: self.origin.position.map_or(0, |p| p.number()),
            arrival_ms: self.origin.arrival_ms,
        };
        let (sink, seen) = outputs.sink(self.dataset);
        match format {
            Format::Csv => {
                // The payload is the object's header and the row.
                let mut emitted = 0;
                let mut input = self.payload;
                let mut emit = |d: Decoded<'_>| {
                    emitted += 1;
                    sink.accept(seen, d.outcome, d.raw, &lineage, skew, &|| source.clone())
                };
                match decode_csv(
                    &mut input,
                    &self.dataset.shape,
                    None,
                    max_record_bytes,
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
                        Raw::Bytes(self.payload),
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
                let ty = self.dataset.record_ty();
                let outcome = decode_one(self.payload, &ty, &SeedContext::new());
                sink.accept(
                    seen,
                    outcome,
                    Raw::Bytes(self.payload),
                    &lineage,
                    skew,
                    &|| source.clone(),
                )
            }
        }
    }
}
