//! The deployed committer on the emulators: the `table-commit` binary, as Lambda runs it
//! (polling a local stand-in of the Runtime API, handed a scheduled event), with the curated
//! bucket on LocalStack and the Glue Schema Registry and Data Catalog on moto. Landing objects
//! are ingested by the core with the S3 and Glue adapters (data files and pending manifests in
//! S3); each invocation makes or evolves the table in Glue and commits. A reader of the Glue
//! table (iceberg-rust's own scan, files read from S3) then sees every good record exactly
//! once; a redelivered object changes nothing; a v1 -> v2 contract change (a new optional
//! field) evolves the table, and the rows written before read the new column as null.
//!
//! Run by `infra/test-all.sh`, which starts the emulators; alone:
//! `infra/local/start.sh && source infra/local/env.sh && cargo test -p table-commit -- --ignored`.

use adx_aws::doctor::Verdict;
use adx_aws::glue_admin::{GlueAdmin, PushOutcome};
use adx_aws::{AwsContext, AwsSettings, GlueRegistry, S3Store};
use adx_core::{
    CachedRegistry, Catalog as Contracts, IngestConfig, ObjectSource, Pin, Ports, SchemaRegistry,
    WriterLimits, ingest_object,
};
use adx_core::{Dataset, RegisteredSchema};
use adx_tables::aws::{AwsCommitter, CommitterSettings};
use adx_tables::glue::{GlueSettings, open};
use adx_tables::{Catalog, TableIdent, namespace_of};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[path = "../../runtime_api_stub.rs"]
mod stub;

const V1: &str = include_str!("../../../schemas/click_conversions.avsc");
const HEADER: &str = "event_id,event_type,event_time,user_id,campaign_id,impression_id,click_id,conversion_type,revenue_micros,currency";
const ARRIVAL_MS: i64 = 1_795_845_600_000;
const SCHEDULED: &str = r#"{"version":"0","id":"5f1c","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-28T06:01:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/adx-dev-table-commit"],"detail":{}}"#;

/// The contract with one more field after `currency`.
fn with_field(field: &str) -> String {
    let anchor = r#"{"name": "currency""#;
    let at = V1.find(anchor).expect("the currency field");
    let end = at + V1[at..].find('}').expect("its end") + 1;
    format!("{}, {field}{}", &V1[..end], &V1[end..])
}

struct World {
    context: AwsContext,
    landing: String,
    curated: String,
    quarantine: String,
    registry: String,
    database: String,
}

impl World {
    fn new() -> World {
        for name in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE"] {
            assert!(
                std::env::var(name).is_ok_and(|v| !v.is_empty()),
                "{name} is not set: this test needs LocalStack and moto (infra/local/start.sh, \
                 then `source infra/local/env.sh`; infra/test-all.sh does both)"
            );
        }
        let context = AwsContext::load(&AwsSettings::from_env().unwrap()).unwrap();
        let tag = format!("{}-{}", std::process::id(), ARRIVAL_MS % 1000);
        let world = World {
            landing: format!("it-tc-landing-{tag}"),
            curated: format!("it-tc-curated-{tag}"),
            quarantine: format!("it-tc-quarantine-{tag}"),
            registry: format!("it-tc-{tag}"),
            database: format!("it_tc_{}", std::process::id()),
            context,
        };
        for bucket in [&world.landing, &world.curated, &world.quarantine] {
            world
                .context
                .block_on(world.context.s3().create_bucket().bucket(bucket).send())
                .unwrap();
        }
        let database = aws_sdk_glue::types::DatabaseInput::builder()
            .name(&world.database)
            .build()
            .unwrap();
        world
            .context
            .block_on(
                world
                    .context
                    .glue()
                    .create_database()
                    .database_input(database)
                    .send(),
            )
            .unwrap();
        GlueAdmin::new(&world.context, &world.registry)
            .ensure_registry()
            .unwrap();
        world
    }

    fn push(&self, definition: &str) {
        let outcome = GlueAdmin::new(&self.context, &self.registry)
            .push("click_conversions", definition)
            .unwrap();
        assert!(!matches!(outcome, PushOutcome::Refused(_)), "{outcome:?}");
    }

    /// Puts `csv` into the landing bucket as `name` and ingests it with the S3 and Glue
    /// adapters, as the file-ingest function does; returns the records curated.
    fn ingest(&self, name: &str, csv: &str) -> u64 {
        let key = format!("click_conversions/{name}.csv");
        self.context
            .block_on(
                self.context
                    .s3()
                    .put_object()
                    .bucket(&self.landing)
                    .key(&key)
                    .body(csv.as_bytes().to_vec().into())
                    .send(),
            )
            .unwrap();
        let store = S3Store::new(&self.context, 8 << 20);
        let registry = CachedRegistry::new(
            GlueRegistry::new(&self.context, &self.registry),
            Duration::from_secs(0),
        );
        let contracts = Contracts::new();
        let ports = Ports {
            store: &store,
            registry: &registry as &dyn SchemaRegistry,
            catalog: &contracts,
        };
        let config = IngestConfig {
            curated_bucket: self.curated.clone(),
            quarantine_bucket: self.quarantine.clone(),
            max_future_skew_ms: 300_000,
            limits: WriterLimits::default(),
            max_record_bytes: 1 << 20,
            max_inflated_bytes: 1 << 30,
            encode_thread: false,
        };
        let source = ObjectSource {
            bucket: self.landing.clone(),
            key,
            version: None,
            pin: Pin::Latest,
            arrival_ms: ARRIVAL_MS,
            size: Some(csv.len() as u64),
        };
        let (_, report) = ingest_object(ports, &config, &source).unwrap();
        report.curated
    }

    /// One invocation of the `table-commit` binary on a scheduled event, taking the manifests
    /// written at least `settle_seconds` before: its answer.
    fn invoke(&self, request: &str, settle_seconds: u64) -> Value {
        let api = stub::start(
            "table-commit",
            vec![(request.to_string(), SCHEDULED.to_string())],
        );
        let mut function = Command::new(env!("CARGO_BIN_EXE_table-commit"))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "table-commit")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("CURATED_BUCKET", &self.curated)
            .env("REGISTRY_NAME", &self.registry)
            .env("TABLE_DATABASE", &self.database)
            .env("PENDING_SETTLE_SECONDS", settle_seconds.to_string())
            .env_remove("TABLE_OPTIMIZER_ROLE_ARN")
            // Lambda's log-level filter at WARN: the metrics must still be written, at WARN.
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let answer = api.answers.recv_timeout(Duration::from_secs(120));
        let _ = function.kill();
        let output = function.wait_with_output().unwrap();
        let logs = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let (url, body) = answer.unwrap_or_else(|_| panic!("no answer from the function\n{logs}"));
        assert!(
            url.ends_with(&format!("/invocation/{request}/response")),
            "{url}: {body}\n{logs}"
        );
        let answer: Value = serde_json::from_str(&body).unwrap();
        // The run's metrics, in embedded metric format, on stdout.
        let emf: Value = String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .filter(|v| v["_aws"].is_object())
            })
            .unwrap_or_else(|| panic!("no metrics document\n{logs}"));
        let records: u64 = answer["commit"]["tables"].as_object().map_or(0, |t| {
            t.values().filter_map(|t| t["records"].as_u64()).sum()
        });
        assert_eq!(emf["RecordsCommitted"], records, "{emf}");
        assert_eq!(emf["level"], "WARN", "{emf}");
        answer
    }

    /// The doctor's finding on the click_conversions table, checked against `contract`.
    fn doctor(&self, contract: &str) -> (Verdict, String) {
        let committer = AwsCommitter::new(CommitterSettings {
            curated_bucket: self.curated.clone(),
            registry_name: self.registry.clone(),
            database: self.database.clone(),
            optimizer_role: None,
            settle: adx_tables::aws::DEFAULT_SETTLE,
        })
        .unwrap();
        let dataset = Dataset::from_registered(&RegisteredSchema {
            name: "click_conversions".into(),
            version_id: String::new(),
            version_number: 1,
            data_format: "AVRO".into(),
            definition: contract.to_string(),
        })
        .unwrap();
        let findings = committer.examine_tables(&[Arc::new(dataset)], ARRIVAL_MS, 600_000);
        assert_eq!(findings.len(), 1);
        (findings[0].verdict, findings[0].detail.clone())
    }

    /// `(event_id, channel)` of every row of the table, sorted (channel null when the table
    /// has no such column yet).
    fn rows(&self) -> (Vec<(String, Option<String>)>, usize) {
        let settings = GlueSettings {
            warehouse: format!("s3://{}", self.curated),
            glue_endpoint: std::env::var("AWS_ENDPOINT_URL_GLUE").ok(),
            s3_endpoint: std::env::var("AWS_ENDPOINT_URL_S3").ok(),
            region: None,
        };
        let ident = TableIdent::new(namespace_of(&self.database), "click_conversions".into());
        self.context.block_on(async {
            let catalog = open(&settings).await.unwrap();
            let table = catalog.load_table(&ident).await.unwrap();
            let snapshots = table.metadata().snapshots().count();
            let has_channel = table
                .metadata()
                .current_schema()
                .field_by_name("channel")
                .is_some();
            let columns: &[&str] = if has_channel {
                &["event_id", "channel"]
            } else {
                &["event_id"]
            };
            let mut rows: Vec<(String, Option<String>)> =
                adx_tables::scan::table_rows(&catalog, &ident, Some(columns), None)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|row| {
                        (
                            row["event_id"].as_str().unwrap_or_default().to_string(),
                            row.get("channel")
                                .and_then(|c| c.as_str())
                                .map(str::to_string),
                        )
                    })
                    .collect();
            rows.sort();
            (rows, snapshots)
        })
    }
}

#[test]
#[ignore = "needs LocalStack and moto: infra/local/start.sh, then source infra/local/env.sh"]
fn the_committer_makes_commits_and_evolves_glue_tables_exactly_once() {
    let world = World::new();
    world.push(V1);
    let t = "2026-11-28T05:59:00Z";
    let first = format!(
        "{HEADER}\ne-1,CLICK,{t},,c,,,,,\ne-2,CLICK,{t},,c,,,,,\ne-bad,CLICK,not-a-time,,c,,,,,\n"
    );
    assert_eq!(world.ingest("first", &first), 2);

    // Before the first run: no table, which the doctor reports.
    let (verdict, detail) = world.doctor(V1);
    assert_eq!(verdict, Verdict::Fail, "{detail}");
    assert!(detail.contains("no table"), "{detail}");

    // A run that takes only manifests written an hour before (S3's LastModified): the new one
    // waits for a later run, and nothing else happens.
    let answer = world.invoke("run-0", 3600);
    assert_eq!(answer["unsettled"], 1, "{answer}");
    assert_eq!(
        answer["commit"]["tables"],
        serde_json::json!({}),
        "{answer}"
    );
    assert_eq!(answer["synced"], serde_json::json!({}), "{answer}");

    // The first run makes the table in Glue and commits the two good records.
    let answer = world.invoke("run-1", 0);
    assert_eq!(answer["synced"]["click_conversions"], "created", "{answer}");
    let table = &answer["commit"]["tables"]["click_conversions"];
    assert_eq!(
        (table["committed"].as_u64(), table["records"].as_u64()),
        (Some(1), Some(2)),
        "{answer}"
    );
    let (rows, snapshots) = world.rows();
    assert_eq!(
        rows,
        vec![("e-1".to_string(), None), ("e-2".to_string(), None)]
    );
    assert_eq!(snapshots, 1);
    let (verdict, detail) = world.doctor(V1);
    assert_eq!(verdict, Verdict::Ok, "{detail}");
    assert!(detail.contains("2 records"), "{detail}");

    // The same object delivered again: its manifest is dropped, the table does not change.
    assert_eq!(world.ingest("first", &first), 2);
    let answer = world.invoke("run-2", 0);
    let table = &answer["commit"]["tables"]["click_conversions"];
    assert_eq!(
        (
            table["committed"].as_u64(),
            table["already_committed"].as_u64()
        ),
        (Some(0), Some(1)),
        "{answer}"
    );
    let (again, snapshots) = world.rows();
    assert_eq!(again, rows, "every record exactly once");
    assert_eq!(snapshots, 1, "no second snapshot");

    // v2: a new optional field (the next column id). The run evolves the table before it
    // commits the file that holds the column; the rows written before read it as null.
    world.push(&with_field(
        r#"{"name": "channel", "field-id": 16, "type": ["null", "string"], "default": null}"#,
    ));
    let second =
        format!("{HEADER},channel\ne-3,CLICK,{t},,c,,,,,,search\ne-4,CLICK,{t},,c,,,,,,\n");
    assert_eq!(world.ingest("second", &second), 2);
    let answer = world.invoke("run-3", 0);
    assert_eq!(
        answer["synced"]["click_conversions"], "evolved: 1 new columns",
        "{answer}"
    );
    assert_eq!(
        answer["commit"]["tables"]["click_conversions"]["records"], 2,
        "{answer}"
    );
    let (rows, snapshots) = world.rows();
    assert_eq!(
        rows,
        vec![
            ("e-1".to_string(), None),
            ("e-2".to_string(), None),
            ("e-3".to_string(), Some("search".to_string())),
            ("e-4".to_string(), None),
        ]
    );
    assert_eq!(snapshots, 2);
    // Nothing is left pending.
    let left = world
        .context
        .block_on(
            world
                .context
                .s3()
                .list_objects_v2()
                .bucket(&world.curated)
                .prefix("_pending/")
                .send(),
        )
        .unwrap();
    assert_eq!(left.key_count(), Some(0), "{left:?}");
}
