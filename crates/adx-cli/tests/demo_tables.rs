//! The README's first command, read back through its tables: `adx demo` ingests every dataset in
//! every format (with bad records and duplicates) and an Avro and a JSON MSK batch of each,
//! then commits. Each Iceberg table, read with iceberg-rust's own scan from the demo's SQL
//! catalog, holds exactly the valid records: the file rows, value by value, equal to what the
//! generator wrote (as many times as it wrote them: one object per format), and as many stream
//! rows as the stream handler curated.

mod common;

use adx_gen::{Dataset, Expected, Format, GenConfig, RecordValue, canonical, records_for};
use adx_tables::local::{namespace, open};
use adx_tables::{Catalog, TableIdent};
use serde_json::{Map, Value, json};
use std::process::Command;

const RECORDS: usize = 300;
const STREAM_RECORDS: usize = 300;
const SEED: u64 = 7;

/// Every row of `dataset`'s table, its timestamps (microseconds in the table) in epoch
/// milliseconds, as the generator's canonical JSON has them.
async fn table_rows(catalog: &dyn Catalog, dataset: &str) -> Vec<Map<String, Value>> {
    let ident = TableIdent::new(namespace(), dataset.to_string());
    let mut rows = adx_tables::scan::table_rows(catalog, &ident, None, None)
        .await
        .unwrap();
    for row in &mut rows {
        for column in ["event_time", "_arrival_time"] {
            if let Some(us) = row[column].as_i64() {
                row.insert(column.to_string(), json!(us / 1000));
            }
        }
    }
    rows
}

/// The records the stream handler curated for each dataset, from the demo's summary.
fn stream_curated(stdout: &str) -> Vec<(String, u64)> {
    let section = stdout
        .split("Stream ingestion")
        .nth(1)
        .and_then(|s| s.split("Iceberg tables").next())
        .expect("the stream summary");
    section
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let dataset = cols.first()?;
            Dataset::all()
                .iter()
                .any(|d| d.name() == *dataset)
                .then(|| (dataset.to_string(), cols[2].parse().unwrap()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_tables_hold_every_valid_record_exactly_once_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args([
            "demo",
            "--dir",
            root.to_str().unwrap(),
            "--records",
            &RECORDS.to_string(),
            "--stream-records",
            &STREAM_RECORDS.to_string(),
            "--seed",
            &SEED.to_string(),
        ])
        .current_dir(common::aws::repo_root())
        .env_remove("ADX_STORE_ROOT")
        .env_remove("ADX_SCHEMA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("set aside"), "{stdout}");
    assert!(
        stdout.contains("\nChecked: "),
        "the demo checks itself: {stdout}"
    );
    let stream = stream_curated(&stdout);
    assert_eq!(stream.len(), 3, "{stdout}");

    // `adx tables show` prints rows as a reader sees them.
    let shown = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args([
            "tables",
            "show",
            "--root",
            root.to_str().unwrap(),
            "ad_impressions",
        ])
        .args(["--limit", "3"])
        .env_remove("ADX_STORE_ROOT")
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let shown: Vec<Value> = String::from_utf8_lossy(&shown.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 3);
    assert!(shown.iter().all(|r| r["impression_id"].is_string()));

    let catalog = open(&root, "curated").await.unwrap();
    for (name, stream_count) in stream {
        let dataset: Dataset = name.parse().unwrap();
        let rows = table_rows(&catalog, &name).await;
        let (files, kafka): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|r| r["_source_partition"].is_null());
        assert_eq!(kafka.len() as u64, stream_count, "{name}: stream rows");
        assert!(
            kafka
                .iter()
                .all(|r| r["_offset"].is_i64() && r["_source"].is_string()),
            "{name}: stream rows carry their topic and offset"
        );
        // Every file row of the demo arrived at the same time: the generator's arrival.
        let arrival = files[0]["_arrival_time"].as_i64().unwrap();
        let cfg = GenConfig {
            seed: SEED,
            records: RECORDS,
            bad_share: 0.02,
            duplicate_share: 0.01,
            arrival_ms: arrival,
        };
        let mut want: Vec<String> = Format::all()
            .iter()
            .flat_map(|format| records_for(dataset, format, &cfg).collect::<Vec<_>>())
            .filter_map(|r| match (r.expected, r.value) {
                (Expected::Good, RecordValue::Json(v)) => Some(canonical(dataset, &v).to_string()),
                _ => None,
            })
            .collect();
        let mut got: Vec<String> = files
            .into_iter()
            .map(|mut row| {
                assert!(
                    row["_source"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("s3://landing/")),
                    "{row:?}"
                );
                row.retain(|k, _| !k.starts_with('_'));
                Value::Object(row).to_string()
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got.len(), want.len(), "{name}: file rows");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{name}: a file row differs from the generator's");
        }
    }
}
