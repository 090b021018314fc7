//! File ingestion of one landing object: route it to a dataset by its key's first segment,
//! pick the decoder by suffix, and send every record to curated Parquet, to quarantine or to
//! the duplicate count. Store and registry faults fail the call; bad data never does.

use crate::catalog::Route;
use crate::curated::{CuratedWriter, Lineage};
use crate::dedup::key_digest;
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::compression::decompress;
use crate::formats::read_ahead::read_ahead;
use crate::formats::tracked::{SourceFault, TrackedRead};
use crate::formats::{
    Compression, Decoded, Format, Position, Stop, avro::decode_avro, csv::decode_csv, detect,
    json::decode_json,
};
use crate::model::dataset::Dataset;
use crate::naming::{PartNames, object_base_name, quarantine_key};
use crate::pending::PendingUnit;
pub use crate::pipeline::{IngestConfig, Ports, UNROUTED};
use crate::ports::{ObjectStore, Pin, StoreError};
use crate::quarantine::{ObjectOrigin, Payload, QuarantineWriter, Source};
use crate::report::DatasetReport;
use crate::sink::{DatasetSink, KeySet, key_set};
use std::io::Read;
use std::sync::Arc;

/// The landing object to ingest, as the S3 event names it.
#[derive(Debug, Clone)]
pub struct ObjectSource {
    /// Bucket.
    pub bucket: String,
    /// Key, already URL-decoded.
    pub key: String,
    /// Version id, else ETag, of the object.
    pub version: Option<String>,
    /// The content the event announced, so that a replaced object is not read in its place.
    pub pin: Pin,
    /// The event's time, epoch millis: the records' arrival time.
    pub arrival_ms: i64,
    /// Object size in bytes, as the event says.
    pub size: Option<u64>,
}

/// Ingests one landing object; returns the dataset name (or [`UNROUTED`]) and its report.
pub fn ingest_object(
    ports: Ports<'_>,
    config: &IngestConfig,
    source: &ObjectSource,
) -> Result<(String, DatasetReport), IngestError> {
    let base = object_base_name(&source.bucket, &source.key, source.version.as_deref());
    let prefix = source.key.split('/').next().unwrap_or_default();
    let unrouted = |reason: &str| {
        let error = RecordError::new(
            RecordErrorKind::Unrouted,
            format!("the key's first segment `{prefix}` names no dataset: {reason}"),
        );
        let report = quarantine_whole(ports.store, config, source, &base, UNROUTED, &error)?;
        Ok((UNROUTED.to_string(), report))
    };
    if !source.key.contains('/') || prefix.is_empty() {
        return unrouted("the key has no dataset prefix");
    }
    let dataset = match ports.catalog.route(ports.registry, prefix)? {
        Route::Dataset(dataset) => dataset,
        other => return unrouted(&other.reason().unwrap_or_default()),
    };
    let Some((format, compression)) = detect(&source.key) else {
        let error = RecordError::new(
            RecordErrorKind::UnsupportedFormat,
            "unsupported suffix: expected .csv, .json, .jsonl, .ndjson or .avro, optionally followed by .gz or .zst",
        );
        let report = quarantine_whole(ports.store, config, source, &base, &dataset.name, &error)?;
        return Ok((dataset.name.clone(), report));
    };

    let raw = ports
        .store
        .get_pinned(&source.bucket, &source.key, &source.pin)?;
    let names = PartNames::Object { base: base.clone() };
    if !config.encode_thread {
        let writer = CuratedWriter::new(
            dataset.clone(),
            ports.store,
            &config.curated_bucket,
            names,
            config.limits,
        );
        let run = Run::new(ports.store, config, source, &base, &dataset, writer);
        return decode_object(run, raw, format, compression, &dataset, config, source);
    }
    // Decoding on this thread, Parquet encoding on a second one.
    std::thread::scope(|scope| {
        let (writer, encoder) = CuratedWriter::piped(
            dataset.clone(),
            ports.store,
            &config.curated_bucket,
            names,
            config.limits,
        );
        scope.spawn(move || encoder.run());
        let run = Run::new(ports.store, config, source, &base, &dataset, writer);
        decode_object(run, raw, format, compression, &dataset, config, source)
    })
}

/// Decodes one object into its run's outputs and finishes them.
fn decode_object(
    mut run: Run<'_>,
    raw: Box<dyn Read + Send>,
    format: Format,
    compression: Compression,
    dataset: &Arc<Dataset>,
    config: &IngestConfig,
    source: &ObjectSource,
) -> Result<(String, DatasetReport), IngestError> {
    let fault = SourceFault::default();
    let tracked: Box<dyn Read + Send> = Box::new(TrackedRead::new(raw, fault.clone()));
    let result = match decompress(tracked, compression, config.max_inflated_bytes) {
        Err(e) => Err(Stop::Object(RecordError::new(
            RecordErrorKind::Object,
            format!("cannot start decompression: {e}"),
        ))),
        Ok(input) if config.encode_thread && compression != Compression::None => {
            // Decompressing on a thread of its own while this one decodes.
            std::thread::scope(|scope| match read_ahead(scope, input) {
                Ok(mut ahead) => decode_records(&mut ahead, format, dataset, config, &mut run),
                Err(source) => Err(Stop::Infra(IngestError::ThreadStart {
                    what: "read-ahead",
                    source,
                })),
            })
        }
        Ok(mut input) => decode_records(&mut input, format, dataset, config, &mut run),
    };
    match result {
        Ok(()) if run.sink.received() == 0 => {
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

/// Decodes the records of one (decompressed) input into the run.
fn decode_records(
    input: &mut dyn Read,
    format: Format,
    dataset: &Dataset,
    config: &IngestConfig,
    run: &mut Run<'_>,
) -> Result<(), Stop> {
    let mut emit = |d: Decoded<'_>| run.accept(d);
    match format {
        Format::Csv => decode_csv(
            input,
            &dataset.shape,
            Some(dataset.key),
            config.max_record_bytes,
            &mut emit,
        ),
        Format::Json => decode_json(
            input,
            &dataset.shape,
            Some(dataset.key),
            config.max_record_bytes,
            &mut emit,
        ),
        Format::Avro => decode_avro(input, &dataset.schema, &dataset.shape, &mut emit),
    }
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
    q.write(&origin(source, None), error, Payload::None)?;
    let object = q.finish()?;
    Ok(DatasetReport {
        received: 1,
        quarantined: 1,
        objects: object.into_iter().collect(),
        ..DatasetReport::default()
    })
}

/// The quarantine `source` of the object's record at `position` (of the whole object: `None`).
fn origin(source: &ObjectSource, position: Option<Position>) -> Source {
    Source::Object(ObjectOrigin {
        bucket: source.bucket.clone(),
        key: source.key.clone(),
        version: source.version.clone(),
        arrival_ms: source.arrival_ms,
        position,
    })
}

/// The state of one object's ingestion.
struct Run<'a> {
    config: &'a IngestConfig,
    source: &'a ObjectSource,
    source_uri: String,
    sink: DatasetSink<'a>,
    seen: KeySet,
}

impl<'a> Run<'a> {
    fn new(
        store: &'a dyn ObjectStore,
        config: &'a IngestConfig,
        source: &'a ObjectSource,
        base: &str,
        dataset: &Arc<Dataset>,
        curated: CuratedWriter<'a>,
    ) -> Self {
        let qkey = quarantine_key(&dataset.name, source.arrival_ms, base);
        let unit = PendingUnit::Object {
            bucket: source.bucket.clone(),
            key: source.key.clone(),
            version: source.version.clone(),
            name: base.to_string(),
        };
        let quarantine =
            QuarantineWriter::new(store, &config.quarantine_bucket, qkey, &dataset.name);
        Run {
            config,
            source,
            source_uri: format!("s3://{}/{}", source.bucket, source.key),
            sink: DatasetSink::new(dataset.clone(), curated, quarantine, unit),
            seen: key_set(),
        }
    }

    fn accept(&mut self, d: Decoded<'_>) -> Result<(), IngestError> {
        if let Some(key) = d.key_ahead {
            self.seen.prefetch(key_digest(key));
        }
        let lineage = Lineage {
            source: &self.source_uri,
            version: self.source.version.as_deref(),
            partition: None,
            offset: d.position.number(),
            arrival_ms: self.source.arrival_ms,
        };
        let source = self.source;
        let position = d.position;
        self.sink.accept(
            &mut self.seen,
            d.outcome,
            d.raw,
            &lineage,
            self.config.max_future_skew_ms,
            &|| origin(source, Some(position)),
        )
    }

    fn quarantine_object(&mut self, error: &RecordError) -> Result<(), IngestError> {
        self.sink
            .refuse(&origin(self.source, None), error, Payload::None)
    }

    fn finish(self) -> Result<DatasetReport, IngestError> {
        self.sink.finish()
    }
}
