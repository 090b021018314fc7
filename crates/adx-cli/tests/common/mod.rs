//! Helpers of the end-to-end tests: run the `adx` binary, read curated Parquet back as JSON.

#![allow(dead_code)]

pub mod aws;
pub mod localstack;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's `schemas/` folder.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Runs `adx` with `args` and the store/registry environment of `root`.
pub fn adx(root: &Path, schemas: &Path, args: &[&str]) -> Output {
    adx_with(root, schemas, args, &[])
}

/// Runs `adx` as [`adx`] does, with extra environment variables.
pub fn adx_with(root: &Path, schemas: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(args)
        .envs(vars.iter().copied())
        .env("ADX_STORE_ROOT", root)
        .env("ADX_SCHEMA_DIR", schemas)
        .env("CURATED_BUCKET", "curated")
        .env("QUARANTINE_BUCKET", "quarantine")
        .env_remove("MAX_FUTURE_SKEW_SECONDS")
        .output()
        .expect("run adx")
}

/// Runs `adx invoke file-ingest` on an event file and returns its JSON answer (asserting success).
pub fn invoke(root: &Path, schemas: &Path, event: &Path) -> Value {
    let out = adx(
        root,
        schemas,
        &["invoke", "file-ingest", "--event", event.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "adx invoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the answer is JSON")
}

/// Runs `adx invoke stream-ingest` on an MSK event file and returns its JSON answer (asserting success).
pub fn invoke_stream(root: &Path, schemas: &Path, event: &Path) -> Value {
    let out = adx(
        root,
        schemas,
        &[
            "invoke",
            "stream-ingest",
            "--event",
            event.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "adx invoke stream-ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the answer is JSON")
}

/// Writes an S3 event for `s3://bucket/key` (the file must exist under `root`) and returns its path.
pub fn event_for(root: &Path, bucket: &str, key: &str, etag: &str) -> PathBuf {
    let size = std::fs::metadata(root.join(bucket).join(key))
        .map(|m| m.len())
        .unwrap_or(0);
    let event = adx_handlers_event(bucket, key, size, etag);
    let path = root.join(format!("event-{}.json", etag));
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

fn adx_handlers_event(bucket: &str, key: &str, size: u64, etag: &str) -> Value {
    // Encoded as S3 does: `+` for a space, percent-escapes for the rest.
    let mut encoded = String::new();
    for b in key.bytes() {
        match b {
            b' ' => encoded.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(b as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T06:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "test"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "t",
               "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": size, "eTag": etag, "sequencer": "0"}}
    }]})
}

/// The objects of one dataset in an answer.
pub fn objects<'a>(answer: &'a Value, dataset: &str, kind: &str) -> Vec<&'a Value> {
    answer["datasets"][dataset]["objects"]
        .as_array()
        .map(|objects| objects.iter().filter(|o| o["kind"] == kind).collect())
        .unwrap_or_default()
}

/// Reads every row of a Parquet file as a JSON object (timestamps as epoch millis).
pub fn parquet_rows(path: &Path) -> Vec<Map<String, Value>> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
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

fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(i)),
        DataType::Timestamp(_, _) => {
            // Microseconds in the files (Iceberg's unit); the generator's milliseconds here.
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

/// Every entry of the quarantine objects of `dataset` that an answer names, in order.
pub fn quarantine_lines(root: &Path, answer: &Value, dataset: &str) -> Vec<Value> {
    objects(answer, dataset, "quarantine")
        .iter()
        .flat_map(|o| {
            let text =
                std::fs::read_to_string(root.join("quarantine").join(o["key"].as_str().unwrap()))
                    .unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// Files below a folder with their bytes, sorted by path.
pub type Tree = Vec<(String, Vec<u8>)>;

/// Lists every file below `dir` with its bytes, sorted by path.
pub fn tree(dir: &Path) -> Tree {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Asserts that an `adx` run failed and said `needle` on standard error.
pub fn assert_failed_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a failure, got success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(needle),
        "stderr does not say {needle:?}: {stderr}"
    );
}

/// Every curated and quarantine object below `root`, with its bytes.
pub fn outputs(root: &Path) -> (Tree, Tree) {
    (tree(&root.join("curated")), tree(&root.join("quarantine")))
}

/// The generator's format of a manifest's format label (`csv`, `jsonl`, `avro-zstd`, ...).
pub fn format_of(label: &str) -> adx_gen::Format {
    use adx_gen::AvroCodec::*;
    match label {
        "csv" => adx_gen::Format::Csv,
        "jsonl" => adx_gen::Format::JsonLines,
        "json" => adx_gen::Format::JsonArray,
        "avro" => adx_gen::Format::Avro(Null),
        "avro-deflate" => adx_gen::Format::Avro(Deflate),
        "avro-snappy" => adx_gen::Format::Avro(Snappy),
        "avro-zstd" => adx_gen::Format::Avro(Zstd),
        other => panic!("{other}"),
    }
}
