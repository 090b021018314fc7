//! End to end through `adx invoke stream-ingest`: MSK events written by `adx gen` (Glue-framed
//! Avro, zlib-compressed or not, and plain JSON, with bad values of every kind and tombstones)
//! come out as Parquet equal to what was generated; schema evolution inside one batch; the
//! event source mapping's own registry integration; unroutable topics; registry faults.

mod common;

use adx_gen::{Dataset, GenConfig, RecordValue, canonical, records_for};
use apache_avro::types::{Record, Value as AvroValue};
use apache_avro::writer::datum::GenericDatumWriter;
use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

const ARRIVAL: &str = "2026-11-28T06:00:00Z";
const ARRIVAL_MS: i64 = 1_795_845_600_000;
const RECORDS: usize = 300;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn generate(root: &Path) -> Vec<Value> {
    let out = adx(
        root,
        &schema_dir(),
        &[
            "gen",
            "--out",
            root.join("landing").to_str().unwrap(),
            "--format",
            "csv",
            "--compression",
            "none",
            "--msk-events",
            root.join("msk").to_str().unwrap(),
            "--records",
            &RECORDS.to_string(),
            "--bad-share",
            "0.1",
            "--duplicate-share",
            "0.05",
            "--framing-bad-share",
            "0.05",
            "--tombstone-share",
            "0.02",
            "--partitions",
            "3",
            "--seed",
            "5",
            "--arrival",
            ARRIVAL,
            "--schema-dir",
            schema_dir().to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "adx gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    manifest["msk_events"].as_array().unwrap().clone()
}

fn quarantine_messages(root: &Path, answer: &Value, dataset: &str) -> Vec<String> {
    quarantine_lines(root, answer, dataset)
        .iter()
        .map(|entry| entry["error"]["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_stream_encoding_round_trips_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let events = generate(root);
    assert_eq!(events.len(), 9);
    for event in &events {
        let dataset: Dataset = event["dataset"].as_str().unwrap().parse().unwrap();
        let encoding = event["encoding"].as_str().unwrap();
        let counts = &event["counts"];
        let answer = invoke_stream(
            root,
            &schema_dir(),
            Path::new(event["path"].as_str().unwrap()),
        );
        let r = &answer["datasets"][dataset.name()];
        let label = format!("{} {encoding}", dataset.name());
        assert_eq!(r["curated"], counts["records"]["good"], "{label}: {answer}");
        assert_eq!(
            r["quarantined"], counts["records"]["bad"],
            "{label}: {answer}"
        );
        assert_eq!(
            r["duplicates"], counts["records"]["duplicates"],
            "{label}: {answer}"
        );
        assert_eq!(r["tombstones"], counts["tombstones"], "{label}: {answer}");

        let format = if encoding == "json" {
            adx_gen::Format::JsonLines
        } else {
            adx_gen::Format::Avro(adx_gen::AvroCodec::Null)
        };
        let cfg = GenConfig {
            seed: 5,
            records: RECORDS,
            bad_share: 0.1,
            duplicate_share: 0.05,
            arrival_ms: ARRIVAL_MS,
        };
        // Every version generated under a key: when a record was replaced by a tombstone or a
        // broken frame, its later duplicate (another event time) is the one that arrives.
        let mut by_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for record in records_for(dataset, &format, &cfg) {
            if let RecordValue::Json(v) = record.value {
                let c = canonical(dataset, &v);
                if let Some(k) = c[dataset.key_field()].as_str() {
                    by_key.entry(k.to_string()).or_default().push(c);
                }
            }
        }
        let mut rows = 0;
        for object in objects(&answer, dataset.name(), "curated") {
            let key = object["key"].as_str().unwrap();
            let file = key.rsplit('/').next().unwrap();
            // One file per hour for the whole batch, named after its offsets.
            assert!(
                file.starts_with("kafka-") && file.ends_with(".parquet"),
                "{key}"
            );
            for mut row in parquet_rows(&root.join("curated").join(key)) {
                assert_eq!(row["_source"], dataset.name());
                assert_eq!(row["_arrival_time"], ARRIVAL_MS);
                let partition = row["_source_partition"].as_i64().unwrap();
                assert!((0..3).contains(&partition));
                row.retain(|k, _| !k.starts_with('_'));
                let id = row[dataset.key_field()].as_str().unwrap().to_string();
                let row = Value::Object(row);
                let candidates = by_key.get(&id).map(Vec::as_slice).unwrap_or_default();
                assert!(
                    candidates.contains(&row),
                    "{label}: {row} is none of {candidates:?}"
                );
                rows += 1;
            }
        }
        assert_eq!(Some(rows), counts["records"]["good"].as_u64(), "{label}");

        let messages = quarantine_messages(root, &answer, dataset.name()).join("\n");
        let expected: &[&str] = if encoding == "json" {
            &["not valid JSON", "expected a"]
        } else {
            &[
                "unknown schema version id",
                "Confluent",
                "truncated Glue",
                "corrupt zlib",
            ]
        };
        for needle in expected {
            assert!(
                messages.contains(needle),
                "{label}: no quarantine entry says {needle}:\n{messages}"
            );
        }
    }
}

#[test]
fn a_retried_batch_writes_the_same_objects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let events = generate(root);
    let picks: Vec<&str> = events
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .step_by(2)
        .collect();
    for e in &picks {
        invoke_stream(root, &schema_dir(), Path::new(e));
    }
    let first = outputs(root);
    for e in &picks {
        invoke_stream(root, &schema_dir(), Path::new(e));
    }
    assert!(first == outputs(root));
}

/// What `adx bench --stream` runs: repeated invocations of one event in one process, each
/// removing what the one before wrote. The last one's objects stay, the same as a single run's.
#[test]
fn repeated_invocations_removing_their_outputs_leave_one_runs_objects_and_report_timings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let events = generate(root);
    let event = events[0]["path"].as_str().unwrap();
    invoke_stream(root, &schema_dir(), Path::new(event));
    let single = outputs(root);
    for bucket in ["curated", "quarantine"] {
        std::fs::remove_dir_all(root.join(bucket)).unwrap();
    }
    let out = adx(
        root,
        &schema_dir(),
        &[
            "invoke",
            "stream-ingest",
            "--repeat",
            "3",
            "--remove-outputs",
            "--stats",
            "--event",
            event,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "adx invoke failed: {stderr}");
    assert!(single == outputs(root));
    let stats: Value = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no stats line in {stderr}"));
    let (cpu, wall) = (
        stats["cpu_s"].as_f64().unwrap(),
        stats["wall_s"].as_f64().unwrap(),
    );
    assert!(cpu > 0.0 && wall > 0.0, "{stats}");
}

fn kafka_event(records: Vec<Value>) -> Value {
    let mut by_partition: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in records {
        by_partition
            .entry(format!(
                "{}-{}",
                r["topic"].as_str().unwrap(),
                r["partition"]
            ))
            .or_default()
            .push(r);
    }
    json!({"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/t/x", "bootstrapServers": "b:9092", "records": by_partition})
}

fn record(topic: &str, partition: i32, offset: i64, value: Option<Vec<u8>>) -> Value {
    json!({"topic": topic, "partition": partition, "offset": offset, "timestamp": ARRIVAL_MS, "timestampType": "CREATE_TIME",
           "key": null, "value": value.map(|v| b64(&v)), "headers": []})
}

fn glue(version_id: &str, datum: &[u8]) -> Vec<u8> {
    let mut v = vec![3u8, 0];
    let hex: String = version_id.chars().filter(|c| *c != '-').collect();
    for i in 0..16 {
        v.push(u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap());
    }
    v.extend_from_slice(datum);
    v
}

const OLD_IMPRESSIONS: &str = r#"{"type":"record","name":"ad_impressions","namespace":"com.advertisex","fields":[
    {"name":"impression_id","type":"string"},
    {"name":"event_time","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"request_id","type":["null","string"],"default":null},
    {"name":"user_id","type":["null","string"],"default":null},
    {"name":"campaign_id","type":"string"},
    {"name":"creative_id","type":"string"},
    {"name":"site_domain","type":"string"},
    {"name":"ad_format","type":{"type":"enum","name":"AdFormat","symbols":["BANNER","VIDEO","NATIVE","AUDIO"]}},
    {"name":"device_type","type":{"type":"enum","name":"DeviceType","symbols":["DESKTOP","MOBILE","TABLET","CTV","OTHER"]}}
]}"#;

fn impression_datum(schema_text: &str, id: &str, with_new_fields: bool) -> Vec<u8> {
    let schema = apache_avro::Schema::parse_str(schema_text).unwrap();
    let mut r = Record::new(&schema).unwrap();
    r.put("impression_id", id);
    r.put(
        "event_time",
        AvroValue::TimestampMillis(ARRIVAL_MS - 60_000),
    );
    r.put("request_id", AvroValue::Union(0, Box::new(AvroValue::Null)));
    r.put(
        "user_id",
        AvroValue::Union(1, Box::new(AvroValue::String("u-1".into()))),
    );
    r.put("campaign_id", "cmp-1");
    r.put("creative_id", "cr-1");
    r.put("site_domain", "news.example");
    r.put("ad_format", AvroValue::Enum(2, "NATIVE".into()));
    r.put("device_type", AvroValue::Enum(0, "DESKTOP".into()));
    if with_new_fields {
        r.put(
            "country",
            AvroValue::Union(1, Box::new(AvroValue::String("FR".into()))),
        );
        r.put(
            "win_price_micros",
            AvroValue::Union(1, Box::new(AvroValue::Long(900))),
        );
        r.put(
            "currency",
            AvroValue::Union(1, Box::new(AvroValue::String("EUR".into()))),
        );
    }
    GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value_to_vec(r)
        .unwrap()
}

/// A schema folder with the repository's schemas and an older ad_impressions version.
fn schemas_with_history(root: &Path) -> std::path::PathBuf {
    let dir = root.join("schemas");
    std::fs::create_dir_all(dir.join("history/ad_impressions")).unwrap();
    for name in ["ad_impressions", "bid_requests", "click_conversions"] {
        std::fs::copy(
            schema_dir().join(format!("{name}.avsc")),
            dir.join(format!("{name}.avsc")),
        )
        .unwrap();
    }
    std::fs::write(dir.join("history/ad_impressions/v1.avsc"), OLD_IMPRESSIONS).unwrap();
    dir
}

#[test]
fn old_and_new_writer_versions_come_out_in_the_newest_shape_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let schemas = schemas_with_history(root);
    let new_text = std::fs::read_to_string(schemas.join("ad_impressions.avsc")).unwrap();
    let old_id = adx_local::schema_folder::version_id_of(OLD_IMPRESSIONS);
    let new_id = adx_local::schema_folder::version_id_of(&new_text);
    let event = kafka_event(vec![
        record(
            "ad_impressions",
            0,
            10,
            Some(glue(
                &old_id,
                &impression_datum(OLD_IMPRESSIONS, "old-1", false),
            )),
        ),
        record(
            "ad_impressions",
            0,
            11,
            Some(glue(&new_id, &impression_datum(&new_text, "new-1", true))),
        ),
        record(
            "ad_impressions",
            0,
            12,
            Some(glue(
                &old_id,
                &impression_datum(OLD_IMPRESSIONS, "old-2", false),
            )),
        ),
    ]);
    let path = root.join("evolution.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let answer = invoke_stream(root, &schemas, &path);
    assert_eq!(
        answer["datasets"]["ad_impressions"]["curated"], 3,
        "{answer}"
    );
    let key = objects(&answer, "ad_impressions", "curated")[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        key.ends_with("-0000.parquet") && key.contains("/kafka-"),
        "{key}"
    );
    let rows = parquet_rows(&root.join("curated").join(key));
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["impression_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["old-1", "new-1", "old-2"]);
    assert_eq!(
        (
            rows[0]["country"].clone(),
            rows[0]["win_price_micros"].clone()
        ),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        (
            rows[1]["country"].clone(),
            rows[1]["win_price_micros"].clone()
        ),
        (json!("FR"), json!(900))
    );
    assert_eq!(rows[0]["ad_format"], "NATIVE");
}

#[test]
fn values_decoded_by_the_event_source_mapping_and_unroutable_topics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let new_text = std::fs::read_to_string(schema_dir().join("ad_impressions.avsc")).unwrap();
    let new_id = adx_local::schema_folder::version_id_of(&new_text);
    let mut source = record(
        "imps",
        1,
        5,
        Some(impression_datum(&new_text, "src-1", true)),
    );
    source["valueSchemaMetadata"] = json!({"dataFormat": "AVRO", "schemaId": new_id});
    let json_value = json!({"impression_id": "json-1", "event_time": ARRIVAL_MS - 1000, "campaign_id": "c", "creative_id": "cr",
        "site_domain": "d.example", "ad_format": "VIDEO", "device_type": "CTV"});
    let mut as_json = record("imps", 1, 6, Some(json_value.to_string().into_bytes()));
    as_json["valueSchemaMetadata"] = json!({"dataFormat": "JSON", "schemaId": new_id});
    let stray = record("no_such_topic", 0, 1, Some(b"{\"a\":1}".to_vec()));
    let tomb = record("no_such_topic", 0, 2, None);
    let path = root.join("esm.json");
    std::fs::write(
        &path,
        kafka_event(vec![source, as_json, stray, tomb]).to_string(),
    )
    .unwrap();
    let answer = invoke_stream(root, &schema_dir(), &path);
    assert_eq!(
        answer["datasets"]["ad_impressions"]["curated"], 2,
        "{answer}"
    );
    assert_eq!(
        answer["datasets"]["_unrouted"]["quarantined"], 1,
        "{answer}"
    );
    assert_eq!(answer["datasets"]["_unrouted"]["tombstones"], 1, "{answer}");
    let messages = quarantine_messages(root, &answer, "_unrouted");
    assert!(
        messages[0].contains("topic `no_such_topic`"),
        "{messages:?}"
    );
}

#[test]
fn a_registry_fault_fails_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let path = root.join("e.json");
    std::fs::write(
        &path,
        kafka_event(vec![record("ad_impressions", 0, 1, Some(b"{}".to_vec()))]).to_string(),
    )
    .unwrap();
    let out = adx(
        root,
        &root.join("missing"),
        &["invoke", "stream-ingest", "--event", path.to_str().unwrap()],
    );
    assert_failed_with(&out, "schema registry");
}
