//! Start-up of the deployed binary: the time from process start to the first event handled,
//! with the AWS SDK clients built, as a cold Lambda sees it.
//!
//! Each iteration starts `file-ingest` against a fresh stand-in of the Lambda Runtime API
//! holding one S3 event, and stops the clock when the function posts its answer. The object
//! store is a local directory, but the schema registry is Glue, so the adapters build the SDK
//! clients (S3, Glue, MSK) and their runtime at start-up; the event's key names no dataset, so
//! handling it needs no AWS call (its one quarantine entry is written locally).
//! `cargo bench -p file-ingest --bench startup`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn header(name: &str, value: &str) -> tiny_http::Header {
    // Names and values here are plain ASCII.
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// Starts the function once and returns the time until its answer arrived.
fn cold_start(store: &std::path::Path) -> Duration {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    let api = server.server_addr().to_string();
    let (answered, answer) = mpsc::channel::<(Instant, String)>();
    let serving = server.clone();
    let thread = std::thread::spawn(move || {
        let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-28T06:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"x"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{},"s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"landing","arn":"arn:aws:s3:::landing"},"object":{"key":"no-dataset.json","size":2,"eTag":"e1","sequencer":"0"}}}]}"#;
        let mut handed_out = false;
        for request in serving.incoming_requests() {
            if request.url().ends_with("/invocation/next") {
                if handed_out {
                    continue; // held until the function is stopped
                }
                handed_out = true;
                let response = tiny_http::Response::from_string(event)
                    .with_header(header("Lambda-Runtime-Aws-Request-Id", "req-1"))
                    .with_header(header("Lambda-Runtime-Deadline-Ms", "4102444800000"))
                    .with_header(header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:file-ingest",
                    ));
                let _ = request.respond(response);
            } else {
                let _ = answered.send((Instant::now(), request.url().to_string()));
                let _ = request.respond(tiny_http::Response::empty(202));
            }
        }
    });
    let started = Instant::now();
    let mut function = Command::new(env!("CARGO_BIN_EXE_file-ingest"))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "file-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("CURATED_BUCKET", "curated")
        .env("QUARANTINE_BUCKET", "quarantine")
        .env("ADX_STORE_ROOT", store)
        .env_remove("ADX_SCHEMA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start file-ingest");
    let (at, url) = answer
        .recv_timeout(Duration::from_secs(30))
        .expect("the function answered");
    assert!(
        url.ends_with("/invocation/req-1/response"),
        "the function did not succeed: {url}"
    );
    let _ = function.kill();
    let _ = function.wait();
    server.unblock();
    let _ = thread.join();
    at - started
}

fn startup(c: &mut Criterion) {
    let store = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("file-ingest");
    group.sample_size(20);
    group.bench_function("process start to first event handled", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| cold_start(store.path())).sum())
    });
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
