//! The file path on the emulators: objects put into a LocalStack landing bucket, the handler
//! (`adx invoke file-ingest`, S3 and Glue adapters) run on their S3 events, with schemas pushed
//! to moto's Glue registry, and the curated Parquet read back from LocalStack and compared,
//! value by value, with what was generated.
//!
//! Run by `infra/test-all.sh`, which starts the emulators; alone:
//! `infra/local/start.sh && source infra/local/env.sh && cargo test -- --ignored`.

mod common;

use adx_gen::{Dataset, Expected, Format, GenConfig, RecordValue, canonical, records_for};
use common::aws::{World, contents, context, event_file, get, put};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const RECORDS: usize = 300;
const ARRIVAL_MS: i64 = 1_795_845_600_000;

/// Generates every dataset x format x compression locally; returns the manifest.
fn generate(root: &Path) -> Vec<Value> {
    let out = adx(
        root,
        &schema_dir(),
        &[
            "gen",
            "--out",
            root.join("landing").to_str().unwrap(),
            "--records",
            &RECORDS.to_string(),
            "--bad-share",
            "0.1",
            "--duplicate-share",
            "0.05",
            "--seed",
            "23",
            "--arrival",
            "2026-11-28T06:00:00Z",
            "--schema-dir",
            schema_dir().to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The good records the generator made for one object, canonical, by key.
fn expected_rows(dataset: Dataset, format: &Format) -> BTreeMap<String, Value> {
    let cfg = GenConfig {
        seed: 23,
        records: RECORDS,
        bad_share: 0.1,
        duplicate_share: 0.05,
        arrival_ms: ARRIVAL_MS,
    };
    let mut expected = BTreeMap::new();
    for record in records_for(dataset, format, &cfg) {
        if let (Expected::Good, RecordValue::Json(v)) = (record.expected, record.value) {
            let c = canonical(dataset, &v);
            expected.insert(c[dataset.key_field()].as_str().unwrap().to_string(), c);
        }
    }
    expected
}

/// The curated rows of an answer's objects, read back from S3, lineage columns removed.
fn curated_rows(
    context: &adx_aws::AwsContext,
    world: &World,
    answer: &Value,
    dataset: Dataset,
    scratch: &Path,
) -> Vec<serde_json::Map<String, Value>> {
    let mut rows = Vec::new();
    for object in objects(answer, dataset.name(), "curated") {
        let key = object["key"].as_str().unwrap();
        assert_eq!(object["bucket"], world.curated.as_str(), "{object}");
        let path = scratch.join("part.parquet");
        std::fs::write(&path, get(context, &world.curated, key)).unwrap();
        let part = parquet_rows(&path);
        assert_eq!(part.len() as u64, object["records"].as_u64().unwrap());
        rows.extend(part);
    }
    rows
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn every_dataset_format_and_compression_round_trips_through_s3_and_glue() {
    let context = context();
    let world = World::new(&context, "files");
    world.push_schemas();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = generate(root);
    assert_eq!(manifest.len(), 3 * 7 * 3);
    let mut answers = Vec::new();
    for sample in &manifest {
        let dataset: Dataset = sample["dataset"].as_str().unwrap().parse().unwrap();
        let format = format_of(sample["format"].as_str().unwrap());
        let key = sample["key"].as_str().unwrap();
        let bytes = std::fs::read(root.join("landing").join(key)).unwrap();
        let size = bytes.len() as u64;
        let etag = put(&context, &world.landing, key, bytes);
        let event = event_file(root, &world.landing, key, size, &etag);
        let answer = world.invoke("file-ingest", &event);
        let report = &answer["datasets"][dataset.name()];
        let counts = &sample["counts"];
        assert_eq!(
            report["received"].as_u64(),
            Some(RECORDS as u64),
            "{key}: {answer}"
        );
        assert_eq!(report["curated"], counts["good"], "{key}: {answer}");
        assert_eq!(report["quarantined"], counts["bad"], "{key}: {answer}");
        assert_eq!(
            report["duplicates"], counts["duplicates"],
            "{key}: {answer}"
        );

        let expected = expected_rows(dataset, &format);
        let rows = curated_rows(&context, &world, &answer, dataset, root);
        assert_eq!(rows.len(), expected.len(), "{key}: every good record once");
        for mut row in rows {
            assert_eq!(
                row["_source"],
                format!("s3://{}/{key}", world.landing),
                "{key}"
            );
            row.retain(|k, _| !k.starts_with('_'));
            let id = row[dataset.key_field()].as_str().unwrap().to_string();
            let want = expected
                .get(&id)
                .unwrap_or_else(|| panic!("{key}: row {id}"));
            assert_eq!(&Value::Object(row), want, "{key}: row {id}");
        }

        let mut lines = 0;
        for object in objects(&answer, dataset.name(), "quarantine") {
            assert_eq!(object["bucket"], world.quarantine.as_str());
            let text = String::from_utf8(get(
                &context,
                &world.quarantine,
                object["key"].as_str().unwrap(),
            ))
            .unwrap();
            for line in text.lines() {
                let entry: Value = serde_json::from_str(line).unwrap();
                assert!(
                    entry["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty())
                );
                assert_eq!(entry["source"]["key"], key);
                lines += 1;
            }
        }
        assert_eq!(lines, counts["bad"].as_u64().unwrap(), "{key}");
        answers.push((key.to_string(), size, etag));
    }

    // A rerun of some events writes the very same objects: same keys, same bytes, no more.
    let curated = contents(&context, &world.curated);
    let quarantine = contents(&context, &world.quarantine);
    for (key, size, etag) in answers.iter().step_by(5) {
        let event = event_file(root, &world.landing, key, *size, etag);
        world.invoke("file-ingest", &event);
    }
    assert!(
        contents(&context, &world.curated) == curated,
        "a rerun changed curated objects"
    );
    assert!(
        contents(&context, &world.quarantine) == quarantine,
        "a rerun changed quarantine objects"
    );
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn keys_with_spaces_plus_signs_and_non_ascii_characters_are_read() {
    let context = context();
    let world = World::new(&context, "keys");
    world.push_schemas();
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"impression_id":"imp-1","event_time":"2026-11-28T05:10:00Z","request_id":"br-1","user_id":"u-1","campaign_id":"c-1","creative_id":"cr-1","site_domain":"news.example","ad_format":"BANNER","device_type":"MOBILE","country":"FR","win_price_micros":1200,"currency":"EUR"}"#;
    for key in [
        "ad_impressions/drop zone/file one.jsonl",
        "ad_impressions/a+b=c/x+y.jsonl",
        "ad_impressions/été/réseau €uro 広告.jsonl",
    ] {
        let etag = put(&context, &world.landing, key, line.as_bytes().to_vec());
        let event = event_file(dir.path(), &world.landing, key, line.len() as u64, &etag);
        let sent: Value = serde_json::from_slice(&std::fs::read(&event).unwrap()).unwrap();
        let encoded = sent["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
        assert!(
            !encoded.contains(' ') && !encoded.contains('é') && encoded != key,
            "the event carries the key URL-encoded, as S3 sends it: {encoded}"
        );
        let answer = world.invoke("file-ingest", &event);
        let report = &answer["datasets"]["ad_impressions"];
        assert_eq!(report["received"], 1, "{key}: {answer}");
        assert_eq!(report["curated"], 1, "{key}: {answer}");
    }
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn an_object_replaced_since_its_event_is_skipped_not_read_in_its_place() {
    let context = context();
    let world = World::new(&context, "replaced");
    world.push_schemas();
    let dir = tempfile::tempdir().unwrap();
    let key = "click_conversions/replaced.csv";
    let old = put(&context, &world.landing, key, b"click_id\n".to_vec());
    put(&context, &world.landing, key, b"click_id,other\n".to_vec());
    let event = event_file(dir.path(), &world.landing, key, 9, &old);
    let answer = world.invoke("file-ingest", &event);
    assert_eq!(answer["datasets"], serde_json::json!({}), "{answer}");
    assert!(contents(&context, &world.curated).is_empty());
    assert!(contents(&context, &world.quarantine).is_empty());
}
