//! Stream ingestion of one batch of Kafka records (what the MSK event source mapping hands to
//! Lambda): route each value to a dataset, decode it (Glue-framed Avro, or plain JSON), and
//! send it through the same sinks as files. Objects are named per (dataset, topic, partition)
//! after the Kafka Connect convention, so a retried batch overwrites its earlier output.

use crate::convert::seed::SeedContext;
use crate::curated::{CuratedWriter, Lineage};
use crate::dataset::Dataset;
use crate::datum::Datum;
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Raw;
use crate::formats::avro_datum::decode_datum;
use crate::formats::glue::{Framing, inflate, parse_framing};
use crate::formats::json::decode_one;
use crate::ingest::{IngestConfig, Ports, UNROUTED};
use crate::naming::{PartNames, quarantine_key};
use crate::quarantine::{Payload, QuarantineWriter};
use crate::report::{DatasetReport, InvocationReport};
use crate::sink::{DatasetSink, KeySet, key_set};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
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
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// The record's timestamp, epoch millis: its arrival time.
    pub timestamp_ms: i64,
    /// The value; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
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

type UnitKey = (String, i32);

/// Where a value goes and what it decoded to.
struct Routed {
    dataset: Option<Arc<Dataset>>,
    outcome: Result<Datum, RecordError>,
}

struct Router<'a> {
    ports: Ports<'a>,
    config: &'a StreamConfig,
    by_topic: HashMap<String, Option<Arc<Dataset>>>,
}

impl Router<'_> {
    fn topic_dataset(&mut self, topic: &str) -> Result<Option<Arc<Dataset>>, IngestError> {
        if let Some(ds) = self.by_topic.get(topic) {
            return Ok(ds.clone());
        }
        let name = self
            .config
            .topic_datasets
            .get(topic)
            .map(String::as_str)
            .unwrap_or(topic);
        let ds = self.ports.catalog.latest(self.ports.registry, name)?;
        self.by_topic.insert(topic.to_string(), ds.clone());
        Ok(ds)
    }

    fn refused(
        &mut self,
        topic: &str,
        kind: RecordErrorKind,
        message: String,
    ) -> Result<Routed, IngestError> {
        Ok(Routed {
            dataset: self.topic_dataset(topic)?,
            outcome: Err(RecordError::new(kind, message)),
        })
    }

    fn route(&mut self, record: &StreamRecord, value: &[u8]) -> Result<Routed, IngestError> {
        let (version_id, zlib, datum, format) = match &record.schema_metadata {
            Some(m) => (
                m.schema_id.clone(),
                false,
                value,
                m.data_format.to_ascii_uppercase(),
            ),
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
                    let ctx = SeedContext::new();
                    let outcome = decode_one(bytes, &ty, &ctx);
                    return Ok(Routed {
                        dataset: Some(dataset),
                        outcome,
                    });
                }
                Ok(Framing::Glue {
                    version_id,
                    zlib,
                    datum,
                }) => (version_id, zlib, datum, "AVRO".to_string()),
            },
        };
        let Some(registered) = self.ports.registry.by_version_id(&version_id)? else {
            return self.refused(
                &record.topic,
                RecordErrorKind::Schema,
                format!("unknown schema version id {version_id}"),
            );
        };
        let Some(dataset) = self
            .ports
            .catalog
            .latest(self.ports.registry, &registered.name)?
        else {
            return self.refused(
                &record.topic,
                RecordErrorKind::Unrouted,
                format!(
                    "schema version {version_id} belongs to `{}`, which has no dataset",
                    registered.name
                ),
            );
        };
        let ty = dataset.record_ty();
        let ctx = SeedContext::new();
        if format == "JSON" {
            let outcome = decode_one(datum, &ty, &ctx);
            return Ok(Routed {
                dataset: Some(dataset),
                outcome,
            });
        }
        let outcome = if !registered.data_format.eq_ignore_ascii_case("AVRO") || format != "AVRO" {
            Err(RecordError::new(
                RecordErrorKind::Schema,
                format!(
                    "schema version {version_id} is a {} schema, not Avro",
                    registered.data_format
                ),
            ))
        } else {
            self.decode_avro(&registered, &dataset, zlib, datum, &ty, &ctx)
        };
        Ok(Routed {
            dataset: Some(dataset),
            outcome,
        })
    }

    fn decode_avro<'s>(
        &self,
        registered: &crate::ports::RegisteredSchema,
        dataset: &Dataset,
        zlib: bool,
        datum: &[u8],
        ty: &'s crate::shape::Ty,
        ctx: &SeedContext<'s>,
    ) -> Result<Datum, RecordError> {
        let writer = self.ports.catalog.writer(registered).map_err(|e| {
            RecordError::new(
                RecordErrorKind::IncompatibleSchema,
                format!("writer schema {}: {e}", registered.version_id),
            )
        })?;
        self.ports
            .catalog
            .check_compatible(&writer, dataset)
            .map_err(|e| {
                RecordError::new(
                    RecordErrorKind::IncompatibleSchema,
                    format!(
                        "writer schema {} cannot be resolved to the registered {} schema: {e}",
                        registered.version_id, dataset.name
                    ),
                )
            })?;
        if zlib {
            let inflated = inflate(datum, self.config.max_datum_bytes)?;
            decode_datum(&inflated, &writer.decoder, ty, ctx)
        } else {
            decode_datum(datum, &writer.decoder, ty, ctx)
        }
    }
}

fn source_json(record: &StreamRecord) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("topic".into(), Value::String(record.topic.clone()));
    map.insert("partition".into(), Value::from(record.partition));
    map.insert("offset".into(), Value::from(record.offset));
    map.insert("timestamp".into(), Value::from(record.timestamp_ms));
    map
}

/// Records refused before any dataset could be named, per topic-partition.
struct Unrouted<'a> {
    writer: QuarantineWriter<'a>,
    report: DatasetReport,
}

/// Ingests one batch; fails (so that Lambda retries the batch) on any store or registry fault.
pub fn ingest_batch(
    ports: Ports<'_>,
    config: &StreamConfig,
    records: &[StreamRecord],
) -> Result<InvocationReport, IngestError> {
    let mut order: Vec<&StreamRecord> = records.iter().collect();
    order.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    // The first record of each topic-partition names its objects.
    let mut first: HashMap<UnitKey, (i64, i64)> = HashMap::new();
    for r in &order {
        first
            .entry((r.topic.clone(), r.partition))
            .or_insert((r.offset, r.timestamp_ms));
    }
    let mut router = Router {
        ports,
        config,
        by_topic: HashMap::new(),
    };
    let mut sinks: BTreeMap<(String, UnitKey), DatasetSink<'_>> = BTreeMap::new();
    let mut unrouted: BTreeMap<UnitKey, Unrouted<'_>> = BTreeMap::new();
    let mut seen: HashMap<String, KeySet> = HashMap::new();
    let ingest = &config.ingest;

    for record in order {
        let unit: UnitKey = (record.topic.clone(), record.partition);
        let (first_offset, first_ts) = first
            .get(&unit)
            .copied()
            .unwrap_or((record.offset, record.timestamp_ms));
        let name = format!("{}+{}+{}", record.topic, record.partition, first_offset);
        let routed = match &record.value {
            None => Routed {
                dataset: router.topic_dataset(&record.topic)?,
                outcome: Ok(Datum::Null),
            },
            Some(value) => router.route(record, value)?,
        };
        let Some(dataset) = routed.dataset else {
            let entry = unrouted.entry(unit.clone()).or_insert_with(|| Unrouted {
                writer: QuarantineWriter::new(
                    ports.store,
                    &ingest.quarantine_bucket,
                    quarantine_key(UNROUTED, first_ts, &name),
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
                    entry
                        .writer
                        .write(source_json(record), &error, Payload::Bytes(value))?;
                    entry.report.received += 1;
                    entry.report.quarantined += 1;
                }
            }
            continue;
        };
        let sink = sinks
            .entry((dataset.name.clone(), unit.clone()))
            .or_insert_with(|| {
                DatasetSink::new(
                    dataset.clone(),
                    CuratedWriter::new(
                        dataset.clone(),
                        ports.store,
                        &ingest.curated_bucket,
                        PartNames::Kafka {
                            topic: record.topic.clone(),
                            partition: record.partition,
                        },
                        ingest.limits,
                    ),
                    QuarantineWriter::new(
                        ports.store,
                        &ingest.quarantine_bucket,
                        quarantine_key(&dataset.name, first_ts, &name),
                        &dataset.name,
                    ),
                )
            });
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
        let keys = seen.entry(dataset.name.clone()).or_insert_with(key_set);
        sink.accept(
            keys,
            routed.outcome,
            Raw::Bytes(value),
            &lineage,
            ingest.max_future_skew_ms,
            &|| source_json(record),
        )?;
    }

    let mut report = InvocationReport::default();
    for ((dataset, _), sink) in sinks {
        report.add(&dataset, sink.finish()?);
    }
    for (_, mut u) in unrouted {
        if let Some(object) = u.writer.finish()? {
            u.report.objects.push(object);
        }
        report.add(UNROUTED, u.report);
    }
    Ok(report)
}
