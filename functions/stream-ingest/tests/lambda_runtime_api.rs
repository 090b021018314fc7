//! The deployed binary itself, as Lambda runs it: `stream-ingest` started with the Lambda
//! environment on the embedded default (local store and schema folder, no emulator), polling a
//! local stand-in of the Lambda Runtime API. It is handed an MSK event, whose body the function
//! parses itself (the runtime sees `null`), then an event that is not one, which must come back
//! as an invocation error, not a crash.

use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../../runtime_api_stub.rs"]
mod stub;

const IMPRESSION: &str = r#"{"impression_id":"i-1","event_time":"2026-11-28T05:10:00Z","request_id":"r-1","user_id":"u-1","campaign_id":"c-1","creative_id":"cr-1","site_domain":"news.example.com","ad_format":"BANNER","device_type":"MOBILE","country":"DE","win_price_micros":1200,"currency":"EUR"}"#;

fn msk_event() -> Value {
    let encode = |s: &str| base64_encode(s.as_bytes());
    json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/abc",
        "bootstrapServers": "b-1:9098",
        "records": {"ad_impressions-0": [
            {"topic": "ad_impressions", "partition": 0, "offset": 7, "timestamp": 1795845600000_i64,
             "timestampType": "CREATE_TIME", "key": null, "value": encode(IMPRESSION), "headers": []},
            {"topic": "ad_impressions", "partition": 0, "offset": 8, "timestamp": 1795845600001_i64,
             "timestampType": "CREATE_TIME", "key": null, "value": encode("{\"impression_id\":\"\"}"), "headers": []},
            {"topic": "ad_impressions", "partition": 0, "offset": 9, "timestamp": 1795845600002_i64,
             "timestampType": "CREATE_TIME", "key": null, "value": null, "headers": []}
        ]}
    })
}

/// Standard base64 (the test needs no crate for it).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_lambda_binary_parses_msk_events_itself_and_refuses_a_bad_one() {
    let root = tempfile::tempdir().unwrap();
    let events = vec![
        ("req-1".to_string(), msk_event().to_string()),
        (
            "req-2".to_string(),
            r#"{"records":{"t-0":[{"topic":"t","partition":0,"timestamp":1}]}}"#.to_string(),
        ),
    ];
    let expected = events.len();

    // The Runtime API: the events in turn, then each answer is sent back to the test.
    let api = stub::start("stream-ingest", events);

    let mut function = Command::new(env!("CARGO_BIN_EXE_stream-ingest"))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "stream-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("ADX_STORE_ROOT", root.path())
        .env(
            "ADX_SCHEMA_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas"),
        )
        .env("CURATED_BUCKET", "curated")
        .env("QUARANTINE_BUCKET", "quarantine")
        // Lambda's log-level filter at WARN: the metric documents must carry that level.
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    while got.len() < expected {
        match api.answers.recv_timeout(Duration::from_secs(60)) {
            Ok(answer) => got.push(answer),
            Err(_) => break,
        }
    }
    let _ = function.kill();
    let output = function.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert_eq!(got.len(), expected, "answers {got:?}\n{logs}");

    let (url, body) = &got[0];
    assert!(
        url.ends_with("/invocation/req-1/response"),
        "{url}: {body}\n{logs}"
    );
    let report: Value = serde_json::from_str(body).unwrap();
    let impressions = &report["datasets"]["ad_impressions"];
    assert_eq!(impressions["received"], 2, "{report}");
    assert_eq!(impressions["curated"], 1, "{report}");
    assert_eq!(impressions["quarantined"], 1, "{report}");
    assert_eq!(impressions["tombstones"], 1, "{report}");
    for object in impressions["objects"].as_array().unwrap() {
        let path = root
            .path()
            .join(object["bucket"].as_str().unwrap())
            .join(object["key"].as_str().unwrap());
        assert!(path.is_file(), "{} is not in the store", path.display());
    }

    let emf: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["_aws"].is_object())
        .collect();
    assert!(!emf.is_empty(), "metric documents on stdout\n{logs}");
    assert!(emf.iter().all(|d| d["level"] == "WARN"), "{emf:?}");

    let (url, body) = &got[1];
    assert!(
        url.ends_with("/invocation/req-2/error"),
        "{url}: {body}\n{logs}"
    );
    assert!(
        body.contains("not an MSK event") && body.contains("missing field `offset`"),
        "{body}"
    );
}
