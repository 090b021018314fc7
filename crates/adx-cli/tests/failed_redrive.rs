//! `adx failed list` and `adx failed redrive` on the embedded default: an MSK batch kept by the
//! event source mapping's S3 on-failure destination (the invocation record as the Lambda
//! developer guide shows it, the whole event as an escaped JSON string in `payload`) is listed
//! with its condition and offsets, then redriven through the stream handler: the same curated
//! and quarantine objects as a direct invocation of the batch, byte for byte; a second redrive
//! writes them again, and the tables hold each record once.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const ARRIVAL: &str = "2026-11-28T06:00:00Z";

/// An MSK event of click_conversions (two partitions, some bad records): its path.
fn msk_event(dir: &Path) -> PathBuf {
    let out = adx(
        dir,
        &schema_dir(),
        &[
            "gen",
            "--out",
            dir.join("gen").to_str().unwrap(),
            "--records",
            "200",
            "--dataset",
            "click_conversions",
            "--format",
            "csv",
            "--compression",
            "none",
            "--msk-events",
            dir.join("msk").to_str().unwrap(),
            "--stream-encoding",
            "json",
            "--partitions",
            "2",
            "--bad-share",
            "0.1",
            "--arrival",
            ARRIVAL,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("msk").join("click_conversions-json.json")
}

/// The invocation record the mapping writes to an S3 destination for `event`.
fn failure_record(event: &str) -> String {
    json!({
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:adx-dev-stream-ingest",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-28T06:01:00.021Z",
        "KafkaBatchInfo": {
            "batchSize": 200,
            "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/abc",
            "bootstrapServers": "b-1:9098",
            "payloadSize": event.len(),
            "recordsInfo": {
                "click_conversions-0": {"firstRecordOffset": "0", "lastRecordOffset": "99",
                    "firstRecordTimestamp": "2026-11-28T05:59:00.000Z", "lastRecordTimestamp": "2026-11-28T06:00:00.000Z"},
                "click_conversions-1": {"firstRecordOffset": "0", "lastRecordOffset": "99",
                    "firstRecordTimestamp": "2026-11-28T05:59:00.000Z", "lastRecordTimestamp": "2026-11-28T06:00:00.000Z"}
            }
        },
        "payload": event
    })
    .to_string()
}

/// The outputs below `root` (curated data files and manifests, quarantine), tables' metadata
/// left out.
fn outputs(root: &Path) -> Tree {
    let mut out: Tree = tree(&root.join("curated"))
        .into_iter()
        .filter(|(k, _)| !k.contains("/metadata/"))
        .map(|(k, b)| (format!("curated/{k}"), b))
        .collect();
    out.extend(
        tree(&root.join("quarantine"))
            .into_iter()
            .map(|(k, b)| (format!("quarantine/{k}"), b)),
    );
    out
}

#[test]
fn a_failed_batch_is_listed_and_redriven_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let event_path = msk_event(root);
    let event = std::fs::read_to_string(&event_path).unwrap();

    // What the batch gives when the function handles it directly.
    let direct_root = root.join("direct");
    std::fs::create_dir_all(&direct_root).unwrap();
    let direct = adx(
        &direct_root,
        &schema_dir(),
        &[
            "invoke",
            "stream-ingest",
            "--event",
            event_path.to_str().unwrap(),
        ],
    );
    assert!(
        direct.status.success(),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let direct_report: Value = serde_json::from_slice(&direct.stdout).unwrap();

    // The mapping gave up on it and kept it in the failed-batches bucket.
    let lib = root.join("lib");
    let key = "aws/lambda/7b0c-esm/click_conversions-0/2026-11-28T06.01.00.021Z.json";
    let path = lib.join("failed").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, failure_record(&event)).unwrap();
    std::fs::write(lib.join("failed/aws/lambda/not-a-record.json"), "{}").unwrap();

    let listed = adx(
        &lib,
        &schema_dir(),
        &["failed", "list", "--bucket", "failed"],
    );
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let batches = listed.as_array().unwrap();
    assert_eq!(batches.len(), 2, "{listed:#}");
    let batch = batches.iter().find(|b| b["key"] == key).unwrap();
    assert_eq!(batch["condition"], "RetryAttemptsExhausted");
    assert_eq!(batch["invocations"], 6);
    assert_eq!(batch["records"], 200);
    assert_eq!(batch["redrivable"], true);
    assert_eq!(
        batch["partitions"]["click_conversions-1"]["lastRecordOffset"],
        "99"
    );
    assert!(
        batches.iter().any(|b| b["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a Kafka failure record"))),
        "{listed:#}"
    );

    // Redrive: the broken object is reported, the batch handled as the function would have.
    let redrive = || {
        let out = adx(
            &lib,
            &schema_dir(),
            &[
                "failed",
                "redrive",
                "--bucket",
                "failed",
                "--prefix",
                "aws/lambda/7b0c-esm/",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = redrive();
    let report = &first["redriven"][0]["report"];
    assert_eq!(report["datasets"], direct_report["datasets"], "{first:#}");
    let mine = outputs(&lib);
    let theirs = outputs(&direct_root);
    assert_eq!(
        mine.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        theirs.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    assert!(
        mine == theirs,
        "the same objects, byte for byte, as a direct invocation"
    );
    let curated = report["datasets"]["click_conversions"]["curated"]
        .as_u64()
        .unwrap();
    assert!(
        curated > 0 && report["datasets"]["click_conversions"]["quarantined"].as_u64() > Some(0)
    );

    // Committed; a second redrive changes nothing in the table.
    let commit = |expect_records: u64| {
        let out = adx(&lib, &schema_dir(), &["commit"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["commit"]["tables"]["click_conversions"]["records"], expect_records,
            "{report:#}"
        );
    };
    commit(curated);
    let second = redrive();
    assert_eq!(
        second["redriven"][0]["report"]["datasets"],
        report["datasets"]
    );
    assert!(
        outputs(&lib) == mine,
        "a second redrive writes the same objects"
    );
    commit(0);

    // An object that is not a failure record is reported, the others go on, and the command
    // fails at the end.
    let out = adx(
        &lib,
        &schema_dir(),
        &["failed", "redrive", "--bucket", "failed"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-a-record.json"));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer["redriven"].as_array().map(Vec::len),
        Some(1),
        "{answer:#}"
    );
    assert_eq!(
        answer["failed"].as_array().map(Vec::len),
        Some(1),
        "{answer:#}"
    );
    assert!(outputs(&lib) == mine);

    // With --remove the object goes once handled; a redrive after it has nothing to do.
    let out = adx(
        &lib,
        &schema_dir(),
        &[
            "failed",
            "redrive",
            "--bucket",
            "failed",
            "--prefix",
            "aws/lambda/7b0c-esm/",
            "--remove",
        ],
    );
    assert!(out.status.success());
    assert!(!path.exists());
    let out = adx(
        &lib,
        &schema_dir(),
        &[
            "failed",
            "redrive",
            "--bucket",
            "failed",
            "--prefix",
            "aws/lambda/7b0c-esm/",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to redrive"));
}
