//! The Glue adapter against recorded Glue answers: throttling is retried with backoff until an
//! answer comes; an unknown version id is "not found" (bad data), not a fault; a server that
//! keeps failing is a fault.

mod support;

use adx_aws::GlueRegistry;
use adx_core::SchemaRegistry;
use support::{context_at, json, serve};

const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

fn version_answer() -> String {
    serde_json::json!({
        "SchemaVersionId": "6d3a7c1e-8a3b-4f7e-9a4d-2f1b3c4d5e6f",
        "SchemaDefinition": "{\"type\":\"record\",\"name\":\"clicks\",\"fields\":[]}",
        "DataFormat": "AVRO",
        "SchemaArn": "arn:aws:glue:us-east-1:123456789012:schema/advertisex/click_conversions",
        "VersionNumber": 3,
        "Status": "AVAILABLE",
        "CreatedTime": "2026-11-01T10:00:00.000Z"
    })
    .to_string()
}

#[test]
fn throttling_is_retried_with_backoff_until_the_answer_comes() {
    let replay = serve(vec![
        json(400, THROTTLED),
        json(400, THROTTLED),
        json(200, &version_answer()),
    ]);
    let context = context_at(&replay.url);
    let registry = GlueRegistry::new(&context, "advertisex");
    let schema = registry
        .latest("click_conversions")
        .expect("the third attempt answers")
        .expect("the schema exists");
    assert_eq!(schema.name, "click_conversions");
    assert_eq!(schema.version_number, 3);
    assert_eq!(schema.version_id, "6d3a7c1e-8a3b-4f7e-9a4d-2f1b3c4d5e6f");
    let seen = replay.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        3,
        "two throttled attempts, then the answer: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|s| s.target.as_deref() == Some("AWSGlue.GetSchemaVersion"))
    );
}

#[test]
fn a_version_id_glue_does_not_know_is_not_found() {
    let replay = serve(vec![json(
        400,
        r#"{"__type":"EntityNotFoundException","message":"Schema version is not found."}"#,
    )]);
    let context = context_at(&replay.url);
    let registry = GlueRegistry::new(&context, "advertisex");
    let found = registry
        .by_version_id("00000000-0000-0000-0000-000000000000")
        .expect("not a fault");
    assert!(found.is_none());
    assert_eq!(replay.seen.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn by_version_id_takes_the_schema_name_from_the_arn() {
    let replay = serve(vec![json(200, &version_answer())]);
    let context = context_at(&replay.url);
    let registry = GlueRegistry::new(&context, "advertisex");
    let schema = registry
        .by_version_id("6d3a7c1e-8a3b-4f7e-9a4d-2f1b3c4d5e6f")
        .expect("answered")
        .expect("known");
    assert_eq!(schema.name, "click_conversions");
    assert_eq!(schema.data_format, "AVRO");
}

#[test]
fn a_registry_that_keeps_failing_is_a_fault_after_the_attempts() {
    let replay = serve(vec![json(
        500,
        r#"{"__type":"InternalServiceException","message":"boom"}"#,
    )]);
    let context = context_at(&replay.url);
    let registry = GlueRegistry::new(&context, "advertisex");
    let error = registry
        .latest("bid_requests")
        .expect_err("a fault, so that Lambda retries the invocation");
    assert!(
        error.message.contains("InternalServiceException"),
        "{error}"
    );
    assert_eq!(
        replay.seen.lock().unwrap().len(),
        5,
        "the default five attempts"
    );
}
