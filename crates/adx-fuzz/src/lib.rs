//! Fuzz targets of the ingestion pipeline: one function per target, each taking the fuzzer's
//! bytes and running the real code path (the core's decoders, validation and writers, the
//! handlers' event parsing) against an object store in memory and the repo's schemas.
//!
//! A target panics only when an invariant breaks, and that panic is what the fuzzer finds:
//! the pipeline fails although the store never does, the counts do not reconcile
//! (`received = curated + quarantined + duplicates`), an object the answer names is missing,
//! unreadable or holds another number of records, or the store holds an object the answer
//! does not name. `fuzz/` (cargo-fuzz) calls these functions; the test suite replays the
//! committed corpus through them (`tests/corpus_replay.rs`).

#![warn(missing_docs)]

pub mod harness;

use adx_core::Pin;
use adx_core::{InvocationReport, ObjectSource, ingest_object};
use adx_core::{SchemaMetadata, StreamConfig, StreamRecord, ingest_batch};
use adx_handlers::{HandlerConfig, HandlerError, handle_s3_event, kafka_event, s3_event};
use harness::{ARRIVAL_MS, DATASETS, Harness, LANDING};
use std::io::Write;

/// A fuzz target: takes the fuzzer's bytes, panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `fuzz/fuzz_targets/` and of the corpus folders).
pub const TARGETS: &[(&str, Target)] = &[
    ("csv_file", csv_file),
    ("json_lines_file", json_lines_file),
    ("avro_file", avro_file),
    ("glue_record", glue_record),
    ("s3_event", s3_event),
    ("msk_event", msk_event),
];

/// A CSV landing object. Byte 0 picks the dataset, the compression and the bounds (see
/// [`file_object`]); the rest is the object.
pub fn csv_file(data: &[u8]) {
    file_object(data, &[".csv"]);
}

/// A JSON Lines (or JSON array) landing object, named `.jsonl`, `.json` or `.ndjson`. Byte 0
/// picks the dataset, the suffix, the compression and the bounds; the rest is the object.
pub fn json_lines_file(data: &[u8]) {
    file_object(data, &[".jsonl", ".json", ".ndjson"]);
}

/// An Avro object container file. Byte 0 picks the dataset, the compression and the bounds;
/// the rest is the object.
pub fn avro_file(data: &[u8]) {
    file_object(data, &[".avro"]);
}

/// How a file target stores its bytes: as they are, compressed by the harness (so that the
/// decoders see the fuzzed content through the decompressor), or as they are under a
/// compressed suffix (so that the decompressors see the fuzzed bytes).
#[derive(Debug, Clone, Copy)]
enum Packing {
    Plain,
    Gzip,
    Zstd,
    RawGz,
    RawZst,
}

/// Ingests `data[1..]` as `s3://landing/<dataset>/fuzz<suffix>[.gz|.zst]` with
/// [`ingest_object`]. Byte 0 = `s`: dataset `DATASETS[s % 3]`; then with `r = s / 3`: packing
/// `r % 5` (plain, gzip, zstd, raw bytes named `.gz`, raw bytes named `.zst`), tiny bounds
/// when `r / 5` is odd, suffix `suffixes[r / 10 % len]`.
pub fn file_object(data: &[u8], suffixes: &[&str]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let dataset = DATASETS[usize::from(selector) % 3];
    let r = usize::from(selector) / 3;
    let packing = [
        Packing::Plain,
        Packing::Gzip,
        Packing::Zstd,
        Packing::RawGz,
        Packing::RawZst,
    ][r % 5];
    let small = (r / 5) % 2 == 1;
    let suffix = suffixes[(r / 10) % suffixes.len()];
    let (bytes, ext) = match packing {
        Packing::Plain => (body.to_vec(), ""),
        Packing::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(body).expect("gzip into memory");
            (enc.finish().expect("gzip into memory"), ".gz")
        }
        Packing::Zstd => (zstd::encode_all(body, 1).expect("zstd into memory"), ".zst"),
        Packing::RawGz => (body.to_vec(), ".gz"),
        Packing::RawZst => (body.to_vec(), ".zst"),
    };
    harness::with(|h| {
        let key = format!("{dataset}/fuzz{suffix}{ext}");
        h.put(LANDING, &key, &bytes);
        let source = ObjectSource {
            bucket: LANDING.into(),
            key,
            version: Some("fuzz-etag".into()),
            pin: Pin::ETag("fuzz-etag".into()),
            arrival_ms: ARRIVAL_MS,
            size: Some(bytes.len() as u64),
        };
        let config = h.config(small);
        match ingest_object(h.adapters.ports(), &config.ingest, &source) {
            Ok((name, report)) => {
                assert_eq!(name, dataset, "routed to another dataset");
                assert!(report.received >= 1, "an object gives at least one entry");
                let mut answer = InvocationReport::default();
                answer.add(&name, report);
                h.check_invocation(&answer, false);
            }
            Err(e) => panic!("ingest_object failed on an in-memory store: {e}"),
        }
    });
}

/// Separates the values of [`glue_record`]'s input.
pub const RECORD_SEPARATOR: &[u8] = b"<|>";

/// Glue-framed (or plain) Kafka values through [`ingest_batch`].
///
/// Byte 0 = `m`: framing `m & 7`: 0 the value as it is (the header fuzzed too), 1 a valid
/// Glue header (no compression) before it, 2 a valid header with the zlib flag before the value
/// zlib-compressed by the harness, 3 a valid header with the zlib flag before the raw value,
/// 4 `valueSchemaMetadata` AVRO (the bare datum), 5 `valueSchemaMetadata` JSON, 6 as 1 but every
/// second record a tombstone, 7 Confluent framing before it. Topic `(m >> 3) & 7`: the three
/// datasets, `imps` (mapped to ad_impressions by `TOPIC_DATASETS`), `orphan` (a schema of no
/// dataset), `ghost` (mapped to a schema that is not registered), the header schema's own
/// dataset, or the three datasets in turn. Bit 6: tiny bounds; bit 7: records spread over two
/// partitions with offsets out of order. Byte 1 picks the header's schema version
/// ([`harness::Versions`]). The rest is split on [`RECORD_SEPARATOR`] into at most 8 values.
/// Each value is also read as a bare datum of every dataset's latest schema by the fast Avro
/// path and by the general decoder, which must agree wherever the fast path reads it.
pub fn glue_record(data: &[u8]) {
    let [mode, version, rest @ ..] = data else {
        return;
    };
    let framing = mode & 7;
    let topic_choice = (mode >> 3) & 7;
    let small = mode & 0x40 != 0;
    let spread = mode & 0x80 != 0;
    let values = split(rest, RECORD_SEPARATOR, 8);
    harness::with(|h| {
        for check in &h.direct {
            for chunk in &values {
                check.agrees(chunk);
            }
        }
        let ids = &h.versions;
        let at = usize::from(*version) % ids.ids.len();
        let id = &ids.ids[at];
        let id_bytes = uuid_bytes(id);
        let mut records = Vec::new();
        for (i, chunk) in values.iter().enumerate() {
            let topic = match topic_choice {
                0..=2 => DATASETS[usize::from(topic_choice)],
                3 => "imps",
                4 => "orphan",
                5 => "ghost",
                6 => ids.datasets[at].unwrap_or("orphan"),
                _ => DATASETS[i % 3],
            };
            let header = |compression: u8| {
                let mut v = vec![3, compression];
                v.extend_from_slice(&id_bytes);
                v
            };
            let mut schema_metadata = None;
            let value = match framing {
                0 => Some(chunk.to_vec()),
                1 => Some([header(0), chunk.to_vec()].concat()),
                2 => Some([header(5), zlib(chunk)].concat()),
                3 => Some([header(5), chunk.to_vec()].concat()),
                4 | 5 => {
                    schema_metadata = Some(SchemaMetadata {
                        data_format: if framing == 4 { "AVRO" } else { "JSON" }.into(),
                        schema_id: id.clone(),
                    });
                    Some(chunk.to_vec())
                }
                6 if i % 2 == 1 => None,
                6 => Some([header(0), chunk.to_vec()].concat()),
                _ => Some([&[0, 0, 0, 0, 7][..], chunk].concat()),
            };
            let (partition, offset) = if spread {
                ((i % 2) as i32, 100 - i as i64)
            } else {
                (0, i as i64)
            };
            records.push(StreamRecord {
                topic: topic.into(),
                partition,
                offset,
                timestamp_ms: ARRIVAL_MS + i as i64,
                value: value.map(bytes::Bytes::from),
                schema_metadata,
            });
        }
        run_batch(h, h.config(small), &records);
    });
}

/// An S3 event notification, then (after a NUL byte, which JSON cannot hold) the content of
/// every object it announces; without the NUL no object exists, and the handler must skip
/// them. The event goes through `s3_event::parse_event`, `object_source` for every record and
/// [`handle_s3_event`] with the memory adapters.
pub fn s3_event(data: &[u8]) {
    let (json, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let Ok(event) = s3_event::parse_event(json) else {
        return;
    };
    harness::with(|h| {
        let mut announced = 0;
        let mut valid = true;
        for record in &event.records {
            match s3_event::object_source(record) {
                Ok(Some(source)) => {
                    if let Some(body) = body {
                        h.put(&source.bucket, &source.key, body);
                        announced += 1;
                    }
                }
                Ok(None) => {}
                Err(_) => valid = false,
            }
        }
        match handle_s3_event(&h.adapters, &h.config, &event) {
            Ok(report) => {
                assert!(
                    valid,
                    "the handler took an event that object_source refused"
                );
                h.check_invocation(&report, true);
                let received: u64 = report.datasets.values().map(|r| r.received).sum();
                assert!(
                    received >= announced,
                    "{announced} objects announced and present, {received} entries received"
                );
            }
            Err(HandlerError::Event(_)) => assert!(!valid, "an event error for a valid event"),
            Err(e) => panic!("handle_s3_event failed on an in-memory store: {e}"),
        }
    });
}

/// An MSK event: `kafka_event::parse_event`, then [`ingest_batch`]. The batch
/// must succeed unless the event itself is refused (not an event, a partition out of range).
pub fn msk_event(data: &[u8]) {
    let Ok(event) = kafka_event::parse_event(data) else {
        return;
    };
    harness::with(|h| run_batch(h, &h.config, &event.records));
}

/// Runs a batch and checks its answer: every value received once, every tombstone counted.
fn run_batch(h: &Harness, config: &HandlerConfig, records: &[StreamRecord]) {
    let stream = StreamConfig {
        ingest: config.ingest.clone(),
        topic_datasets: config.topic_datasets.clone(),
        max_datum_bytes: config.max_datum_bytes,
    };
    let report = match ingest_batch(h.adapters.ports(), &stream, records) {
        Ok(report) => report,
        Err(e) => panic!("ingest_batch failed on an in-memory store: {e}"),
    };
    h.check_invocation(&report, false);
    let values = records.iter().filter(|r| r.value.is_some()).count() as u64;
    let tombstones = records.len() as u64 - values;
    let received: u64 = report.datasets.values().map(|r| r.received).sum();
    let counted: u64 = report.datasets.values().map(|r| r.tombstones).sum();
    assert_eq!(received, values, "values received");
    assert_eq!(counted, tombstones, "tombstones counted");
}

/// Splits `data` on `separator`, keeping at most `max` pieces (the last holds the rest).
fn split<'a>(data: &'a [u8], separator: &[u8], max: usize) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while pieces.len() + 1 < max {
        match rest.windows(separator.len()).position(|w| w == separator) {
            Some(at) => {
                pieces.push(&rest[..at]);
                rest = &rest[at + separator.len()..];
            }
            None => break,
        }
    }
    pieces.push(rest);
    pieces
}

/// The 16 bytes of a hyphenated UUID (a version id).
fn uuid_bytes(id: &str) -> Vec<u8> {
    let hex: Vec<u8> = id.bytes().filter(|b| *b != b'-').collect();
    hex.chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("hex digits");
            u8::from_str_radix(text, 16).expect("hex digits")
        })
        .collect()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("zlib into memory");
    enc.finish().expect("zlib into memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_the_separator_up_to_a_bound() {
        assert_eq!(
            split(b"a<|>b<|>c", RECORD_SEPARATOR, 8),
            vec![&b"a"[..], b"b", b"c"]
        );
        assert_eq!(
            split(b"a<|>b<|>c", RECORD_SEPARATOR, 2),
            vec![&b"a"[..], b"b<|>c"]
        );
        assert_eq!(split(b"", RECORD_SEPARATOR, 8), vec![&b""[..]]);
    }

    #[test]
    fn version_ids_turn_into_header_bytes() {
        let id = "12345678-9abc-def0-1122-334455667788";
        let bytes = uuid_bytes(id);
        assert_eq!(adx_core::uuid_text(&bytes), id);
    }

    #[test]
    fn trivial_inputs_pass() {
        for (_, target) in TARGETS {
            target(b"");
            target(b"\x00");
            target(b"\x00\x00{}");
        }
    }
}
