//! The stream path end to end on a real Kafka broker (tansu): topics of several partitions,
//! records of every dataset (good, bad, broken framing, tombstones) published with
//! `adx produce`, and the local event source mapping handing batches to the stream handler.
//! Once committed, the curated tables (read with iceberg-rust's scan) and the quarantine
//! objects hold each produced record exactly once, also when the handler fails in the middle
//! of a batch (its store fails a write) and the batch is retried; `adx consume` on a fresh
//! group (which commits as it goes and at the end) gives the same counts.
//!
//! Run by `infra/test-all.sh`, which installs tansu (`infra/kafka/install.sh`); the test starts
//! and stops its own broker.

mod common;

use adx_core::CachedRegistry;
use adx_core::Catalog;
use adx_core::{ObjectStore, ObjectWriter, StoreError};
use adx_handlers::{Adapters, HandlerConfig, handle_kafka_event, kafka_event::parse_event};
use adx_kafka::Connection;
use adx_kafka::event::EventSource;
use adx_kafka::mapping::{MappingConfig, StartingPosition, StopWhen, run};
use adx_local::{LocalSchemaFolder, LocalStore};
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// A tansu broker in memory on a free port, stopped when dropped.
struct Broker {
    child: Child,
    bootstrap: String,
}

impl Broker {
    fn start() -> Broker {
        let bin = std::env::var_os("ADX_TANSU")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo")
                    });
                home.join("bin/tansu")
            });
        assert!(
            bin.exists(),
            "no tansu at {}: run infra/kafka/install.sh (infra/test-all.sh does)",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tansu did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local store, failing the Nth write operation from when it is armed, once.
struct FailOnce {
    inner: LocalStore,
    countdown: std::sync::Arc<AtomicI64>,
}

impl FailOnce {
    fn tick(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        if self.countdown.fetch_sub(1, Ordering::SeqCst) == 1 {
            return Err(StoreError::Failed {
                operation: "put",
                bucket: bucket.into(),
                key: key.into(),
                message: "injected fault".into(),
            });
        }
        Ok(())
    }
}

struct FailOnceWriter {
    inner: Box<dyn ObjectWriter>,
    countdown: std::sync::Arc<AtomicI64>,
}

impl ObjectWriter for FailOnceWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.write(bytes)
    }
    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        if self.countdown.fetch_sub(1, Ordering::SeqCst) == 1 {
            return Err(StoreError::Failed {
                operation: "finish",
                bucket: String::new(),
                key: String::new(),
                message: "injected fault".into(),
            });
        }
        self.inner.finish()
    }
}

impl ObjectStore for FailOnce {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.inner.get(bucket, key)
    }
    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        self.tick(bucket, key)?;
        Ok(Box::new(FailOnceWriter {
            inner: self.inner.create(bucket, key)?,
            countdown: self.countdown.clone(),
        }))
    }
}

const DATASETS: [(&str, &str); 3] = [
    ("ad_impressions", "json"),
    ("click_conversions", "json"),
    ("bid_requests", "glue"),
];

/// What `adx produce` said it sent, per dataset: (produced, good, bad, tombstones).
type Produced = BTreeMap<String, (u64, u64, u64, u64)>;

fn produce_all(bootstrap: &str, root: &Path) -> Produced {
    let mut produced = Produced::new();
    for (dataset, encoding) in DATASETS {
        let out = adx(
            root,
            &schema_dir(),
            &[
                "produce",
                "--bootstrap-servers",
                bootstrap,
                "--dataset",
                dataset,
                "--encoding",
                encoding,
                "--records",
                "400",
                "--partitions",
                "3",
                "--bad-share",
                "0.1",
                "--framing-bad-share",
                "0.05",
                "--tombstone-share",
                "0.02",
                "--arrival",
                "2026-11-28T06:00:00Z",
                "--schema-dir",
                schema_dir().to_str().unwrap(),
                "--quiet",
            ],
        );
        assert!(
            out.status.success(),
            "adx produce failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        let holds = &answer["holds"];
        assert_eq!(holds["records"]["duplicates"], 0, "{answer}");
        produced.insert(
            dataset.to_string(),
            (
                answer["produced"].as_u64().unwrap(),
                holds["records"]["good"].as_u64().unwrap(),
                holds["records"]["bad"].as_u64().unwrap(),
                holds["tombstones"].as_u64().unwrap(),
            ),
        );
    }
    produced
}

/// How often each (partition, offset) appears.
type Seen = BTreeMap<(i64, i64), u32>;

/// Per dataset: the records curated and quarantined.
type Delivered = BTreeMap<String, (Seen, Seen)>;

/// The (partition, offset) of every row of `dataset`'s table in the local catalog of `root`
/// (none when the dataset has no table).
fn table_rows(root: &Path, dataset: &str) -> Vec<(i64, i64)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let catalog = adx_tables::local::open(root, "curated").await.unwrap();
        let ident = adx_tables::TableIdent::new(adx_tables::local::namespace(), dataset.into());
        use adx_tables::Catalog as _;
        if !catalog.table_exists(&ident).await.unwrap() {
            return Vec::new();
        }
        let columns = ["_source_partition", "_offset"];
        adx_tables::scan::table_rows(&catalog, &ident, Some(&columns), None)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let partition = row["_source_partition"].as_i64();
                assert!(partition.is_some(), "a stream row has its partition");
                (
                    partition.unwrap_or_default(),
                    row["_offset"].as_i64().unwrap(),
                )
            })
            .collect()
    })
}

/// Where each record of the outputs came from: (partition, offset) of every row of the tables
/// and of every quarantine entry, per dataset, with how often it appears.
fn delivered(root: &Path) -> Delivered {
    let mut out = Delivered::new();
    for (dataset, _) in DATASETS {
        for at in table_rows(root, dataset) {
            *out.entry(dataset.to_string())
                .or_default()
                .0
                .entry(at)
                .or_default() += 1;
        }
    }
    for (path, bytes) in tree(&root.join("quarantine")) {
        let dataset = path.split('/').next().unwrap().to_string();
        for line in String::from_utf8(bytes).unwrap().lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let source = &entry["source"];
            let at = (
                source["partition"].as_i64().unwrap(),
                source["offset"].as_i64().unwrap(),
            );
            *out.entry(dataset.clone())
                .or_default()
                .1
                .entry(at)
                .or_default() += 1;
        }
    }
    out
}

fn assert_exactly_once(root: &Path, produced: &Produced) {
    let outputs = delivered(root);
    for (dataset, (sent, good, bad, tombstones)) in produced {
        let (curated, quarantined) = outputs.get(dataset).cloned().unwrap_or_default();
        let twice: Vec<_> = curated
            .iter()
            .chain(quarantined.iter())
            .filter(|(_, n)| **n > 1)
            .collect();
        assert!(
            twice.is_empty(),
            "{dataset}: records written twice: {twice:?}"
        );
        let both: BTreeSet<_> = curated
            .keys()
            .filter(|k| quarantined.contains_key(k))
            .collect();
        assert!(
            both.is_empty(),
            "{dataset}: curated and quarantined: {both:?}"
        );
        assert_eq!(curated.len() as u64, *good, "{dataset}: curated");
        assert_eq!(quarantined.len() as u64, *bad, "{dataset}: quarantined");
        assert_eq!(
            good + bad + tombstones,
            *sent,
            "{dataset}: what was produced"
        );
    }
}

#[test]
#[ignore = "needs tansu: infra/test-all.sh installs it (infra/kafka/install.sh)"]
fn produced_records_reach_curated_and_quarantine_exactly_once_through_the_local_mapping() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let produced = produce_all(&broker.bootstrap, root);

    // The mapping in process, its handler failing once in the middle of the third batch.
    let store_root = root.join("lib");
    let countdown = std::sync::Arc::new(AtomicI64::new(i64::MAX));
    let lookup = |name: &str| match name {
        "CURATED_BUCKET" => Some("curated".to_string()),
        "QUARANTINE_BUCKET" => Some("quarantine".to_string()),
        _ => None,
    };
    let config = HandlerConfig::from_lookup(&lookup).unwrap();
    let adapters = Adapters {
        store: Box::new(FailOnce {
            inner: LocalStore::new(&store_root),
            countdown: countdown.clone(),
        }),
        registry: Box::new(CachedRegistry::new(
            LocalSchemaFolder::new(schema_dir()),
            Duration::from_secs(300),
        )),
        catalog: Catalog::new(),
        aws: None,
    };
    let connection = Connection::plaintext(broker.bootstrap.clone());
    let mapping = MappingConfig {
        topics: DATASETS.iter().map(|(d, _)| d.to_string()).collect(),
        group_id: "e2e-in-process".into(),
        batch_size: 100,
        batching_window: Duration::from_millis(300),
        starting_position: StartingPosition::TrimHorizon,
        source: EventSource {
            arn: "arn:aws:kafka:us-east-1:000000000000:cluster/local/x".into(),
            bootstrap_servers: broker.bootstrap.clone(),
        },
        max_retries: Some(3),
        retry_backoff: Duration::from_millis(100),
        stop: StopWhen {
            idle: Some(Duration::from_secs(4)),
            records: None,
        },
        interrupt: None,
    };
    let mut calls = 0;
    let mut failures = 0;
    let mut handler = |event: &[u8]| -> Result<(), String> {
        calls += 1;
        if calls == 3 {
            countdown.store(3, Ordering::SeqCst); // the third write operation of this attempt
        }
        let event = parse_event(event)?;
        let result = handle_kafka_event(&adapters, &config, &event).map_err(|e| e.to_string());
        if result.is_err() {
            failures += 1;
        }
        result.map(|_| ())
    };
    let report = run(&connection, &mapping, &mut handler).unwrap();
    assert_eq!(failures, 1, "the injected fault failed one attempt");
    assert_eq!(report.failed_attempts, 1);
    let sent: u64 = produced.values().map(|p| p.0).sum();
    assert_eq!(
        report.records, sent,
        "every produced record was handed over once"
    );
    assert!(report.batches >= 12, "batches of at most 100: {report:?}");
    // The committer, as `adx commit` runs it: the tables are made and the batches committed.
    let out = adx(&store_root, &schema_dir(), &["commit"]);
    assert!(
        out.status.success(),
        "adx commit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        committed["commit"]["set_aside"]
            .as_object()
            .is_some_and(|m| m.is_empty()),
        "{committed:#}"
    );
    assert_exactly_once(&store_root, &produced);

    // `adx consume` on a fresh group: the same counts.
    let cli_root = root.join("cli");
    std::fs::create_dir_all(&cli_root).unwrap();
    let out = adx(
        &cli_root,
        &schema_dir(),
        &[
            "consume",
            "--bootstrap-servers",
            &broker.bootstrap,
            "--topics",
            "ad_impressions,click_conversions,bid_requests",
            "--group",
            "e2e-cli",
            "--batch-size",
            "250",
            "--batching-window",
            "0.3",
            "--until-idle",
            "4",
        ],
    );
    assert!(
        out.status.success(),
        "adx consume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["mapping"]["records"], sent, "{answer:#}");
    for (dataset, (_, good, bad, tombstones)) in &produced {
        let d = &answer["datasets"][dataset];
        assert_eq!(
            (
                d["curated"].as_u64(),
                d["quarantined"].as_u64(),
                d["tombstones"].as_u64()
            ),
            (Some(*good), Some(*bad), Some(*tombstones)),
            "{dataset}: {answer:#}"
        );
    }
    assert_exactly_once(&cli_root, &produced);

    // `adx consume` with no stop condition, stopped by Ctrl-C once it has read everything: it
    // commits the tables and prints its summary, with the lag it measured last.
    let ctrl_c_root = root.join("ctrl-c");
    std::fs::create_dir_all(&ctrl_c_root).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args([
            "consume",
            "--bootstrap-servers",
            &broker.bootstrap,
            "--topics",
            "ad_impressions,click_conversions,bid_requests",
            "--group",
            "e2e-ctrl-c",
            "--batch-size",
            "250",
            "--batching-window",
            "0.3",
            "--curated-bucket",
            "curated",
            "--quarantine-bucket",
            "quarantine",
        ])
        .env("ADX_STORE_ROOT", &ctrl_c_root)
        .env("ADX_SCHEMA_DIR", schema_dir())
        .env_remove("CURATED_BUCKET")
        .env_remove("QUARANTINE_BUCKET")
        .env_remove("MAX_FUTURE_SKEW_SECONDS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start adx consume");
    // Everything is read once the files it wrote stop changing for three seconds.
    let files = |dir: &Path| -> usize {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() { count(&path) } else { 1 }
                    })
                    .sum()
            })
        }
        count(dir)
    };
    let started = Instant::now();
    let (mut seen, mut stable_since) = (0, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = files(&ctrl_c_root);
        if now != seen {
            (seen, stable_since) = (now, Instant::now());
        }
        if seen > 0 && stable_since.elapsed() >= Duration::from_secs(3) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "adx consume wrote nothing"
        );
    }
    // SAFETY: signalling our own child process.
    let sent_signal = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent_signal, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "adx consume after Ctrl-C: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no summary after Ctrl-C ({e}): {}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(answer["mapping"]["interrupted"], true, "{answer:#}");
    assert_eq!(answer["mapping"]["records"], sent, "{answer:#}");
    assert_eq!(answer["mapping"]["lag"], 0, "{answer:#}");
    assert_exactly_once(&ctrl_c_root, &produced);
}
