//! The Glue side on moto and LocalStack: `adx schemas push` (create, unchanged, a compatible
//! version, a breaking change refused), the stream handler on Glue-framed Avro whose schemas
//! were pushed (an unknown version id goes to quarantine), and `adx doctor` (buckets, registry
//! and schemas on the emulators, the MSK cluster from recorded MSK answers).
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

mod common;

use adx_aws::glue_admin::GlueAdmin;
use common::aws::{World, context, get};
use common::*;
use serde_json::Value;
use std::path::Path;

const RECORDS: usize = 400;

fn stdout(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn schemas_push_creates_then_registers_compatible_changes_and_refuses_breaking_ones() {
    let context = context();
    let world = World::new(&context, "push");
    let first = world.push_schemas();
    for name in ["ad_impressions", "bid_requests", "click_conversions"] {
        assert!(
            first.contains(&format!("{}/{name}: created, version 1", world.registry)),
            "{first}"
        );
    }
    let again = world.push_schemas();
    assert_eq!(again.matches("unchanged (version 1)").count(), 3, "{again}");

    // A copy of schemas/ with a compatible change (a field with a default) to one schema.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let file = dir.path().join("click_conversions.avsc");
    let mut schema: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    schema["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!(
            {"name": "attribution_model", "type": "string", "default": "last_click"}
        ));
    std::fs::write(&file, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let out = world.adx(&["schemas", "push", "--dir", dir_arg]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("click_conversions: registered version 2"),
        "{}",
        stdout(&out)
    );

    // A field without a default breaks BACKWARD compatibility: refused, nothing registered.
    schema["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!(
            {"name": "channel", "type": "string"}
        ));
    std::fs::write(&file, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
    let out = world.adx(&["schemas", "push", "--dir", dir_arg]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("click_conversions: REFUSED: breaks BACKWARD compatibility with version 2")
            && text.contains("channel"),
        "{text}"
    );
    let latest = GlueAdmin::new(&context, &world.registry)
        .latest("click_conversions")
        .unwrap()
        .unwrap();
    assert_eq!(latest.version_number, 2);
    assert!(latest.definition.contains("attribution_model"));
    assert!(!latest.definition.contains("channel"));
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn glue_framed_avro_with_pushed_schemas_streams_into_s3() {
    let context = context();
    let world = World::new(&context, "stream");
    world.push_schemas();
    let admin = GlueAdmin::new(&context, &world.registry);
    let mut version_args = Vec::new();
    for name in ["ad_impressions", "bid_requests", "click_conversions"] {
        let latest = admin.latest(name).unwrap().unwrap();
        version_args.push("--version-id".to_string());
        version_args.push(format!("{name}={}", latest.version_id));
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let records = RECORDS.to_string();
    let mut args: Vec<&str> = vec![
        "gen",
        "--out",
        root.to_str().unwrap(),
        "--format",
        "csv",
        "--compression",
        "none",
        "--msk-events",
        root.to_str().unwrap(),
        "--stream-encoding",
        "glue",
        "--stream-encoding",
        "glue-zlib",
        "--records",
        &records,
        "--bad-share",
        "0.1",
        "--duplicate-share",
        "0.05",
        "--framing-bad-share",
        "0.08",
        "--seed",
        "9",
        "--arrival",
        "2026-11-28T06:00:00Z",
        "--schema-dir",
    ];
    let schemas = schema_dir();
    args.push(schemas.to_str().unwrap());
    args.extend(version_args.iter().map(String::as_str));
    let out = world.adx(&args);
    assert!(out.status.success(), "{}", stdout(&out));
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = manifest["msk_events"].as_array().unwrap();
    assert_eq!(events.len(), 6);
    for event in events {
        let dataset = event["dataset"].as_str().unwrap();
        let label = format!("{dataset} {}", event["encoding"]);
        let counts = &event["counts"]["records"];
        let answer = world.invoke("stream-ingest", Path::new(event["path"].as_str().unwrap()));
        let report = &answer["datasets"][dataset];
        assert_eq!(report["curated"], counts["good"], "{label}: {answer}");
        assert_eq!(report["quarantined"], counts["bad"], "{label}: {answer}");
        assert_eq!(
            report["duplicates"], counts["duplicates"],
            "{label}: {answer}"
        );

        let mut rows = 0;
        for object in objects(&answer, dataset, "curated") {
            let path = root.join("part.parquet");
            std::fs::write(
                &path,
                get(&context, &world.curated, object["key"].as_str().unwrap()),
            )
            .unwrap();
            for row in parquet_rows(&path) {
                assert_eq!(row["_source"], dataset, "{label}");
                rows += 1;
            }
        }
        assert_eq!(Some(rows), counts["good"].as_u64(), "{label}");

        let mut messages = String::new();
        for object in objects(&answer, dataset, "quarantine") {
            let bytes = get(&context, &world.quarantine, object["key"].as_str().unwrap());
            messages.push_str(&String::from_utf8(bytes).unwrap());
        }
        assert!(
            messages.contains("unknown schema version id"),
            "{label}: the unknown version id is quarantined with its reason:\n{messages}"
        );
    }
}

/// Recorded MSK answers (DescribeClusterV2, then ListTopics), served on a local port.
fn recorded_msk() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../adx-aws/tests/recorded");
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let file = if request.url().contains("/topics") {
                "msk-list-topics-2.json"
            } else {
                "msk-describe-cluster-v2.json"
            };
            let mut body = std::fs::read_to_string(dir.join(file)).unwrap();
            if file.contains("topics") {
                body = body.replace("__consumer_offsets", "ad_impressions");
            }
            let response = tiny_http::Response::from_string(body).with_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
            );
            let _ = request.respond(response);
        }
    });
    url
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn doctor_prints_what_is_fine_and_what_is_not() {
    let context = context();
    let world = World::new(&context, "doctor");
    let msk = recorded_msk();
    let arn = "arn:aws:kafka:us-east-1:123456789012:cluster/adx-events/7f3c2d1e-0a4b-4c5d-8e9f-112233445566-9";
    let doctor = |world: &World| {
        world.adx_with(
            &["doctor", "--cluster-arn", arn, "--topics", "ad_impressions"],
            &[("AWS_ENDPOINT_URL_KAFKA", msk.as_str())],
        )
    };

    // Before the schemas are pushed: the registry is missing.
    let out = doctor(&world);
    let table = stdout(&out);
    assert!(!out.status.success(), "{table}");
    assert!(
        table.contains("registry") && table.contains("does not exist"),
        "{table}"
    );

    world.push_schemas();
    let out = doctor(&world);
    let table = stdout(&out);
    assert!(out.status.success(), "{table}");
    for row in [
        "bucket landing",
        "bucket curated",
        "bucket quarantine",
        "schema ad_impressions",
        "schema bid_requests",
        "schema click_conversions",
        "msk cluster",
        "topic ad_impressions",
    ] {
        let line = table
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row}: {table}"));
        assert!(line.contains("  ok  "), "{row} is not ok: {table}");
    }
    assert!(table.contains("is ACTIVE"), "{table}");

    // A bucket that is not there fails the doctor, and says which.
    let out = world.adx_with(
        &["doctor", "--cluster-arn", arn, "--topics", "ad_impressions"],
        &[
            ("AWS_ENDPOINT_URL_KAFKA", msk.as_str()),
            ("QUARANTINE_BUCKET", "it-no-such-bucket"),
        ],
    );
    let table = stdout(&out);
    assert!(!out.status.success(), "{table}");
    let line = table
        .lines()
        .find(|l| l.starts_with("bucket quarantine"))
        .unwrap();
    assert!(
        line.contains("FAIL") && line.contains("does not exist"),
        "{table}"
    );
}
