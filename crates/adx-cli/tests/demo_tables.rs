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
use futures::TryStreamExt;
use iceberg_arrow_array::cast::AsArray;
use iceberg_arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use iceberg_arrow_array::{Array, RecordBatch};
use iceberg_arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Value, json};
use std::process::Command;

const RECORDS: usize = 300;
const STREAM_RECORDS: usize = 300;
const SEED: u64 = 7;

/// A cell as the generator's canonical JSON has it (timestamps in epoch milliseconds).
fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            json!(array.as_primitive::<TimestampMicrosecondType>().value(i) / 1000)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut map = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                map.insert(f.name().clone(), cell(c.as_ref(), i));
            }
            Value::Object(map)
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let items = list.value(i);
            Value::Array((0..items.len()).map(|j| cell(items.as_ref(), j)).collect())
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// Every row of `dataset`'s table, as JSON objects.
async fn table_rows(catalog: &dyn Catalog, dataset: &str) -> Vec<Map<String, Value>> {
    let table = catalog
        .load_table(&TableIdent::new(namespace(), dataset.to_string()))
        .await
        .unwrap();
    let batches: Vec<RecordBatch> = table
        .scan()
        .select_all()
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for batch in batches {
        for i in 0..batch.num_rows() {
            let mut row = Map::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                row.insert(field.name().clone(), cell(column.as_ref(), i));
            }
            rows.push(row);
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
