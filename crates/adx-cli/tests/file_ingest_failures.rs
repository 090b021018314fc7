//! End to end through `adx invoke file-ingest`: objects that cannot be read at all, awkward
//! keys, Avro schema evolution, and store or registry faults that must fail the invocation.

mod common;

use apache_avro::types::{Record, Value as AvroValue};
use apache_avro::{Schema, Writer};
use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn put(root: &Path, key: &str, bytes: &[u8]) {
    let path = root.join("landing").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Drops `bytes` at `key` in the landing bucket and runs the handler on its S3 event.
fn drop_and_ingest(root: &Path, schemas: &Path, key: &str, bytes: &[u8]) -> Value {
    put(root, key, bytes);
    let tag = key.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    invoke(root, schemas, &event_for(root, "landing", key, &tag))
}

/// The rows of the first curated object of `dataset` in an answer.
fn first_curated_rows(
    root: &Path,
    answer: &Value,
    dataset: &str,
) -> Vec<serde_json::Map<String, Value>> {
    let key = objects(answer, dataset, "curated")[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    parquet_rows(&root.join("curated").join(key))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const GOOD_IMPRESSION: &str = r#"{"impression_id":"i-1","event_time":"2026-11-28T05:10:00Z","request_id":"r-1","user_id":"u-1","campaign_id":"c-1","creative_id":"cr-1","site_domain":"news.example","ad_format":"BANNER","device_type":"MOBILE","country":"US","win_price_micros":1500,"currency":"USD"}"#;

#[test]
fn unreadable_objects_become_one_quarantine_entry_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        (
            "ad_impressions/corrupt.json.gz",
            b"this is not gzip".to_vec(),
            "ad_impressions",
            "object",
        ),
        (
            "bid_requests/not-avro.avro",
            b"hello, world".to_vec(),
            "bid_requests",
            "object",
        ),
        (
            "no_such_dataset/x.csv",
            b"a,b\n1,2\n".to_vec(),
            "_unrouted",
            "unrouted",
        ),
        (
            "click_conversions/x.parquet",
            b"PAR1".to_vec(),
            "click_conversions",
            "unsupported_format",
        ),
        (
            "click_conversions/empty.csv",
            Vec::new(),
            "click_conversions",
            "object",
        ),
    ];
    for (i, (key, bytes, dataset, kind)) in cases.iter().enumerate() {
        put(root, key, bytes);
        let answer = invoke(
            root,
            &schema_dir(),
            &event_for(root, "landing", key, &format!("e{i}")),
        );
        let report = &answer["datasets"][dataset];
        assert_eq!(
            (report["received"].as_u64(), report["quarantined"].as_u64()),
            (Some(1), Some(1)),
            "{key}: {answer}"
        );
        let lines = quarantine_lines(root, &answer, dataset);
        assert_eq!(lines.len(), 1, "{key}");
        assert_eq!(lines[0]["error"]["kind"], *kind, "{key}: {}", lines[0]);
        assert_eq!(lines[0]["source"]["key"], *key);
    }
}

#[test]
fn a_stream_that_breaks_midway_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut lines = String::new();
    for i in 0..2000 {
        lines.push_str(&GOOD_IMPRESSION.replace("i-1", &format!("i-{i}")));
        lines.push('\n');
    }
    let full = gzip(lines.as_bytes());
    let answer = drop_and_ingest(
        root,
        &schema_dir(),
        "ad_impressions/cut.jsonl.gz",
        &full[..full.len() / 2],
    );
    let r = &answer["datasets"]["ad_impressions"];
    let (received, curated, quarantined) = (
        r["received"].as_u64().unwrap(),
        r["curated"].as_u64().unwrap(),
        r["quarantined"].as_u64().unwrap(),
    );
    assert!(curated > 100 && curated < 2000, "{answer}");
    assert_eq!(received, curated + quarantined);
    let entries = quarantine_lines(root, &answer, "ad_impressions");
    assert_eq!(
        entries.last().unwrap()["error"]["kind"],
        "object",
        "{entries:?}"
    );
}

#[test]
fn keys_with_spaces_plus_and_non_ascii_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let key = "ad_impressions/2026 11/a+b été.jsonl";
    put(root, key, format!("{GOOD_IMPRESSION}\n").as_bytes());
    let answer = invoke(root, &schema_dir(), &event_for(root, "landing", key, "odd"));
    assert_eq!(
        answer["datasets"]["ad_impressions"]["curated"], 1,
        "{answer}"
    );
    let object = objects(&answer, "ad_impressions", "curated")[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let rows = parquet_rows(&root.join("curated").join(&object));
    assert_eq!(rows[0]["_source"], format!("s3://landing/{key}"));
    assert_eq!(rows[0]["event_time"], 1_795_842_600_000i64);
}

fn old_impressions_schema() -> Schema {
    // An earlier contract: no country, win_price_micros nor currency (all added later with defaults).
    Schema::parse_str(
        r#"{"type":"record","name":"ad_impressions","namespace":"com.advertisex","fields":[
        {"name":"impression_id","type":"string"},
        {"name":"event_time","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"request_id","type":["null","string"],"default":null},
        {"name":"user_id","type":["null","string"],"default":null},
        {"name":"campaign_id","type":"string"},
        {"name":"creative_id","type":"string"},
        {"name":"site_domain","type":"string"},
        {"name":"ad_format","type":{"type":"enum","name":"AdFormat","symbols":["BANNER","VIDEO","NATIVE","AUDIO"]}},
        {"name":"device_type","type":{"type":"enum","name":"DeviceType","symbols":["DESKTOP","MOBILE","TABLET","CTV","OTHER"]}}
    ]}"#,
    )
    .unwrap()
}

#[test]
fn avro_written_with_an_older_schema_comes_out_in_the_newest_shape() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let schema = old_impressions_schema();
    let mut writer = Writer::with_codec(&schema, Vec::new(), apache_avro::Codec::Snappy).unwrap();
    for i in 0..3 {
        let mut r = Record::new(&schema).unwrap();
        r.put("impression_id", format!("old-{i}"));
        r.put(
            "event_time",
            AvroValue::TimestampMillis(1_795_842_600_000 + i),
        );
        r.put(
            "request_id",
            AvroValue::Union(1, Box::new(AvroValue::String("r".into()))),
        );
        r.put("user_id", AvroValue::Union(0, Box::new(AvroValue::Null)));
        r.put("campaign_id", "c");
        r.put("creative_id", "cr");
        r.put("site_domain", "d.example");
        r.put("ad_format", AvroValue::Enum(1, "VIDEO".into()));
        r.put("device_type", AvroValue::Enum(3, "CTV".into()));
        writer.append_value(r).unwrap();
    }
    let answer = drop_and_ingest(
        root,
        &schema_dir(),
        "ad_impressions/old.avro",
        &writer.into_inner().unwrap(),
    );
    assert_eq!(
        answer["datasets"]["ad_impressions"]["curated"], 3,
        "{answer}"
    );
    let rows = first_curated_rows(root, &answer, "ad_impressions");
    assert_eq!(rows[1]["impression_id"], "old-1");
    assert_eq!(rows[1]["ad_format"], "VIDEO");
    assert_eq!(rows[1]["device_type"], "CTV");
    assert_eq!(rows[1]["user_id"], Value::Null);
    assert_eq!(rows[1]["currency"], Value::Null);
    assert!(rows[1].contains_key("win_price_micros"));
}

#[test]
fn avro_whose_writer_schema_cannot_be_resolved_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let schema = Schema::parse_str(
        r#"{"type":"record","name":"ad_impressions","namespace":"com.advertisex","fields":[
        {"name":"impression_id","type":"string"},{"name":"event_time","type":"string"}]}"#,
    )
    .unwrap();
    let mut writer = Writer::new(&schema, Vec::new()).unwrap();
    for i in 0..5 {
        let mut r = Record::new(&schema).unwrap();
        r.put("impression_id", format!("x-{i}"));
        r.put("event_time", "yesterday");
        writer.append_value(r).unwrap();
    }
    let answer = drop_and_ingest(
        root,
        &schema_dir(),
        "ad_impressions/wrong.avro",
        &writer.into_inner().unwrap(),
    );
    assert_eq!(
        answer["datasets"]["ad_impressions"]["quarantined"], 1,
        "{answer}"
    );
    let lines = quarantine_lines(root, &answer, "ad_impressions");
    assert_eq!(lines[0]["error"]["kind"], "incompatible_schema");
}

#[test]
fn a_store_fault_fails_the_invocation_and_a_rerun_recovers_identically() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut lines = String::new();
    for i in 0..50 {
        lines.push_str(
            &GOOD_IMPRESSION
                .replace("i-1", &format!("i-{i}"))
                .replace("\"US\"", if i % 10 == 0 { "\"usa\"" } else { "\"US\"" }),
        );
        lines.push('\n');
    }
    put(root, "ad_impressions/batch.jsonl", lines.as_bytes());
    let event = event_for(root, "landing", "ad_impressions/batch.jsonl", "b");
    // The curated bucket cannot be written: a file stands where its folder should be.
    std::fs::write(root.join("curated"), b"in the way").unwrap();
    let out = adx(
        root,
        &schema_dir(),
        &["invoke", "file-ingest", "--event", event.to_str().unwrap()],
    );
    assert_failed_with(&out, "object store");
    std::fs::remove_file(root.join("curated")).unwrap();
    let answer = invoke(root, &schema_dir(), &event);
    assert_eq!(
        (
            answer["datasets"]["ad_impressions"]["curated"].as_u64(),
            answer["datasets"]["ad_impressions"]["quarantined"].as_u64()
        ),
        (Some(45), Some(5))
    );
    let after_retry = outputs(root);

    let clean = tempfile::tempdir().unwrap();
    put(clean.path(), "ad_impressions/batch.jsonl", lines.as_bytes());
    invoke(
        clean.path(),
        &schema_dir(),
        &event_for(clean.path(), "landing", "ad_impressions/batch.jsonl", "b"),
    );
    assert!(
        after_retry
            == (
                tree(&clean.path().join("curated")),
                tree(&clean.path().join("quarantine"))
            )
    );
}

#[test]
fn a_registry_fault_fails_the_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "ad_impressions/a.jsonl",
        format!("{GOOD_IMPRESSION}\n").as_bytes(),
    );
    let event = event_for(root, "landing", "ad_impressions/a.jsonl", "a");
    let out = adx(
        root,
        &root.join("no-schemas-here"),
        &["invoke", "file-ingest", "--event", event.to_str().unwrap()],
    );
    assert_failed_with(&out, "schema registry");
}

#[test]
fn a_missing_object_is_logged_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "ad_impressions/a.jsonl", b"{}\n");
    let event = event_for(root, "landing", "ad_impressions/a.jsonl", "gone");
    std::fs::remove_file(root.join("landing/ad_impressions/a.jsonl")).unwrap();
    let answer = invoke(root, &schema_dir(), &event);
    assert_eq!(answer["datasets"], serde_json::json!({}), "{answer}");
    assert!(outputs(root) == (Vec::new(), Vec::new()));
}

/// A schema folder with the repository's schemas, ad_impressions edited by `edit`.
fn edited_schemas(root: &Path, edit: impl Fn(&mut Value)) -> std::path::PathBuf {
    let dir = root.join("schemas");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["bid_requests", "click_conversions"] {
        std::fs::copy(
            schema_dir().join(format!("{name}.avsc")),
            dir.join(format!("{name}.avsc")),
        )
        .unwrap();
    }
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(schema_dir().join("ad_impressions.avsc")).unwrap(),
    )
    .unwrap();
    edit(&mut schema);
    std::fs::write(dir.join("ad_impressions.avsc"), schema.to_string()).unwrap();
    dir
}

#[test]
fn avro_resolution_follows_reader_aliases_and_enum_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let schemas = edited_schemas(root, |s| {
        let fields = s["fields"].as_array_mut().unwrap();
        for f in fields.iter_mut() {
            if f["name"] == "user_id" {
                f["aliases"] = serde_json::json!(["uid"]);
            }
            if f["name"] == "device_type" {
                f["type"]["default"] = serde_json::json!("OTHER");
            }
        }
    });
    let writer = Schema::parse_str(
        r#"{"type":"record","name":"ad_impressions","namespace":"com.advertisex","fields":[
        {"name":"impression_id","type":"string"},
        {"name":"event_time","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"uid","type":["null","string"],"default":null},
        {"name":"campaign_id","type":"string"},
        {"name":"creative_id","type":"string"},
        {"name":"site_domain","type":"string"},
        {"name":"ad_format","type":{"type":"enum","name":"AdFormat","symbols":["BANNER","VIDEO","NATIVE","AUDIO"]}},
        {"name":"device_type","type":{"type":"enum","name":"DeviceType","symbols":["DESKTOP","MOBILE","TABLET","CTV","OTHER","WATCH"]}}
    ]}"#,
    )
    .unwrap();
    let mut w = Writer::new(&writer, Vec::new()).unwrap();
    let mut r = Record::new(&writer).unwrap();
    r.put("impression_id", "a-1");
    r.put("event_time", AvroValue::TimestampMillis(1_795_842_600_000));
    r.put(
        "uid",
        AvroValue::Union(1, Box::new(AvroValue::String("u-9".into()))),
    );
    r.put("campaign_id", "c");
    r.put("creative_id", "cr");
    r.put("site_domain", "d.example");
    r.put("ad_format", AvroValue::Enum(0, "BANNER".into()));
    r.put("device_type", AvroValue::Enum(5, "WATCH".into()));
    w.append_value(r).unwrap();
    let answer = drop_and_ingest(
        root,
        &schemas,
        "ad_impressions/aliased.avro",
        &w.into_inner().unwrap(),
    );
    assert_eq!(
        answer["datasets"]["ad_impressions"]["curated"], 1,
        "{answer}"
    );
    let rows = first_curated_rows(root, &answer, "ad_impressions");
    assert_eq!(
        (rows[0]["user_id"].as_str(), rows[0]["device_type"].as_str()),
        (Some("u-9"), Some("OTHER"))
    );
}

#[test]
fn a_writer_with_timestamp_micros_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let writer = Schema::parse_str(
        r#"{"type":"record","name":"ad_impressions","namespace":"com.advertisex","fields":[
        {"name":"impression_id","type":"string"},
        {"name":"event_time","type":{"type":"long","logicalType":"timestamp-micros"}},
        {"name":"campaign_id","type":"string"},{"name":"creative_id","type":"string"},{"name":"site_domain","type":"string"},
        {"name":"ad_format","type":{"type":"enum","name":"AdFormat","symbols":["BANNER","VIDEO","NATIVE","AUDIO"]}},
        {"name":"device_type","type":{"type":"enum","name":"DeviceType","symbols":["DESKTOP","MOBILE","TABLET","CTV","OTHER"]}}
    ]}"#,
    )
    .unwrap();
    let mut w = Writer::new(&writer, Vec::new()).unwrap();
    let mut r = Record::new(&writer).unwrap();
    r.put("impression_id", "m-1");
    r.put(
        "event_time",
        AvroValue::TimestampMicros(1_795_842_600_000_000),
    );
    r.put("campaign_id", "c");
    r.put("creative_id", "cr");
    r.put("site_domain", "d.example");
    r.put("ad_format", AvroValue::Enum(0, "BANNER".into()));
    r.put("device_type", AvroValue::Enum(0, "DESKTOP".into()));
    w.append_value(r).unwrap();
    let answer = drop_and_ingest(
        root,
        &schema_dir(),
        "ad_impressions/micros.avro",
        &w.into_inner().unwrap(),
    );
    let lines = quarantine_lines(root, &answer, "ad_impressions");
    assert_eq!(lines.len(), 1, "{answer}");
    assert_eq!(lines[0]["error"]["kind"], "incompatible_schema");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timestamp-micros"),
        "{}",
        lines[0]
    );
}

#[test]
fn a_registered_schema_that_is_not_a_dataset_routes_to_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let schemas = edited_schemas(root, |_| {});
    std::fs::write(
        schemas.join("plain.avsc"),
        r#"{"type":"record","name":"plain","fields":[{"name":"a","type":"string"}]}"#,
    )
    .unwrap();
    let answer = drop_and_ingest(root, &schemas, "plain/x.jsonl", b"{\"a\":\"b\"}\n");
    let lines = quarantine_lines(root, &answer, "_unrouted");
    assert_eq!(lines.len(), 1, "{answer}");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a usable dataset"),
        "{}",
        lines[0]
    );
}
