//! `adx failed redrive` on the emulators: an MSK batch's invocation record, as the event source
//! mapping writes it to its S3 on-failure destination, put into a LocalStack bucket; the
//! redrive (S3 and Glue adapters, schemas in moto's registry) writes the batch's curated and
//! quarantine objects to LocalStack, and a second redrive writes the same objects again.
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

mod common;

use common::aws::{World, contents, context, create_bucket, put, unique};
use common::*;
use serde_json::{Value, json};

#[test]
#[ignore = "needs LocalStack and moto: infra/local/start.sh, then source infra/local/env.sh"]
fn a_failed_batch_kept_in_s3_is_redriven_through_the_aws_adapters() {
    let context = context();
    let world = World::new(&context, "failed");
    world.push_schemas();
    let failed = unique("it-failed-batches");
    create_bucket(&context, &failed);

    // An MSK event of ad_impressions (the local schema folder's version ids are not the
    // registry's: JSON values, which carry none).
    let dir = tempfile::tempdir().unwrap();
    let out = adx(
        dir.path(),
        &schema_dir(),
        &[
            "gen",
            "--out",
            dir.path().join("gen").to_str().unwrap(),
            "--records",
            "120",
            "--dataset",
            "ad_impressions",
            "--format",
            "jsonl",
            "--compression",
            "none",
            "--msk-events",
            dir.path().join("msk").to_str().unwrap(),
            "--stream-encoding",
            "json",
            "--partitions",
            "3",
            "--bad-share",
            "0.1",
            "--arrival",
            "2026-11-28T06:00:00Z",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event = std::fs::read_to_string(dir.path().join("msk/ad_impressions-json.json")).unwrap();
    let record = json!({
        "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-28T06:01:00.021Z",
        "KafkaBatchInfo": {"batchSize": 120, "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/c/abc",
                           "bootstrapServers": "b-1:9098", "payloadSize": event.len(), "recordsInfo": {}},
        "payload": event
    });
    put(
        &context,
        &failed,
        "aws/lambda/esm-1/batch.json",
        record.to_string().into_bytes(),
    );

    let redrive = || {
        let out = world.adx(&["failed", "redrive", "--bucket", &failed]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = redrive();
    let report = &first["redriven"][0]["report"]["datasets"]["ad_impressions"];
    assert_eq!(report["received"], 120, "{first:#}");
    assert!(report["curated"].as_u64() > Some(0) && report["quarantined"].as_u64() > Some(0));
    let curated = contents(&context, &world.curated);
    let quarantine = contents(&context, &world.quarantine);
    let parquet = curated
        .iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .count();
    assert!(parquet > 0, "curated objects in LocalStack");
    assert!(
        curated
            .iter()
            .any(|(k, _)| k.starts_with(adx_core::PENDING_PREFIX))
    );
    assert!(!quarantine.is_empty());

    let second = redrive();
    assert_eq!(
        second["redriven"][0]["report"],
        first["redriven"][0]["report"]
    );
    assert_eq!(
        contents(&context, &world.curated),
        curated,
        "the same objects again"
    );
    assert_eq!(contents(&context, &world.quarantine), quarantine);
}
