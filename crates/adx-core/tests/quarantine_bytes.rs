//! The bytes of quarantine objects, per source kind, against checked-in files
//! (`tests/fixtures/quarantine/*.txt`): S3 objects (every format, so every position label:
//! line, item, record; and whole-object entries without one), Kafka batches (plain JSON,
//! Glue-framed Avro broken in every way, values the event source mapping's registry
//! integration decoded, an unknown topic, tombstones), and the objects that a replay writes
//! back. The files were written by the code before the quarantine source was typed; any change
//! to a name, a member or its order shows here.
//!
//! `ADX_BLESS=1 cargo test -p adx-core --test quarantine_bytes` writes the files anew.

use adx_core::WriterLimits;
use adx_core::replay_object;
use adx_core::{IngestConfig, ObjectSource, ingest_object};
use adx_core::{Pin, SchemaRegistry};
use adx_core::{SchemaMetadata, StreamConfig, StreamRecord, ingest_batch};
use adx_gen::{
    AvroCodec, Compression, Dataset as GenDataset, Format, GenConfig, MskConfig, StreamEncoding,
    stream_values,
};
use adx_local::MemoryStore;
use common::{REGISTRY, ports, schema_text};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

mod common;

/// Where the expected quarantine objects are kept.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quarantine");
/// The buckets.
const LANDING: &str = "landing";
const QUARANTINE: &str = "quarantine";

fn stream_config() -> StreamConfig {
    StreamConfig {
        ingest: IngestConfig {
            curated_bucket: "curated".into(),
            quarantine_bucket: QUARANTINE.into(),
            max_future_skew_ms: 300_000,
            limits: WriterLimits::default(),
            max_record_bytes: 1 << 20,
            max_inflated_bytes: 1 << 30,
            encode_thread: false,
        },
        topic_datasets: BTreeMap::from([("impressions-alias".into(), "ad_impressions".into())]),
        max_datum_bytes: 1 << 20,
    }
}

fn gen_config(records: usize) -> GenConfig {
    GenConfig {
        records,
        bad_share: 0.3,
        duplicate_share: 0.05,
        ..GenConfig::default()
    }
}

/// Every quarantine object of the store, each after a `## <key>` line.
fn dump(store: &MemoryStore) -> String {
    let mut out = String::new();
    for (key, bytes) in store.objects(QUARANTINE) {
        out.push_str(&format!("## {key}\n"));
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}

/// Compares `actual` with the checked-in file `name` (or writes it, under `ADX_BLESS=1`).
fn check(name: &str, actual: &str) {
    let path = PathBuf::from(FIXTURES).join(name);
    if std::env::var_os("ADX_BLESS").is_some() {
        std::fs::create_dir_all(FIXTURES).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (write it with ADX_BLESS=1)", path.display()));
    assert!(!expected.is_empty(), "{name} holds no quarantine object");
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from line {}:\nexpected: {:?}\nactual:   {:?}",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// A landing object of `bytes`, as its event names it.
fn put_landing(store: &MemoryStore, key: &str, bytes: Vec<u8>) -> ObjectSource {
    let source = ObjectSource {
        bucket: LANDING.into(),
        key: key.to_string(),
        version: Some(format!("v-{}", bytes.len())),
        pin: Pin::Latest,
        arrival_ms: GenConfig::default().arrival_ms,
        size: Some(bytes.len() as u64),
    };
    store.insert(LANDING, key, bytes);
    source
}

/// Every S3 source kind: each format (line, item, record positions), a whole object that routes
/// nowhere, one of an unsupported suffix and one that holds no records.
fn ingest_objects(store: &MemoryStore) {
    let config = stream_config().ingest;
    let mut sources = Vec::new();
    for dataset in GenDataset::all() {
        let schema = schema_text(dataset.name());
        for format in [
            Format::Csv,
            Format::JsonLines,
            Format::JsonArray,
            Format::Avro(AvroCodec::Null),
        ] {
            let mut bytes = Vec::new();
            adx_gen::encode(
                dataset,
                format,
                Compression::None,
                &gen_config(40),
                &schema,
                &mut bytes,
            )
            .unwrap();
            let key = format!("{}/drop 1+x.{}", dataset.name(), format.extension());
            sources.push(put_landing(store, &key, bytes));
        }
    }
    sources.push(put_landing(
        store,
        "nowhere/file.csv",
        b"a,b\n1,2\n".to_vec(),
    ));
    sources.push(put_landing(store, "no-prefix.csv", b"a,b\n1,2\n".to_vec()));
    sources.push(put_landing(
        store,
        "ad_impressions/file.txt",
        b"text".to_vec(),
    ));
    sources.push(put_landing(
        store,
        "click_conversions/empty.csv",
        Vec::new(),
    ));
    for source in &sources {
        ingest_object(ports(store), &config, source).unwrap();
    }
}

/// Every Kafka source kind.
fn ingest_stream(store: &MemoryStore) {
    let arrival = GenConfig::default().arrival_ms;
    let mut records = Vec::new();
    let mut push = |topic: &Arc<str>, partition: i32, value: Option<Vec<u8>>, meta| {
        let offset = 100 + records.len() as i64;
        records.push(StreamRecord {
            topic: topic.clone(),
            partition,
            offset,
            timestamp_ms: arrival + offset,
            value: value.map(Into::into),
            schema_metadata: meta,
        });
    };
    for dataset in GenDataset::all() {
        let latest = REGISTRY.latest(dataset.name()).unwrap().unwrap();
        let schema = apache_avro::Schema::parse_str(&latest.definition).unwrap();
        let topic: Arc<str> = dataset.name().into();
        let encodings = [
            StreamEncoding::GlueAvro {
                version_id: latest.version_id.clone(),
                zlib: false,
            },
            StreamEncoding::GlueAvro {
                version_id: latest.version_id.clone(),
                zlib: true,
            },
            StreamEncoding::Json,
        ];
        for (partition, encoding) in encodings.into_iter().enumerate() {
            let msk = MskConfig {
                topic: dataset.name().into(),
                partitions: 1,
                encoding,
                framing_bad_share: 0.2,
                tombstone_share: 0.05,
                event_window_ms: None,
            };
            let values = stream_values(dataset, &gen_config(30), &msk, &schema).unwrap();
            for value in values {
                push(&topic, partition as i32, value.unwrap().value, None);
            }
        }
        // Values the event source mapping's registry integration decoded.
        for (format, value) in [
            ("JSON", br#"{"not": "a record"}"#.to_vec()),
            ("AVRO", vec![0, 1, 2]),
            ("PROTOBUF", vec![1, 2, 3]),
        ] {
            let meta = SchemaMetadata {
                data_format: format.into(),
                schema_id: latest.version_id.clone(),
            };
            push(&topic, 7, Some(value), Some(meta));
        }
        let unknown = SchemaMetadata {
            data_format: "AVRO".into(),
            schema_id: "00000000-0000-0000-0000-000000000000".into(),
        };
        push(&topic, 7, Some(vec![1]), Some(unknown));
    }
    let nowhere: Arc<str> = "nowhere".into();
    push(&nowhere, 0, Some(br#"{"a":1}"#.to_vec()), None);
    push(&nowhere, 0, None, None);
    push(&nowhere, 0, Some(vec![0xff, 0xfe, 3]), None);
    let alias: Arc<str> = "impressions-alias".into();
    push(&alias, 2, Some(b"{\"not json".to_vec()), None);
    ingest_batch(ports(store), &stream_config(), &records).unwrap();
}

/// Replays every quarantine object in the store (nothing about the schemas changed, so every
/// entry is written back).
fn replay_all(store: &MemoryStore) {
    let config = stream_config();
    for key in store.objects(QUARANTINE).keys() {
        replay_object(ports(store), &config, QUARANTINE, key).unwrap();
    }
}

/// Ingests with `ingest`, checks the quarantine objects against `<name>.txt`, replays them
/// all and checks them against `<name>_replayed.txt`.
fn check_ingest_and_replay(name: &str, ingest: fn(&MemoryStore)) {
    let store = MemoryStore::new();
    ingest(&store);
    check(&format!("{name}.txt"), &dump(&store));
    replay_all(&store);
    check(&format!("{name}_replayed.txt"), &dump(&store));
}

#[test]
fn object_sources_write_the_checked_in_bytes() {
    check_ingest_and_replay("objects", ingest_objects);
}

#[test]
fn kafka_sources_write_the_checked_in_bytes() {
    check_ingest_and_replay("kafka", ingest_stream);
}
