//! Compressed landing objects, read through the read-ahead thread with `encode_thread`, and
//! on the caller's thread without: an object of many chunks gives the same outputs both ways;
//! a store read that breaks part-way fails the invocation as a store fault (Lambda retries it)
//! rather than quarantining the object; a truncated stream quarantines the rest of the object,
//! the same way on both paths. Avro files of every compressing codec (their blocks inflated on
//! the decoding thread), whole or with a damaged block, also give the same outputs both ways.

use adx_core::DatasetReport;
use adx_core::IngestError;
use adx_core::WriterLimits;
use adx_core::internals::CHUNK_BYTES;
use adx_core::{IngestConfig, ObjectSource, ingest_object};
use adx_core::{ObjectStore, ObjectWriter, Pin, StoreError};
use adx_gen::{AvroCodec, Compression, Dataset as GenDataset, Format, GenConfig};
use adx_local::MemoryStore;
use common::{ports, schema_text};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

mod common;

/// Bucket of landing objects.
const LANDING: &str = "landing";
/// Records of the generated object: about 5 MB of CSV, many chunks of the read-ahead.
const RECORDS: usize = 30_000;
/// Records of the generated Avro files: tens of blocks each.
const AVRO_RECORDS: usize = 4_000;

/// A store whose landing reads break after `break_after` bytes, as a reset connection would.
struct BreakingStore {
    inner: MemoryStore,
    break_after: usize,
}

/// A body that fails once `left` bytes have been read.
struct BreakingBody {
    inner: Box<dyn Read + Send>,
    left: usize,
}

impl Read for BreakingBody {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("connection reset by peer"));
        }
        let n = out.len().min(self.left);
        let n = self.inner.read(&mut out[..n])?;
        self.left -= n;
        Ok(n)
    }
}

impl ObjectStore for BreakingStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let inner = self.inner.get(bucket, key)?;
        Ok(Box::new(BreakingBody {
            inner,
            left: self.break_after,
        }))
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        self.inner.create(bucket, key)
    }
}

fn config(threads: bool) -> IngestConfig {
    IngestConfig {
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits: WriterLimits {
            encode_workers: if threads { 2 } else { 1 },
            ..WriterLimits::default()
        },
        max_record_bytes: 1 << 20,
        max_inflated_bytes: 1 << 30,
        encode_thread: threads,
    }
}

/// A click_conversions CSV object of [`RECORDS`] records, compressed.
fn object(compression: Compression) -> (String, Vec<u8>) {
    generated(
        GenDataset::ClickConversions,
        Format::Csv,
        compression,
        RECORDS,
    )
}

/// A generated object of `records` records: its landing key and bytes.
fn generated(
    dataset: GenDataset,
    format: Format,
    compression: Compression,
    records: usize,
) -> (String, Vec<u8>) {
    let name = dataset.name();
    let schema = schema_text(name);
    let config = GenConfig {
        records,
        ..GenConfig::default()
    };
    let mut bytes = Vec::new();
    adx_gen::encode(dataset, format, compression, &config, &schema, &mut bytes)
        .expect("generating the object");
    let key = format!(
        "{name}/2026/11/28/drop.{}{}",
        format.extension(),
        compression.suffix()
    );
    (key, bytes)
}

/// bid_requests Avro files of every compressing codec.
fn avro_files() -> Vec<(String, Vec<u8>)> {
    [AvroCodec::Deflate, AvroCodec::Snappy, AvroCodec::Zstd]
        .into_iter()
        .map(|codec| {
            generated(
                GenDataset::BidRequests,
                Format::Avro(codec),
                Compression::None,
                AVRO_RECORDS,
            )
        })
        .collect()
}

fn source(key: &str) -> ObjectSource {
    ObjectSource {
        bucket: LANDING.into(),
        key: key.into(),
        version: None,
        pin: Pin::Latest,
        arrival_ms: 1_795_845_600_000,
        size: None,
    }
}

/// Every output object (curated and quarantine), by key.
type Outputs = BTreeMap<String, Arc<Vec<u8>>>;

/// Ingests `bytes` as `key` into a fresh store; the result and every output object.
fn ingest(
    key: &str,
    bytes: &[u8],
    threads: bool,
    break_after: Option<usize>,
) -> (Result<DatasetReport, IngestError>, Outputs) {
    let memory = MemoryStore::new();
    memory.insert(LANDING, key, bytes.to_vec());
    let store = BreakingStore {
        inner: memory.clone(),
        break_after: break_after.unwrap_or(usize::MAX),
    };
    let result = ingest_object(ports(&store), &config(threads), &source(key)).map(|(_, r)| r);
    let mut outputs = memory.objects("curated");
    outputs.extend(memory.objects("quarantine"));
    (result, outputs)
}

/// Ingests `bytes` as `key` with the threads and without: both give the same report and the
/// same objects; the report and objects.
fn ingest_both_ways(key: &str, bytes: &[u8]) -> (DatasetReport, Outputs) {
    let (threaded, threaded_outputs) = ingest(key, bytes, true, None);
    let (single, single_outputs) = ingest(key, bytes, false, None);
    let report =
        threaded.unwrap_or_else(|e| panic!("{key}: bad data never fails the invocation: {e}"));
    assert_eq!(Some(&report), single.as_ref().ok(), "{key}");
    assert!(!threaded_outputs.is_empty(), "{key}");
    assert_eq!(threaded_outputs, single_outputs, "{key}");
    (report, threaded_outputs)
}

/// A damaged object of `records`: the records before the damage curated, the rest one
/// quarantine entry, which says `why`.
fn assert_rest_quarantined(report: &DatasetReport, outputs: &Outputs, records: usize, why: &str) {
    assert!(
        report.curated > 0 && report.curated < records as u64,
        "{report:?}"
    );
    assert_eq!(report.quarantined, 1, "one entry for the unreadable rest");
    let said = outputs
        .values()
        .any(|v| String::from_utf8_lossy(v).contains(why));
    assert!(said, "no output says {why:?}");
}

#[test]
fn an_object_of_many_chunks_gives_the_same_outputs_on_both_paths() {
    for compression in [Compression::Gzip, Compression::Zstd] {
        let (key, bytes) = object(compression);
        let (report, _) = ingest_both_ways(&key, &bytes);
        assert_eq!(report.received, RECORDS as u64, "{key}");
        assert_eq!(report.curated, RECORDS as u64, "{key}");
    }
}

#[test]
fn a_read_that_breaks_part_way_fails_the_invocation_as_a_store_fault() {
    let (key, bytes) = object(Compression::Gzip);
    // Past the first chunks of the compressed object, well before its end.
    let break_after = 2 * CHUNK_BYTES;
    assert!(bytes.len() > 2 * break_after, "{} bytes", bytes.len());
    for threads in [true, false] {
        let (result, _) = ingest(&key, &bytes, threads, Some(break_after));
        match result {
            Err(IngestError::Store(StoreError::Failed {
                operation, message, ..
            })) => {
                assert_eq!(operation, "get");
                assert!(message.contains("connection reset"), "{message}");
            }
            other => panic!("threads {threads}: expected a store fault, got {other:?}"),
        }
    }
}

#[test]
fn a_truncated_object_quarantines_its_rest_the_same_way_on_both_paths() {
    for compression in [Compression::Gzip, Compression::Zstd] {
        let (key, mut bytes) = object(compression);
        bytes.truncate(bytes.len() / 2);
        let (report, outputs) = ingest_both_ways(&key, &bytes);
        assert_rest_quarantined(&report, &outputs, RECORDS, "CSV cannot be read further");
    }
}

#[test]
fn avro_files_of_every_codec_give_the_same_outputs_on_both_paths() {
    for (key, bytes) in avro_files() {
        let (report, _) = ingest_both_ways(&key, &bytes);
        assert_eq!(report.curated, AVRO_RECORDS as u64, "{key}");
    }
}

#[test]
fn a_damaged_avro_block_quarantines_the_rest_the_same_way_on_both_paths() {
    for (key, mut bytes) in avro_files() {
        // The sync marker after a block halfway into the file, changed.
        let sync = bytes[bytes.len() - 16..].to_vec();
        let at = (bytes.len() / 2..bytes.len())
            .find(|&i| bytes[i..].starts_with(&sync))
            .expect("a sync marker past the middle");
        bytes[at] ^= 1;
        let (report, outputs) = ingest_both_ways(&key, &bytes);
        assert_rest_quarantined(&report, &outputs, AVRO_RECORDS, "sync marker");
    }
}
