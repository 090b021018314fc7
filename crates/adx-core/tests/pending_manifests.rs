//! Pending manifests, for the table committer: one per dataset per source unit (an S3 object,
//! a topic-partition of a Kafka batch), written when curated files were, naming exactly the
//! curated objects of the report (with their records, bytes, hour and column metrics, which
//! match the Parquet files), and written again byte for byte by a retried invocation.

use adx_core::{
    ColumnMetrics, DatasetReport, IngestConfig, InvocationReport, KafkaRange, ObjectSource,
    PENDING_PREFIX, PendingFile, PendingManifest, PendingSource, Pin, SchemaRegistry, StreamConfig,
    StreamRecord, WriterLimits, ingest_batch, ingest_object, pending_key,
};
use adx_local::MemoryStore;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{REGISTRY, ports};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::json;
use std::collections::BTreeMap;

mod common;

const CURATED: &str = "curated";
/// 2026-11-28T05:00:00Z, the hour of arrival.
const ARRIVAL_MS: i64 = 1_795_845_600_000;
const HOUR_MS: i64 = 3_600_000;

fn config(limits: WriterLimits) -> IngestConfig {
    IngestConfig {
        curated_bucket: CURATED.into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits,
        max_record_bytes: 1 << 20,
        max_inflated_bytes: 1 << 30,
        encode_thread: false,
    }
}

/// Limits that roll every hour into several parts.
fn small_parts() -> WriterLimits {
    WriterLimits {
        batch_rows: 4,
        part_bytes: 1,
        ..WriterLimits::default()
    }
}

/// A click of `n`, in one of the two hours before arrival; `n % 10 == 9` breaks a rule.
fn click(n: u32) -> String {
    let event_ms = ARRIVAL_MS - 1_000 - i64::from(n % 2) * HOUR_MS - i64::from(n) * 7_919;
    let mut v = json!({
        "event_id": format!("evt-{n:04}"), "event_type": "CLICK", "event_time": event_ms,
        "campaign_id": format!("c-{}", n % 3), "click_id": format!("k-{n}"),
    });
    if n.is_multiple_of(4) {
        v["user_id"] = json!(format!("u-{}", n % 5));
    }
    if n % 10 == 9 {
        v["campaign_id"] = json!("");
    }
    v.to_string()
}

fn impression(n: u32) -> String {
    json!({
        "impression_id": format!("imp-{n:04}"), "event_time": ARRIVAL_MS - 60_000 * i64::from(n),
        "campaign_id": "c-1", "creative_id": "cr-1", "site_domain": "news.example",
        "ad_format": "BANNER", "device_type": "MOBILE", "win_price_micros": 1_000 + i64::from(n),
        "currency": "USD", "country": "US", "request_id": format!("r-{n}"), "user_id": null,
    })
    .to_string()
}

/// The pending manifests in `store`, by key.
fn manifests(store: &MemoryStore) -> BTreeMap<String, Vec<u8>> {
    store
        .objects(CURATED)
        .into_iter()
        .filter(|(k, _)| k.starts_with(PENDING_PREFIX))
        .map(|(k, v)| (k, v.to_vec()))
        .collect()
}

fn parse(bytes: &[u8]) -> PendingManifest {
    serde_json::from_slice(bytes).expect("a pending manifest")
}

/// The start of the `dt=/hr=` hour of a curated key, epoch millis.
fn hour_of_key(key: &str) -> i64 {
    let dt = key.split('/').find_map(|s| s.strip_prefix("dt=")).unwrap();
    let hr: u32 = key
        .split('/')
        .find_map(|s| s.strip_prefix("hr="))
        .unwrap()
        .parse()
        .unwrap();
    chrono::NaiveDate::parse_from_str(dt, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(hr, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

/// The curated objects of a report: (key, records, bytes), in order.
fn curated_of(report: &DatasetReport) -> Vec<(String, u64, u64)> {
    report
        .objects
        .iter()
        .filter(|o| o.kind == "curated")
        .map(|o| (o.key.clone(), o.records, o.bytes))
        .collect()
}

fn files_of(manifest: &PendingManifest) -> Vec<(String, u64, u64)> {
    manifest
        .files
        .iter()
        .map(|f| (f.key.clone(), f.records, f.bytes))
        .collect()
}

/// Checks a manifest's file against the Parquet object: its bucket, size and hour, and per
/// column id the footer's sizes and counts; the event time's bounds are the data's, in
/// microseconds.
fn check_file(store: &MemoryStore, file: &PendingFile) {
    assert_eq!(file.bucket, CURATED);
    let bytes = store.object(CURATED, &file.key).expect("the file is there");
    assert_eq!(file.bytes, bytes.len() as u64, "{}", file.key);
    assert_eq!(file.hour_ms, hour_of_key(&file.key), "{}", file.key);
    let data = bytes::Bytes::from(bytes.to_vec());
    let reader = SerializedFileReader::new(data.clone()).unwrap();
    let footer = reader.metadata();
    assert_eq!(file.records, footer.file_metadata().num_rows() as u64);
    let by_id: BTreeMap<i32, &ColumnMetrics> = file.columns.iter().map(|m| (m.id, m)).collect();
    let mut event_time_id = None;
    let mut lineage_ids = Vec::new();
    for (leaf, descr) in footer
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
    {
        let info = descr.self_type().get_basic_info();
        assert!(
            info.has_id(),
            "every curated column has an id: {}",
            descr.path()
        );
        let m = by_id[&info.id()];
        let chunks = footer.row_groups().iter().map(|g| g.column(leaf));
        let bytes: i64 = chunks.clone().map(|c| c.compressed_size()).sum();
        let values: i64 = chunks.clone().map(|c| c.num_values()).sum();
        let nulls: u64 = chunks
            .map(|c| c.statistics().and_then(|s| s.null_count_opt()).unwrap())
            .sum();
        assert_eq!(
            (m.bytes, m.values, m.nulls),
            (bytes as u64, values as u64, Some(nulls)),
            "{} {}",
            file.key,
            descr.path()
        );
        if descr.name() == "event_time" {
            event_time_id = Some(info.id());
        }
        if adx_core::LINEAGE_COLUMNS.contains(&descr.name()) {
            lineage_ids.push(info.id());
        }
    }
    assert_eq!(by_id.len(), file.columns.len(), "one entry per column id");
    assert_eq!(lineage_ids.len(), 5, "every lineage column has its id");
    for id in lineage_ids {
        assert!(by_id.contains_key(&id), "lineage column {id}");
    }
    let times: Vec<i64> = ParquetRecordBatchReaderBuilder::try_new(data)
        .unwrap()
        .build()
        .unwrap()
        .flat_map(|b| {
            let b = b.unwrap();
            b.column_by_name("event_time")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>()
                .values()
                .iter()
                .map(|us| us / 1000)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        times
            .iter()
            .all(|t| (file.hour_ms..file.hour_ms + HOUR_MS).contains(t))
    );
    let m = by_id[&event_time_id.expect("an event time column")];
    let micros = |b: &Option<String>| {
        i64::from_le_bytes(
            STANDARD
                .decode(b.as_deref().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        )
    };
    assert_eq!(micros(&m.lower), times.iter().min().unwrap() * 1_000);
    assert_eq!(micros(&m.upper), times.iter().max().unwrap() * 1_000);
}

fn ingest_clicks(store: &MemoryStore, key: &str, limits: WriterLimits) -> DatasetReport {
    let source = ObjectSource {
        bucket: "landing".into(),
        key: key.into(),
        version: Some("v-1".into()),
        pin: Pin::Latest,
        arrival_ms: ARRIVAL_MS,
        size: None,
    };
    let (dataset, report) =
        ingest_object(ports(store), &config(limits), &source).expect("the object is ingested");
    assert_eq!(dataset, "click_conversions");
    report
}

fn version_id(dataset: &str) -> String {
    REGISTRY
        .latest(dataset)
        .unwrap()
        .expect("registered")
        .version_id
}

#[test]
fn an_object_gives_one_manifest_of_its_curated_objects_and_a_retry_the_same_bytes() {
    let key = "click_conversions/2026/11/28/clicks.jsonl";
    let lines: Vec<String> = (0..40).map(click).collect();
    for limits in [WriterLimits::default(), small_parts()] {
        let store = MemoryStore::new();
        store.insert("landing", key, lines.join("\n").into_bytes());
        let report = ingest_clicks(&store, key, limits);
        assert_eq!((report.curated, report.quarantined), (36, 4));
        let written = manifests(&store);
        let [(manifest_key, bytes)] = written.iter().collect::<Vec<_>>()[..] else {
            panic!(
                "one manifest: {:?} {:?}",
                written.keys(),
                store.objects(CURATED).keys()
            );
        };
        let manifest = parse(bytes);
        // Named like the parts: `<base>-<part>.parquet` under `<base>.json`.
        let unit = manifest_key
            .strip_prefix(&format!("{PENDING_PREFIX}click_conversions/"))
            .and_then(|u| u.strip_suffix(".json"))
            .unwrap();
        assert_eq!(*manifest_key, pending_key("click_conversions", unit));
        assert!(unit.starts_with("clicks.jsonl-"), "{unit}");
        assert_eq!(manifest.dataset, "click_conversions");
        assert_eq!(manifest.schema_version_id, version_id("click_conversions"));
        assert_eq!(
            manifest.source,
            PendingSource::Object {
                bucket: "landing".into(),
                key: key.into(),
                version: Some("v-1".into()),
            }
        );
        assert_eq!(files_of(&manifest), curated_of(&report));
        let hours: std::collections::BTreeSet<i64> =
            manifest.files.iter().map(|f| f.hour_ms).collect();
        assert_eq!(hours.len(), 2, "two event-time hours");
        for file in &manifest.files {
            assert!(file.key.contains(&format!("/{unit}-")), "{}", file.key);
            check_file(&store, file);
        }

        // A retry (the same store, or another): the same manifest, byte for byte.
        let again = ingest_clicks(&store, key, limits);
        assert_eq!(again, report);
        assert_eq!(manifests(&store), written);
        let other = MemoryStore::new();
        other.insert("landing", key, lines.join("\n").into_bytes());
        ingest_clicks(&other, key, limits);
        assert_eq!(manifests(&other), written);
    }
}

#[test]
fn an_object_of_no_valid_record_gives_no_manifest() {
    let key = "click_conversions/2026/11/28/bad.jsonl";
    let store = MemoryStore::new();
    store.insert("landing", key, click(9).into_bytes());
    let report = ingest_clicks(&store, key, WriterLimits::default());
    assert_eq!((report.curated, report.quarantined), (0, 1));
    assert!(manifests(&store).is_empty());
}

/// A Kafka record of `topic` at `partition` and `offset`.
fn kafka(topic: &str, partition: i32, offset: i64, value: String) -> StreamRecord {
    StreamRecord {
        topic: topic.into(),
        partition,
        offset,
        timestamp_ms: ARRIVAL_MS,
        value: Some(value.into_bytes().into()),
        schema_metadata: None,
    }
}

#[test]
fn a_kafka_batch_gives_one_manifest_per_dataset_with_the_offsets_of_each_partition() {
    // Three partitions of clicks and two of impressions, offsets from 500 (partition p's from
    // 500 + 100 p); a bad click here and there.
    let mut batch = Vec::new();
    let mut n = 0;
    for p in 0..3 {
        for i in 0..12 {
            n += 1;
            batch.push(kafka(
                "click_conversions",
                p,
                500 + 100 * i64::from(p) + i,
                click(n),
            ));
        }
    }
    for p in 0..2 {
        for i in 0..5 {
            batch.push(kafka(
                "ad_impressions",
                p,
                7 + i,
                impression(p as u32 * 10 + i as u32),
            ));
        }
    }
    for (limits, one_per_hour) in [(WriterLimits::default(), true), (small_parts(), false)] {
        let stream = StreamConfig {
            ingest: config(limits),
            topic_datasets: BTreeMap::new(),
            max_datum_bytes: 1 << 20,
        };
        let store = MemoryStore::new();
        let report: InvocationReport =
            ingest_batch(ports(&store), &stream, &batch).expect("the batch is ingested");
        let written = manifests(&store);
        assert_eq!(written.len(), 2, "{:?} {report:?}", written.keys());
        let mut named = Vec::new();
        for (topic, partitions) in [("click_conversions", 3), ("ad_impressions", 2)] {
            let [(key, bytes)] = written
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{PENDING_PREFIX}{topic}/kafka-")))
                .collect::<Vec<_>>()[..]
            else {
                panic!("one manifest of {topic}: {:?}", written.keys());
            };
            let manifest = parse(bytes);
            assert_eq!(manifest.dataset, topic, "{key}");
            assert_eq!(manifest.schema_version_id, version_id(topic));
            // The offsets of the dataset's records of every partition.
            let ranges: Vec<KafkaRange> = (0..partitions)
                .map(|p| {
                    let offsets: Vec<i64> = batch
                        .iter()
                        .filter(|r| &*r.topic == topic && r.partition == p)
                        .map(|r| r.offset)
                        .collect();
                    KafkaRange {
                        topic: topic.into(),
                        partition: p,
                        first_offset: offsets[0],
                        last_offset: *offsets.last().unwrap(),
                    }
                })
                .collect();
            assert_eq!(manifest.source, PendingSource::Kafka { ranges });
            // The dataset's parts, all of the batch, in the order written.
            let parts = curated_of(&report.datasets[topic]);
            assert_eq!(files_of(&manifest), parts);
            for file in &manifest.files {
                check_file(&store, file);
            }
            if one_per_hour {
                // One data file per event-time hour, however many partitions.
                let mut hours: Vec<&str> = parts
                    .iter()
                    .map(|(k, _, _)| &k[..k.rfind('/').unwrap()])
                    .collect();
                let files = hours.len();
                hours.dedup();
                assert_eq!(files, hours.len(), "{parts:?}");
            }
            named.extend(parts);
        }
        // Every curated object of the report is in a manifest.
        let mut all: Vec<_> = report.datasets.values().flat_map(curated_of).collect();
        all.sort();
        named.sort();
        assert_eq!(named, all);

        // Retried as it was: the same files and manifests, byte for byte.
        let again = ingest_batch(ports(&store), &stream, &batch).unwrap();
        assert_eq!(again, report);
        assert_eq!(manifests(&store), written);
        // Composed otherwise (without its last record): other names, no file written over.
        let before = store.objects("curated");
        let shorter = ingest_batch(ports(&store), &stream, &batch[..batch.len() - 1]).unwrap();
        for object in report.datasets.values().flat_map(curated_of) {
            assert_eq!(
                store.objects("curated").get(&object.0),
                before.get(&object.0)
            );
            assert!(!curated_of(&shorter.datasets["click_conversions"]).contains(&object));
        }
    }
}

#[test]
fn a_replay_that_curates_records_gives_a_manifest_of_the_quarantine_object() {
    let key = "click_conversions/2026/11/28/fixed.jsonl";
    let store = MemoryStore::new();
    // Clicks 0..10: click 9 breaks a rule.
    let lines: Vec<String> = (0..10).map(click).collect();
    store.insert("landing", key, lines.join("\n").into_bytes());
    ingest_clicks(&store, key, WriterLimits::default());
    let before = manifests(&store);
    assert_eq!(before.len(), 1);
    // The quarantined click, mended in place (as if the rule had been fixed).
    let quarantine = store.objects("quarantine");
    let [(qkey, entry)] = quarantine.iter().collect::<Vec<_>>()[..] else {
        panic!("one quarantine object: {:?}", quarantine.keys());
    };
    let mended = String::from_utf8(entry.to_vec())
        .unwrap()
        .replace(r#"\"campaign_id\":\"\""#, r#"\"campaign_id\":\"c-9\""#);
    assert_ne!(mended.as_bytes(), entry.as_slice());
    store.insert("quarantine", qkey, mended.into_bytes());
    let stream = StreamConfig {
        ingest: config(WriterLimits::default()),
        topic_datasets: BTreeMap::new(),
        max_datum_bytes: 1 << 20,
    };
    let report = adx_core::replay_object(ports(&store), &stream, "quarantine", qkey).unwrap();
    assert!(report.removed);
    let after = manifests(&store);
    assert_eq!(after.len(), 2);
    let (replay_key, bytes) = after
        .iter()
        .find(|(k, _)| !before.contains_key(*k))
        .unwrap();
    assert!(
        replay_key.starts_with(&format!("{PENDING_PREFIX}click_conversions/replay-")),
        "{replay_key}"
    );
    let manifest = parse(bytes);
    match &manifest.source {
        PendingSource::Object {
            bucket,
            key,
            version,
        } => {
            assert_eq!(
                (bucket.as_str(), key.as_str()),
                ("quarantine", qkey.as_str())
            );
            assert!(version.is_some(), "the content's hash");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        files_of(&manifest),
        curated_of(&report.datasets["click_conversions"])
    );
    assert_eq!(manifest.files.len(), 1);
    assert_eq!(manifest.files[0].records, 1);
    check_file(&store, &manifest.files[0]);
}
