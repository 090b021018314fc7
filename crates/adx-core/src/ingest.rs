//! File ingestion of one landing object: route it to a dataset by its key's first segment,
//! pick the decoder by suffix, and send every record to curated Parquet, to quarantine or to
//! the duplicate count. Store and registry faults fail the call; bad data never does.

use crate::curated::{CuratedWriter, Lineage, WriterLimits};
use crate::dataset::{Catalog, CatalogError, Dataset};
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::compression::decompress;
use crate::formats::tracked::{SourceFault, TrackedRead};
use crate::formats::{
    Decoded, Format, Raw, Stop, avro::decode_avro, csv::decode_csv, detect, json::decode_json,
};
use crate::naming::{object_base_name, quarantine_key};
use crate::ports::{ObjectStore, SchemaRegistry, StoreError};
use crate::quarantine::{Payload, QuarantineWriter};
use crate::report::DatasetReport;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_128;

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
}

/// The landing object to ingest, as the S3 event names it.
#[derive(Debug, Clone)]
pub struct ObjectSource {
    /// Bucket.
    pub bucket: String,
    /// Key, already URL-decoded.
    pub key: String,
    /// Version id, else ETag, of the object.
    pub version: Option<String>,
    /// The event's time, epoch millis: the records' arrival time.
    pub arrival_ms: i64,
    /// Object size in bytes, as the event says.
    pub size: Option<u64>,
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

fn catalog_error(e: CatalogError) -> IngestError {
    match e {
        CatalogError::Registry(e) => IngestError::Registry(e),
        CatalogError::BadSchema {
            name,
            version_id,
            message,
        } => IngestError::BadSchema {
            name,
            message: format!("version {version_id}: {message}"),
        },
    }
}

/// Ingests one landing object; returns the dataset name (or [`UNROUTED`]) and its report.
pub fn ingest_object(
    ports: Ports<'_>,
    config: &IngestConfig,
    source: &ObjectSource,
) -> Result<(String, DatasetReport), IngestError> {
    let base = object_base_name(&source.bucket, &source.key, source.version.as_deref());
    let prefix = source.key.split('/').next().unwrap_or_default();
    let dataset = if source.key.contains('/') && !prefix.is_empty() {
        ports
            .catalog
            .latest(ports.registry, prefix)
            .map_err(catalog_error)?
    } else {
        None
    };
    let Some(dataset) = dataset else {
        let error = RecordError::new(
            RecordErrorKind::Unrouted,
            format!("the key's first segment `{prefix}` names no registered dataset"),
        );
        let report = quarantine_whole(ports.store, config, source, &base, UNROUTED, &error)?;
        return Ok((UNROUTED.to_string(), report));
    };
    let Some((format, compression)) = detect(&source.key) else {
        let error = RecordError::new(
            RecordErrorKind::UnsupportedFormat,
            "unsupported suffix: expected .csv, .json, .jsonl, .ndjson or .avro, optionally followed by .gz or .zst",
        );
        let report = quarantine_whole(ports.store, config, source, &base, &dataset.name, &error)?;
        return Ok((dataset.name.clone(), report));
    };

    let fault = SourceFault::default();
    let raw = ports.store.get(&source.bucket, &source.key)?;
    let tracked: Box<dyn Read + Send> = Box::new(TrackedRead::new(raw, fault.clone()));
    let mut run = Run::new(ports.store, config, source, &base, dataset.clone());
    let result = match decompress(tracked, compression) {
        Err(e) => Err(Stop::Object(RecordError::new(
            RecordErrorKind::Object,
            format!("cannot start decompression: {e}"),
        ))),
        Ok(mut input) => {
            let mut emit = |d: Decoded<'_>| run.accept(d);
            match format {
                Format::Csv => decode_csv(&mut input, &dataset.shape, &mut emit),
                Format::Json => decode_json(&mut input, &dataset.shape, &mut emit),
                Format::Avro => decode_avro(&mut input, &dataset.schema, &dataset.shape, &mut emit),
            }
        }
    };
    match result {
        Ok(()) if run.report.received == 0 => {
            run.quarantine_object(&RecordError::new(
                RecordErrorKind::Object,
                "the object holds no records",
            ))?;
        }
        Ok(()) => {}
        Err(Stop::Infra(e)) => return Err(e),
        Err(Stop::Object(error)) => {
            if let Some(message) = fault.get() {
                return Err(IngestError::Store(StoreError::Failed {
                    operation: "get",
                    bucket: source.bucket.clone(),
                    key: source.key.clone(),
                    message,
                }));
            }
            run.quarantine_object(&error)?;
        }
    }
    let report = run.finish()?;
    Ok((dataset.name.clone(), report))
}

/// Quarantines a whole object as one entry (unknown dataset, unsupported suffix).
fn quarantine_whole(
    store: &dyn ObjectStore,
    config: &IngestConfig,
    source: &ObjectSource,
    base: &str,
    dataset: &str,
    error: &RecordError,
) -> Result<DatasetReport, IngestError> {
    let key = quarantine_key(dataset, source.arrival_ms, base);
    let mut q = QuarantineWriter::new(store, &config.quarantine_bucket, key, dataset);
    q.write(source_json(source, None), error, Payload::None)?;
    let object = q.finish()?;
    Ok(DatasetReport {
        received: 1,
        quarantined: 1,
        objects: object.into_iter().collect(),
        ..DatasetReport::default()
    })
}

fn source_json(
    source: &ObjectSource,
    position: Option<crate::formats::Position>,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("bucket".into(), Value::String(source.bucket.clone()));
    map.insert("key".into(), Value::String(source.key.clone()));
    if let Some(v) = &source.version {
        map.insert("version".into(), Value::String(v.clone()));
    }
    if let Some(p) = position {
        map.insert(p.label().into(), Value::from(p.number()));
    }
    map
}

/// The de-duplication set holds 128-bit xxh3 digests of the keys: already uniformly
/// distributed, so the table hashes them by taking their low bits instead of hashing again.
#[derive(Clone, Copy, Default)]
struct KeyHashState;

#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::BuildHasher for KeyHashState {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used for u128 keys; fold anything else in so the hasher stays correct.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// The state of one object's ingestion.
struct Run<'a> {
    config: &'a IngestConfig,
    source: &'a ObjectSource,
    source_uri: String,
    dataset: Arc<Dataset>,
    curated: CuratedWriter<'a>,
    quarantine: QuarantineWriter<'a>,
    seen: HashSet<u128, KeyHashState>,
    report: DatasetReport,
}

impl<'a> Run<'a> {
    fn new(
        store: &'a dyn ObjectStore,
        config: &'a IngestConfig,
        source: &'a ObjectSource,
        base: &str,
        dataset: Arc<Dataset>,
    ) -> Self {
        let qkey = quarantine_key(&dataset.name, source.arrival_ms, base);
        Run {
            config,
            source,
            source_uri: format!("s3://{}/{}", source.bucket, source.key),
            curated: CuratedWriter::new(
                dataset.clone(),
                store,
                &config.curated_bucket,
                base,
                config.limits,
            ),
            quarantine: QuarantineWriter::new(
                store,
                &config.quarantine_bucket,
                qkey,
                &dataset.name,
            ),
            dataset,
            seen: HashSet::with_hasher(KeyHashState),
            report: DatasetReport::default(),
        }
    }

    fn accept(&mut self, d: Decoded<'_>) -> Result<(), IngestError> {
        self.report.received += 1;
        let record = match d.outcome {
            Ok(record) => record,
            Err(error) => return self.reject(d.position, &error, d.raw, None),
        };
        if let Err(e) = self.dataset.validate(
            &record,
            self.source.arrival_ms,
            self.config.max_future_skew_ms,
        ) {
            let error = RecordError::from_field(RecordErrorKind::Rule, e);
            return self.reject(d.position, &error, d.raw, Some(&record));
        }
        let mut scratch = [0u8; 8];
        if let Some(key) = self.dataset.key_bytes(&record, &mut scratch)
            && !self.seen.insert(xxh3_128(key))
        {
            self.report.duplicates += 1;
            return Ok(());
        }
        let lineage = Lineage {
            source: &self.source_uri,
            version: self.source.version.as_deref(),
            partition: None,
            offset: d.position.number(),
            arrival_ms: self.source.arrival_ms,
        };
        self.curated.push(&record, &lineage)?;
        self.report.curated += 1;
        Ok(())
    }

    fn reject(
        &mut self,
        position: crate::formats::Position,
        error: &RecordError,
        raw: Raw<'_>,
        record: Option<&crate::Datum>,
    ) -> Result<(), IngestError> {
        let rendered;
        let bytes = raw.to_bytes();
        let payload = if let Some(bytes) = &bytes {
            Payload::Bytes(bytes)
        } else if let Some(record) = record {
            rendered = record.to_json(&self.dataset.record_ty()).to_string();
            Payload::Bytes(rendered.as_bytes())
        } else {
            Payload::None
        };
        self.quarantine
            .write(source_json(self.source, Some(position)), error, payload)?;
        self.report.quarantined += 1;
        Ok(())
    }

    fn quarantine_object(&mut self, error: &RecordError) -> Result<(), IngestError> {
        self.report.received += 1;
        self.quarantine
            .write(source_json(self.source, None), error, Payload::None)?;
        self.report.quarantined += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<DatasetReport, IngestError> {
        self.report.objects = self.curated.finish()?;
        if let Some(q) = self.quarantine.finish()? {
            self.report.objects.push(q);
        }
        let written: u64 = self
            .report
            .objects
            .iter()
            .filter(|o| o.kind == "curated")
            .map(|o| o.records)
            .sum();
        if !self.report.reconciles() || written != self.report.curated {
            return Err(IngestError::CountMismatch {
                dataset: self.dataset.name.clone(),
                detail: format!(
                    "received {} curated {} (rows written {written}) quarantined {} duplicates {}",
                    self.report.received,
                    self.report.curated,
                    self.report.quarantined,
                    self.report.duplicates
                ),
            });
        }
        Ok(self.report)
    }
}
