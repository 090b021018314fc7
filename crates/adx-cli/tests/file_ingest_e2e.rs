//! End to end through the `adx` binary: `adx gen` writes every dataset in every format and
//! compression (with bad records and duplicates), `adx invoke file-ingest` ingests each object,
//! and the curated Parquet read back equals, value by value, what was generated.

mod common;

use adx_gen::{Dataset, Expected, GenConfig, RecordValue, canonical, records_for};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const RECORDS: usize = 400;
const ARRIVAL: &str = "2026-11-28T06:00:00Z";
const ARRIVAL_MS: i64 = 1_795_845_600_000;

fn generate(root: &Path) -> Vec<Value> {
    let out = adx(
        root,
        &schema_dir(),
        &[
            "gen",
            "--out",
            root.join("landing").to_str().unwrap(),
            "--events",
            root.join("events").to_str().unwrap(),
            "--records",
            &RECORDS.to_string(),
            "--bad-share",
            "0.1",
            "--duplicate-share",
            "0.05",
            "--seed",
            "11",
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
    manifest.as_array().unwrap().clone()
}

#[test]
fn every_format_and_compression_round_trips_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = generate(root);
    assert_eq!(
        manifest.len(),
        3 * 7 * 3,
        "every dataset x format x compression"
    );
    for sample in &manifest {
        let dataset: Dataset = sample["dataset"].as_str().unwrap().parse().unwrap();
        let format = format_of(sample["format"].as_str().unwrap());
        let key = sample["key"].as_str().unwrap();
        let answer = invoke(
            root,
            &schema_dir(),
            Path::new(sample["event"].as_str().unwrap()),
        );
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

        // What the generator says must come out, by key.
        let cfg = GenConfig {
            seed: 11,
            records: RECORDS,
            bad_share: 0.1,
            duplicate_share: 0.05,
            arrival_ms: ARRIVAL_MS,
        };
        let mut expected: BTreeMap<String, Value> = BTreeMap::new();
        for record in records_for(dataset, &format, &cfg) {
            if let (Expected::Good, RecordValue::Json(v)) = (record.expected, record.value) {
                let c = canonical(dataset, &v);
                expected.insert(c[dataset.key_field()].as_str().unwrap().to_string(), c);
            }
        }
        let mut seen = 0;
        for object in objects(&answer, dataset.name(), "curated") {
            let path = root.join("curated").join(object["key"].as_str().unwrap());
            let rows = parquet_rows(&path);
            assert_eq!(rows.len() as u64, object["records"].as_u64().unwrap());
            for mut row in rows {
                assert_eq!(row["_source"], format!("s3://landing/{key}"));
                assert_eq!(row["_arrival_time"], ARRIVAL_MS);
                let lineage: Vec<String> =
                    row.keys().filter(|k| k.starts_with('_')).cloned().collect();
                for k in lineage {
                    row.remove(&k);
                }
                let id = row[dataset.key_field()].as_str().unwrap().to_string();
                let want = expected
                    .get(&id)
                    .unwrap_or_else(|| panic!("{key}: unexpected row {id}"));
                assert_eq!(&Value::Object(row), want, "{key}: row {id}");
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            expected.len(),
            "{key}: every good record is curated once"
        );

        let quarantine = objects(&answer, dataset.name(), "quarantine");
        let lines: usize = quarantine
            .iter()
            .map(|o| {
                let text = std::fs::read_to_string(
                    root.join("quarantine").join(o["key"].as_str().unwrap()),
                )
                .unwrap();
                for line in text.lines() {
                    let entry: Value = serde_json::from_str(line).unwrap();
                    assert!(
                        entry["error"]["message"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty()),
                        "{line}"
                    );
                    assert!(entry["error"]["kind"].is_string(), "{line}");
                    assert_eq!(entry["source"]["key"], key);
                    assert!(
                        entry["payload"].is_string() || entry["payload_base64"].is_string(),
                        "{line}"
                    );
                }
                text.lines().count()
            })
            .sum();
        assert_eq!(lines as u64, counts["bad"].as_u64().unwrap(), "{key}");
    }
}

#[test]
fn a_rerun_writes_the_same_objects_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = generate(root);
    let events: Vec<&str> = manifest
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .step_by(4)
        .collect();
    for event in &events {
        invoke(root, &schema_dir(), Path::new(event));
    }
    let first = outputs(root);
    assert!(!first.0.is_empty() && !first.1.is_empty());
    for event in &events {
        invoke(root, &schema_dir(), Path::new(event));
    }
    let second = outputs(root);
    assert_eq!(first.0.len(), second.0.len());
    assert!(first == second, "a rerun changed or added objects");
}
