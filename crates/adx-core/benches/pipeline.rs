//! Criterion benchmarks of the core, on generated data held in memory (no disk, no process
//! start): each decoder alone (bytes to records of the reader shape), and the whole file
//! pipeline (`ingest_object`: decode, validate, de-duplicate, Parquet) with Parquet encoded on
//! the caller's thread and on a second thread (its columns on one worker or two), and the
//! Parquet encoder alone on one column worker and on two. Throughput is in records.
//!
//! `cargo bench -p adx-core --bench pipeline` (add `-- decode`, `-- ingest` or `-- encode` to
//! pick a group).

use adx_core::CachedRegistry;
use adx_core::Ports;
use adx_core::WriterLimits;
use adx_core::internals::PartNames;
use adx_core::internals::{Command, PartEncoder};
use adx_core::internals::{Decoded, Stop, decode_avro, decode_csv, decode_json};
use adx_core::{Catalog, Dataset, IngestConfig, ObjectSource, SchemaRegistry, ingest_object};
use adx_core::{Pin, RegisteredSchema};
use adx_gen::{AvroCodec, Compression, Dataset as GenDataset, Format, GenConfig};
use adx_local::{LocalSchemaFolder, MemoryStore};
use arrow_array::RecordBatch;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::sync::Arc;
use std::time::Duration;

const RECORDS: usize = 50_000;
const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");

/// The cases: each dataset in the format its target names.
fn cases() -> Vec<(GenDataset, Format, &'static str)> {
    vec![
        (GenDataset::ClickConversions, Format::Csv, "csv"),
        (GenDataset::AdImpressions, Format::JsonLines, "jsonl"),
        (
            GenDataset::BidRequests,
            Format::Avro(AvroCodec::Null),
            "avro",
        ),
    ]
}

fn schema_text(dataset: GenDataset) -> String {
    let path = format!("{SCHEMA_DIR}/{}.avsc", dataset.name());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn generate(dataset: GenDataset, format: Format) -> Vec<u8> {
    let config = GenConfig {
        seed: 7,
        records: RECORDS,
        ..GenConfig::default()
    };
    let mut bytes = Vec::new();
    adx_gen::encode(
        dataset,
        format,
        Compression::None,
        &config,
        &schema_text(dataset),
        &mut bytes,
    )
    .unwrap_or_else(|e| panic!("generating {}: {e}", dataset.name()));
    bytes
}

fn compiled(dataset: GenDataset) -> Dataset {
    Dataset::from_registered(&RegisteredSchema {
        name: dataset.name().into(),
        version_id: "bench".into(),
        version_number: 1,
        data_format: "AVRO".into(),
        definition: schema_text(dataset),
    })
    .unwrap_or_else(|e| panic!("compiling {}: {e}", dataset.name()))
}

/// Decodes `bytes` and returns how many records decoded.
fn decode(dataset: &Dataset, format: Format, bytes: &[u8]) -> usize {
    let mut good = 0;
    let mut emit = |d: Decoded<'_>| {
        good += usize::from(d.outcome.is_ok());
        Ok(())
    };
    let mut input = bytes;
    let result: Result<(), Stop> = match format {
        Format::Csv => decode_csv(
            &mut input,
            &dataset.shape,
            Some(dataset.key),
            1 << 24,
            &mut emit,
        ),
        Format::Avro(_) => decode_avro(&mut input, &dataset.schema, &dataset.shape, &mut emit),
        _ => decode_json(
            &mut input,
            &dataset.shape,
            Some(dataset.key),
            1 << 24,
            &mut emit,
        ),
    };
    assert!(result.is_ok(), "the generated data decodes");
    good
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (dataset, format, label) in cases() {
        let bytes = generate(dataset, format);
        let compiled = compiled(dataset);
        assert_eq!(
            decode(&compiled, format, &bytes),
            RECORDS,
            "every record decodes"
        );
        group.bench_function(BenchmarkId::new(dataset.name(), label), |b| {
            b.iter(|| decode(&compiled, format, &bytes))
        });
    }
    group.finish();
}

/// The pipeline settings: Parquet on a second thread or not, its columns on `encode_workers`.
fn ingest_config(encode_thread: bool, encode_workers: usize) -> IngestConfig {
    IngestConfig {
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits: WriterLimits {
            encode_workers,
            ..WriterLimits::default()
        },
        max_record_bytes: 1 << 24,
        max_inflated_bytes: 1 << 34,
        encode_thread,
    }
}

/// The landing object `key` of `size` bytes.
fn landing_source(key: &str, size: usize) -> ObjectSource {
    ObjectSource {
        bucket: "landing".into(),
        key: key.into(),
        version: None,
        pin: Pin::Latest,
        arrival_ms: GenConfig::default().arrival_ms,
        size: Some(size as u64),
    }
}

fn bench_ingest(c: &mut Criterion) {
    let registry = CachedRegistry::new(
        LocalSchemaFolder::new(SCHEMA_DIR),
        Duration::from_secs(3600),
    );
    let catalog = Catalog::new();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (dataset, format, label) in cases() {
        let bytes = Arc::new(generate(dataset, format));
        let key = format!("{}/bench.{}", dataset.name(), format.extension());
        // One thread; a second encoding thread; and that thread's columns shared with a worker.
        for (encode_thread, encode_workers) in [(false, 1), (true, 1), (true, 2)] {
            let config = ingest_config(encode_thread, encode_workers);
            let source = landing_source(&key, bytes.len());
            let threads = match (encode_thread, encode_workers) {
                (false, _) => "1 thread",
                (true, 1) => "2 threads",
                (true, _) => "2 threads, 2 column workers",
            };
            let id = BenchmarkId::new(dataset.name(), format!("{label}, {threads}"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let store = MemoryStore::new();
                    store.insert("landing", &key, bytes.as_slice());
                    let ports = Ports {
                        store: &store,
                        registry: &registry as &dyn SchemaRegistry,
                        catalog: &catalog,
                    };
                    let (_, report) = ingest_object(ports, &config, &source)
                        .unwrap_or_else(|e| panic!("ingesting {key}: {e}"));
                    assert_eq!(report.curated, RECORDS as u64, "every record curated");
                })
            });
        }
    }
    group.finish();
}

/// The curated rows of a case as the Parquet encoder receives them: Arrow batches of 8,192
/// rows, read back from what `ingest_object` wrote.
fn curated_batches(
    registry: &dyn SchemaRegistry,
    dataset: GenDataset,
    format: Format,
) -> Vec<RecordBatch> {
    let bytes = generate(dataset, format);
    let key = format!("{}/bench.{}", dataset.name(), format.extension());
    let store = MemoryStore::new();
    store.insert("landing", &key, bytes.as_slice());
    let config = ingest_config(false, 1);
    let source = landing_source(&key, bytes.len());
    let catalog = Catalog::new();
    let ports = Ports {
        store: &store,
        registry,
        catalog: &catalog,
    };
    ingest_object(ports, &config, &source).unwrap_or_else(|e| panic!("ingesting {key}: {e}"));
    let mut batches = Vec::new();
    // The curated bucket also holds the run's pending manifest (`_pending/…json`).
    for (key, object) in store.objects("curated") {
        if !key.ends_with(".parquet") {
            continue;
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(object.to_vec()))
            .and_then(|b| b.with_batch_size(8192).build())
            .unwrap_or_else(|e| panic!("reading {key}: {e}"));
        for batch in reader {
            batches.push(batch.unwrap_or_else(|e| panic!("reading {key}: {e}")));
        }
    }
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        RECORDS,
        "every record curated"
    );
    batches
}

/// The Parquet encoder alone (the encoding thread's work: page encoding, dictionaries,
/// statistics, zstd), on one column worker and on two.
fn bench_encode(c: &mut Criterion) {
    let registry = CachedRegistry::new(
        LocalSchemaFolder::new(SCHEMA_DIR),
        Duration::from_secs(3600),
    );
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (dataset, format, label) in cases() {
        let batches = curated_batches(&registry, dataset, format);
        let compiled = Arc::new(compiled(dataset));
        for workers in [1, 2] {
            let id = BenchmarkId::new(dataset.name(), format!("{label}, {workers} column workers"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let store = MemoryStore::new();
                    let mut encoder = PartEncoder::new(
                        compiled.clone(),
                        &store,
                        "curated",
                        PartNames::Object {
                            base: "bench".into(),
                        },
                        WriterLimits {
                            encode_workers: workers,
                            ..WriterLimits::default()
                        },
                    );
                    for batch in &batches {
                        encoder
                            .handle(Command::Write {
                                hour: 0,
                                first_offset: 0,
                                batch: batch.clone(),
                                arrow_bytes: batch.get_array_memory_size(),
                            })
                            .unwrap_or_else(|e| panic!("encoding: {e}"));
                    }
                    let written = encoder.finish().unwrap_or_else(|e| panic!("encoding: {e}"));
                    assert_eq!(
                        written.iter().map(|o| o.records).sum::<u64>(),
                        RECORDS as u64
                    );
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_decode, bench_ingest, bench_encode);
criterion_main!(benches);
