//! The deployed binary itself, as Lambda runs it: `file-ingest` started with the Lambda
//! environment, polling a local stand-in of the Lambda Runtime API, which hands it one S3
//! event; the function reads the object from LocalStack and its schema from moto (the S3 and
//! Glue adapters, built at start-up outside the handler) and posts its answer back.
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

use adx_aws::glue_admin::{GlueAdmin, PushOutcome};
use adx_aws::{AwsContext, AwsSettings};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../../runtime_api_stub.rs"]
mod stub;

const LINE: &str = r#"{"event_id":"e-1","event_type":"CLICK","event_time":"2026-11-28T05:10:00Z","user_id":"u-1","campaign_id":"c-1","impression_id":"i-1","click_id":"k-1"}"#;

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn the_lambda_binary_handles_an_s3_event_through_the_runtime_api() {
    for name in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE"] {
        assert!(std::env::var(name).is_ok(), "{name}: run infra/test-all.sh");
    }
    let tag = std::process::id();
    let (landing, curated, quarantine, registry) = (
        format!("it-lambda-landing-{tag}"),
        format!("it-lambda-curated-{tag}"),
        format!("it-lambda-quarantine-{tag}"),
        format!("it-lambda-{tag}"),
    );
    let aws = AwsContext::load(&AwsSettings::from_env().unwrap()).unwrap();
    for bucket in [&landing, &curated, &quarantine] {
        aws.block_on(aws.s3().create_bucket().bucket(bucket).send())
            .unwrap();
    }
    let admin = GlueAdmin::new(&aws, &registry);
    admin.ensure_registry().unwrap();
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/click_conversions.avsc"
    ))
    .unwrap();
    assert!(matches!(
        admin.push("click_conversions", &schema).unwrap(),
        PushOutcome::Created { .. }
    ));
    let key = "click_conversions/lambda drop.jsonl";
    let body = format!("{LINE}\n{{\"event_id\":\"\"}}\n");
    let put = aws
        .block_on(
            aws.s3()
                .put_object()
                .bucket(&landing)
                .key(key)
                .body(ByteStream::from(body.clone().into_bytes()))
                .send(),
        )
        .unwrap();
    let etag = put.e_tag().unwrap().trim_matches('"').to_string();
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T06:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:test"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "landing",
               "bucket": {"name": landing, "arn": format!("arn:aws:s3:::{landing}")},
               "object": {"key": "click_conversions/lambda+drop.jsonl", "size": body.len(), "eTag": etag, "sequencer": "0A"}}
    }]});

    // The Runtime API: one invocation, then the answer is sent back to the test.
    let api = stub::start("file-ingest", vec![("req-1".into(), event.to_string())]);

    let mut function = Command::new(env!("CARGO_BIN_EXE_file-ingest"))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "file-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("CURATED_BUCKET", &curated)
        .env("QUARANTINE_BUCKET", &quarantine)
        .env("REGISTRY_NAME", &registry)
        .env_remove("ADX_STORE_ROOT")
        .env_remove("ADX_SCHEMA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answer = api.answers.recv_timeout(Duration::from_secs(60));
    let _ = function.kill();
    let output = function.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    let (url, body) = answer.unwrap_or_else(|_| panic!("no answer from the function: {logs}"));
    assert!(
        url.ends_with("/invocation/req-1/response"),
        "{url}: {body}\n{logs}"
    );
    let report: Value = serde_json::from_str(&body).unwrap();
    let clicks = &report["datasets"]["click_conversions"];
    assert_eq!(clicks["received"], 2, "{report}");
    assert_eq!(clicks["curated"], 1, "{report}");
    assert_eq!(clicks["quarantined"], 1, "{report}");
    // The invocation's metrics in embedded metric format, and its summary line, on stdout.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let emf = lines
        .iter()
        .find(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "AdvertiseX/Ingestion")
        .unwrap_or_else(|| panic!("no EMF document: {stdout}"));
    assert_eq!(emf["Function"], "file-ingest");
    assert_eq!(emf["Dataset"], "click_conversions");
    assert_eq!(
        (emf["Received"].clone(), emf["Quarantined"].clone()),
        (json!(2), json!(1))
    );
    assert!(
        emf["EventTimeLagMs"]
            .as_i64()
            .is_some_and(|lag| lag == 50 * 60 * 1000),
        "{emf}"
    );
    let summary = lines
        .iter()
        .find(|l| l["message"] == "invocation done")
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    assert_eq!(summary["totals"]["curated"], 1);
    for object in clicks["objects"].as_array().unwrap() {
        let bucket = object["bucket"].as_str().unwrap();
        let key = object["key"].as_str().unwrap();
        aws.block_on(aws.s3().head_object().bucket(bucket).key(key).send())
            .unwrap_or_else(|e| panic!("s3://{bucket}/{key} is not on S3: {e:?}"));
    }
    let _ = aws.block_on(
        aws.glue()
            .delete_registry()
            .registry_id(
                aws_sdk_glue::types::RegistryId::builder()
                    .registry_name(&registry)
                    .build(),
            )
            .send(),
    );
}
