//! Stream ingestion of one batch of Kafka records (what the MSK event source mapping hands to
//! Lambda): route each value to a dataset, decode it (Glue-framed Avro, or plain JSON), and
//! send it through the same sinks as files. Objects are named per (dataset, topic, partition)
//! after the Kafka Connect convention, so a retried batch overwrites its earlier output.
//! With more than one core, a partition's objects are encoded and stored on a thread of their
//! own while the next partition is read; the objects are the same bytes either way.

use crate::catalog::WriterSchema;
use crate::convert::seed::SeedContext;
use crate::curated::{CuratedWriter, Lineage};
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Raw;
use crate::formats::avro_datum::decode_datum;
use crate::formats::avro_direct::DirectPlan;
use crate::formats::glue::{Framing, GLUE_HEADER_LEN, inflate, parse_framing, uuid_text};
use crate::formats::json::decode_one;
use crate::ingest::{IngestConfig, Ports, UNROUTED};
use crate::model::dataset::Dataset;
use crate::model::datum::Datum;
use crate::naming::PartNames;
use crate::quarantine::{Payload, QuarantineWriter};
use crate::report::{DatasetReport, InvocationReport};
use crate::sink::{DatasetSink, KeySet, key_set};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
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

/// Settings of stream ingestion.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The pipeline settings shared with file ingestion.
    pub ingest: IngestConfig,
    /// `TOPIC_DATASETS`: topic → dataset, for topics not named after their dataset.
    pub topic_datasets: BTreeMap<String, String>,
    /// Largest size a zlib-compressed datum may inflate to.
    pub max_datum_bytes: u64,
}

/// Where a value goes and what it decoded to.
pub(crate) struct Routed<'v> {
    /// The dataset, when one could be named.
    pub(crate) dataset: Option<Arc<Dataset>>,
    /// The record, or why it does not decode.
    pub(crate) outcome: Result<Datum<'v>, RecordError>,
}

/// Routes and decodes Kafka values, remembering topics and schema versions for one batch.
pub(crate) struct Router<'a> {
    ports: Ports<'a>,
    config: &'a StreamConfig,
    by_topic: HashMap<String, Option<Arc<Dataset>>>,
    by_version: HashMap<String, Option<Arc<VersionRoute>>>,
    /// The last topic looked up (by its shared text), and its dataset.
    last_topic: Option<(Arc<str>, Option<Arc<Dataset>>)>,
    /// The last Glue version id looked up, and its route with the id as text.
    last_version: Option<([u8; 16], GlueRoute)>,
    /// Decoding contexts kept for the batch, as a file keeps one for the object: each learns
    /// the order in which records give their fields, so that a key costs one comparison.
    json: SeedContext<'static>,
    avro: SeedContext<'static>,
}

impl<'a> Router<'a> {
    /// A router with nothing looked up yet.
    pub(crate) fn new(ports: Ports<'a>, config: &'a StreamConfig) -> Self {
        Router {
            ports,
            config,
            by_topic: HashMap::new(),
            by_version: HashMap::new(),
            last_topic: None,
            last_version: None,
            json: SeedContext::new(),
            avro: SeedContext::for_avro(),
        }
    }

    fn topic_dataset(&mut self, topic: &Arc<str>) -> Result<Option<Arc<Dataset>>, IngestError> {
        // A batch's records share their topic's text: most lookups are the last one again.
        if let Some((last, ds)) = &self.last_topic
            && Arc::ptr_eq(last, topic)
        {
            return Ok(ds.clone());
        }
        let ds = match self.by_topic.get(topic.as_ref()) {
            Some(ds) => ds.clone(),
            None => {
                let name = self
                    .config
                    .topic_datasets
                    .get(topic.as_ref())
                    .map(String::as_str)
                    .unwrap_or(topic);
                let ds = self
                    .ports
                    .catalog
                    .route(self.ports.registry, name)?
                    .dataset();
                self.by_topic.insert(topic.to_string(), ds.clone());
                ds
            }
        };
        self.last_topic = Some((topic.clone(), ds.clone()));
        Ok(ds)
    }

    fn refused(
        &mut self,
        topic: &Arc<str>,
        kind: RecordErrorKind,
        message: String,
    ) -> Result<Routed<'static>, IngestError> {
        Ok(Routed {
            dataset: self.topic_dataset(topic)?,
            outcome: Err(RecordError::new(kind, message)),
        })
    }

    /// Routes and decodes one value (framing, registry lookup, Avro or JSON).
    pub(crate) fn route<'v>(
        &mut self,
        record: &StreamRecord,
        value: &'v [u8],
    ) -> Result<Routed<'v>, IngestError> {
        let (route, zlib, datum, format) = match &record.schema_metadata {
            Some(m) => {
                let format = if m.data_format.eq_ignore_ascii_case("AVRO") {
                    ValueFormat::Avro
                } else if m.data_format.eq_ignore_ascii_case("JSON") {
                    ValueFormat::Json
                } else {
                    ValueFormat::Other
                };
                let route = self.version_route(&m.schema_id)?;
                (
                    route.map(|r| (r, m.schema_id.clone())),
                    false,
                    value,
                    format,
                )
            }
            None => match parse_framing(value) {
                Err(e) => {
                    return Ok(Routed {
                        dataset: self.topic_dataset(&record.topic)?,
                        outcome: Err(e),
                    });
                }
                Ok(Framing::Plain(bytes)) => {
                    let Some(dataset) = self.topic_dataset(&record.topic)? else {
                        return Ok(Routed {
                            dataset: None,
                            outcome: Err(RecordError::new(
                                RecordErrorKind::Unrouted,
                                format!(
                                    "topic `{}` names no registered dataset (map it with TOPIC_DATASETS)",
                                    record.topic
                                ),
                            )),
                        });
                    };
                    let ty = dataset.record_ty();
                    let outcome = decode_one(bytes, &ty, &self.json);
                    return Ok(Routed {
                        dataset: Some(dataset),
                        outcome,
                    });
                }
                Ok(Framing::Glue {
                    version,
                    zlib,
                    datum,
                }) => (self.glue_route(&version)?, zlib, datum, ValueFormat::Avro),
            },
        };
        let Some((route, version_id)) = route else {
            let version_id = match &record.schema_metadata {
                Some(m) => m.schema_id.clone(),
                None => glue_version_text(value),
            };
            return self.refused(
                &record.topic,
                RecordErrorKind::Schema,
                format!("unknown schema version id {version_id}"),
            );
        };
        let Some(dataset) = route.dataset.clone() else {
            return self.refused(
                &record.topic,
                RecordErrorKind::Unrouted,
                format!(
                    "schema version {version_id} belongs to `{}`, which has no dataset",
                    route.name
                ),
            );
        };
        let ty = dataset.record_ty();
        if format == ValueFormat::Json {
            let outcome = decode_one(datum, &ty, &self.json);
            return Ok(Routed {
                dataset: Some(dataset),
                outcome,
            });
        }
        let outcome = match (&route.writer, format) {
            (Ok(writer), ValueFormat::Avro) if zlib => inflate(datum, self.config.max_datum_bytes)
                .and_then(|d| {
                    match route.direct.as_ref().and_then(|plan| plan.decode(&d)) {
                        Some(record) => Ok(record),
                        None => decode_datum(&d, &writer.decoder, &ty, &self.avro),
                    }
                    .map(Datum::into_owned)
                }),
            (Ok(writer), ValueFormat::Avro) => {
                match route.direct.as_ref().and_then(|plan| plan.decode(datum)) {
                    Some(record) => Ok(record),
                    None => decode_datum(datum, &writer.decoder, &ty, &self.avro),
                }
            }
            (Err(e), _) => Err(e.clone()),
            (Ok(_), _) => Err(RecordError::new(
                RecordErrorKind::Schema,
                format!(
                    "unsupported data format {}",
                    record
                        .schema_metadata
                        .as_ref()
                        .map(|m| m.data_format.to_ascii_uppercase())
                        .unwrap_or_default()
                ),
            )),
        };
        Ok(Routed {
            dataset: Some(dataset),
            outcome,
        })
    }

    /// The route of a Glue header's version id: the last one again, or looked up by its text.
    fn glue_route(&mut self, version: &[u8; 16]) -> Result<GlueRoute, IngestError> {
        if let Some((last, route)) = &self.last_version
            && last == version
        {
            return Ok(route.clone());
        }
        let text = uuid_text(version);
        let route = self.version_route(&text)?.map(|r| (r, text));
        self.last_version = Some((*version, route.clone()));
        Ok(route)
    }

    /// What a writer schema version id leads to, looked up once per batch.
    fn version_route(
        &mut self,
        version_id: &str,
    ) -> Result<Option<Arc<VersionRoute>>, IngestError> {
        if let Some(route) = self.by_version.get(version_id) {
            return Ok(route.clone());
        }
        let route = match self.ports.registry.by_version_id(version_id)? {
            None => None,
            Some(registered) => {
                let dataset = self
                    .ports
                    .catalog
                    .route(self.ports.registry, &registered.name)?
                    .dataset();
                let writer = if !registered.data_format.eq_ignore_ascii_case("AVRO") {
                    Err(RecordError::new(
                        RecordErrorKind::Schema,
                        format!(
                            "schema version {version_id} is a {} schema, not Avro",
                            registered.data_format
                        ),
                    ))
                } else {
                    self.ports
                        .catalog
                        .writer(&registered)
                        .map_err(|e| RecordError::new(RecordErrorKind::IncompatibleSchema, format!("writer schema {version_id}: {e}")))
                        .and_then(|writer| match &dataset {
                            Some(ds) => self.ports.catalog.check_compatible(&writer, ds).map(|()| writer).map_err(|e| {
                                RecordError::new(
                                    RecordErrorKind::IncompatibleSchema,
                                    format!("writer schema {version_id} cannot be resolved to the registered {} schema: {e}", ds.name),
                                )
                            }),
                            None => Ok(writer),
                        })
                };
                let direct = match (&writer, &dataset) {
                    (Ok(writer), Some(ds)) => DirectPlan::compile(&writer.avro, &ds.record_ty()),
                    _ => None,
                };
                Some(Arc::new(VersionRoute {
                    name: registered.name,
                    dataset,
                    writer,
                    direct,
                }))
            }
        };
        self.by_version
            .insert(version_id.to_string(), route.clone());
        Ok(route)
    }
}

/// How a value is encoded once its framing is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueFormat {
    /// An Avro datum.
    Avro,
    /// JSON (the event source mapping turned the value into JSON).
    Json,
    /// A data format that the registry integration names and the core does not read.
    Other,
}

/// The version id of a Glue header at the start of `value`, as text.
fn glue_version_text(value: &[u8]) -> String {
    value
        .get(2..GLUE_HEADER_LEN)
        .map(uuid_text)
        .unwrap_or_default()
}

/// The route of a Glue version id, with the id as text (for messages); `None` when the
/// registry does not know the id.
type GlueRoute = Option<(Arc<VersionRoute>, String)>;

/// Where values of one writer schema version go, and how they decode.
struct VersionRoute {
    /// The schema's name.
    name: String,
    /// Its dataset at the latest version.
    dataset: Option<Arc<Dataset>>,
    /// The parsed writer schema, or why it cannot be used.
    writer: Result<Arc<WriterSchema>, RecordError>,
    /// The fast reading of its datums, when the writer has the dataset's shape exactly.
    direct: Option<DirectPlan>,
}

/// The quarantine `source` of a Kafka record.
pub(crate) fn source_json(record: &StreamRecord) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("topic".into(), Value::String(record.topic.to_string()));
    map.insert("partition".into(), Value::from(record.partition));
    map.insert("offset".into(), Value::from(record.offset));
    map.insert("timestamp".into(), Value::from(record.timestamp_ms));
    if let Some(m) = &record.schema_metadata {
        map.insert("data_format".into(), Value::String(m.data_format.clone()));
        map.insert("schema_id".into(), Value::String(m.schema_id.clone()));
    }
    map
}

/// Units of a batch whose objects may be in progress at once on threads of their own (each
/// holds its records' builders until its objects are written).
const MAX_UNITS_FINISHING: usize = 4;

/// Records refused before any dataset could be named, per topic-partition.
struct Unrouted<'a> {
    writer: QuarantineWriter<'a>,
    report: DatasetReport,
}

/// The sinks of one topic-partition, by dataset (a batch's partition rarely holds more than one).
struct UnitSinks<'a> {
    sinks: Vec<DatasetSink<'a>>,
    unrouted: Option<Unrouted<'a>>,
}

/// Ingests one batch; fails (so that Lambda retries the batch) on any store or registry fault.
pub fn ingest_batch(
    ports: Ports<'_>,
    config: &StreamConfig,
    records: &[StreamRecord],
) -> Result<InvocationReport, IngestError> {
    let mut order: Vec<&StreamRecord> = records.iter().collect();
    // Records of one topic share its name (`Arc`): compared by address before by text.
    let same_topic =
        |a: &StreamRecord, b: &StreamRecord| Arc::ptr_eq(&a.topic, &b.topic) || a.topic == b.topic;
    order.sort_by(|a, b| {
        let topic = if same_topic(a, b) {
            std::cmp::Ordering::Equal
        } else {
            a.topic.cmp(&b.topic)
        };
        topic.then((a.partition, a.offset).cmp(&(b.partition, b.offset)))
    });
    let mut router = Router::new(ports, config);
    let mut seen: Vec<(String, KeySet)> = Vec::new();
    let mut report = InvocationReport::default();
    let ingest = &config.ingest;

    // One topic-partition at a time: each object is named after the first record it holds.
    // With a second core, a unit's objects are encoded and stored on a thread of their own while
    // this one reads the next unit (its Parquet is a third of the work, and a PUT waits on the
    // network); de-duplication across units stays on this thread, in record order, so the
    // objects are the same either way.
    let finishers = if ingest.encode_thread {
        MAX_UNITS_FINISHING
    } else {
        0
    };
    std::thread::scope(|scope| {
        let mut in_flight: VecDeque<Finishing<'_>> = VecDeque::new();
        let mut units = order
            .chunk_by(|a, b| a.partition == b.partition && same_topic(a, b))
            .peekable();
        while let Some(unit) = units.next() {
            let mut out = UnitSinks {
                sinks: Vec::new(),
                unrouted: None,
            };
            let mut last: Option<(Arc<Dataset>, usize, usize)> = None;
            for &record in unit {
                let routed = match &record.value {
                    None => Routed {
                        dataset: router.topic_dataset(&record.topic)?,
                        outcome: Ok(Datum::Null),
                    },
                    Some(value) => router.route(record, value)?,
                };
                let Some(dataset) = routed.dataset else {
                    let entry = out.unrouted.get_or_insert_with(|| Unrouted {
                        writer: QuarantineWriter::for_partition(
                            ports.store,
                            &ingest.quarantine_bucket,
                            &record.topic,
                            record.partition,
                            UNROUTED,
                        ),
                        report: DatasetReport::default(),
                    });
                    match (&record.value, routed.outcome) {
                        (None, _) => entry.report.tombstones += 1,
                        (Some(value), outcome) => {
                            let error = outcome.err().unwrap_or_else(|| {
                                RecordError::new(RecordErrorKind::Unrouted, "no dataset")
                            });
                            entry.writer.write(
                                source_json(record),
                                &error,
                                Payload::Bytes(value),
                            )?;
                            entry.report.received += 1;
                            entry.report.quarantined += 1;
                        }
                    }
                    continue;
                };
                // Consecutive records almost always go to the dataset of the one before: its sink
                // and key set are found by the dataset's address, without comparing names.
                let (at, i) = match &last {
                    Some((d, at, i)) if Arc::ptr_eq(d, &dataset) => (*at, *i),
                    _ => {
                        let at = match out
                            .sinks
                            .iter()
                            .position(|s| s.dataset_name() == dataset.name)
                        {
                            Some(at) => at,
                            None => {
                                out.sinks.push(DatasetSink::new(
                                    dataset.clone(),
                                    CuratedWriter::new(
                                        dataset.clone(),
                                        ports.store,
                                        &ingest.curated_bucket,
                                        PartNames::Kafka {
                                            topic: record.topic.to_string(),
                                            partition: record.partition,
                                        },
                                        ingest.limits,
                                    ),
                                    QuarantineWriter::for_partition(
                                        ports.store,
                                        &ingest.quarantine_bucket,
                                        &record.topic,
                                        record.partition,
                                        &dataset.name,
                                    ),
                                ));
                                out.sinks.len() - 1
                            }
                        };
                        let i = match seen.iter().position(|(n, _)| *n == dataset.name) {
                            Some(i) => i,
                            None => {
                                seen.push((dataset.name.clone(), key_set()));
                                seen.len() - 1
                            }
                        };
                        last = Some((dataset.clone(), at, i));
                        (at, i)
                    }
                };
                let sink = &mut out.sinks[at];
                let Some(value) = &record.value else {
                    sink.tombstone();
                    continue;
                };
                let lineage = Lineage {
                    source: &record.topic,
                    version: None,
                    partition: Some(record.partition),
                    offset: record.offset,
                    arrival_ms: record.timestamp_ms,
                };
                let keys = &mut seen[i].1;
                sink.accept(
                    keys,
                    routed.outcome,
                    Raw::Bytes(value),
                    &lineage,
                    ingest.max_future_skew_ms,
                    &|| source_json(record),
                )?;
            }
            if finishers == 0 {
                for (dataset, r) in out.finish()? {
                    report.add(&dataset, r);
                }
            } else if units.peek().is_none() {
                // The last unit is finished here, while the others may still be; the reports
                // are added in unit order all the same.
                let last = out.finish();
                for unit in in_flight.drain(..) {
                    add_finished(&mut report, unit)?;
                }
                for (dataset, r) in last? {
                    report.add(&dataset, r);
                }
            } else {
                if in_flight.len() == finishers
                    && let Some(oldest) = in_flight.pop_front()
                {
                    add_finished(&mut report, oldest)?;
                }
                in_flight.push_back(scope.spawn(move || out.finish()));
                // Units whose objects are done report now, so that a store fault stops the batch
                // early rather than after every unit has been read.
                while in_flight.front().is_some_and(|h| h.is_finished()) {
                    if let Some(done) = in_flight.pop_front() {
                        add_finished(&mut report, done)?;
                    }
                }
            }
        }
        for unit in in_flight {
            add_finished(&mut report, unit)?;
        }
        Ok(report)
    })
}

/// A unit's objects being finished on a thread of their own: its datasets and their reports.
type Finishing<'s> =
    std::thread::ScopedJoinHandle<'s, Result<Vec<(String, DatasetReport)>, IngestError>>;

/// Waits for a unit being finished and adds its reports, in the order the units were read.
fn add_finished(report: &mut InvocationReport, unit: Finishing<'_>) -> Result<(), IngestError> {
    let finished = unit
        .join()
        .map_err(|_| IngestError::WorkerLost("finishing a partition's objects"))??;
    for (dataset, r) in finished {
        report.add(&dataset, r);
    }
    Ok(())
}

impl UnitSinks<'_> {
    /// Completes the unit's curated and quarantine objects: its datasets and their reports.
    fn finish(self) -> Result<Vec<(String, DatasetReport)>, IngestError> {
        let mut reports = Vec::with_capacity(self.sinks.len() + 1);
        for sink in self.sinks {
            let dataset = sink.dataset_name().to_string();
            reports.push((dataset, sink.finish()?));
        }
        if let Some(mut u) = self.unrouted {
            if let Some(object) = u.writer.finish()? {
                u.report.objects.push(object);
            }
            reports.push((UNROUTED.to_string(), u.report));
        }
        Ok(reports)
    }
}
