//! Exactly once through the tables, as a property: random impressions (one partition) and clicks
//! (one or two partitions), valid ones and invalid ones that the contract refuses, consumed in batches by a simulated
//! event source mapping whose retries are composed differently from the failed attempt (more
//! or fewer records, other partitions); store faults at random writes of the handler (data
//! files, quarantine, pending manifests) and of the committer (a rewrite, the removal of the
//! manifests after the commit); committer runs at random points, some of them two at once, some
//! raced between their judgement and their commit by a maintenance commit (a new snapshot, as a
//! compaction makes) or by another committer's whole run.
//! Whatever happens, once a last committer run is through, a reader of the table (iceberg-rust's
//! scan) sees every valid record exactly once and nothing else, and the quarantine holds every
//! invalid record exactly once.

use adx_core::{
    ObjectStore, ObjectWriter, StoreError, StreamConfig, StreamRecord, WriterLimits, ingest_batch,
};
use adx_local::LocalStore;
use adx_tables::commit::{CommitReport, commit, read_pending, settle};
use adx_tables::local::{namespace, open};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

mod common;

use common::{ARRIVAL_MS, Contracts, Interpose, Interposer, SCHEMA_DIR, ingest_config, table_keys};

/// The first offset of every partition.
const FIRST_OFFSET: i64 = 500;

/// A local store whose armed write operation (`create`, `put`, `delete`) fails, once.
struct FaultyStore {
    inner: LocalStore,
    /// Write operations so far.
    writes: AtomicU64,
    /// The write operation that fails (1-based count); 0: none.
    fail_at: AtomicU64,
}

impl FaultyStore {
    fn arm(&self, after: u64) {
        let now = self.writes.load(Ordering::SeqCst);
        self.fail_at
            .store(if after == 0 { 0 } else { now + after }, Ordering::SeqCst);
    }

    fn write_op(&self, operation: &'static str, bucket: &str, key: &str) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(StoreError::Failed {
                operation,
                bucket: bucket.into(),
                key: key.into(),
                message: "injected".into(),
            });
        }
        Ok(())
    }
}

impl ObjectStore for FaultyStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.inner.get(bucket, key)
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        self.write_op("put", bucket, key)?;
        self.inner.create(bucket, key)
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.write_op("put", bucket, key)?;
        self.inner.put(bucket, key, bytes)
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(bucket, prefix)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.write_op("delete", bucket, key)?;
        self.inner.delete(bucket, key)
    }
}

/// One record of the stream.
#[derive(Debug, Clone)]
struct Rec {
    /// Impressions (topic `ad_impressions`, partition 0) or clicks.
    impression: bool,
    partition: i32,
    offset: i64,
    valid: bool,
    minute: u32,
}

impl Rec {
    fn id(&self) -> String {
        format!("evt-{}-{}", self.partition, self.offset)
    }

    fn topic(&self) -> &'static str {
        if self.impression {
            "ad_impressions"
        } else {
            "click_conversions"
        }
    }

    fn stream_record(&self) -> StreamRecord {
        let time = ARRIVAL_MS - i64::from(self.minute) * 60_000;
        let value = if self.impression {
            let format = if self.valid { "BANNER" } else { "NOT-A-FORMAT" };
            format!(
                r#"{{"impression_id":"{}","event_time":{time},"campaign_id":"c","creative_id":"cr","site_domain":"a.example","ad_format":"{format}","device_type":"MOBILE"}}"#,
                self.id()
            )
        } else {
            let event_type = if self.valid { "CLICK" } else { "NOT-A-TYPE" };
            format!(
                r#"{{"event_id":"{}","event_type":"{event_type}","event_time":{time},"campaign_id":"c-1"}}"#,
                self.id()
            )
        };
        StreamRecord {
            topic: self.topic().into(),
            partition: self.partition,
            offset: self.offset,
            timestamp_ms: ARRIVAL_MS,
            value: Some(value.into_bytes().into()),
            schema_metadata: None,
        }
    }
}

/// What happens at one step of the run.
#[derive(Debug, Clone)]
enum Step {
    /// A batch: up to this many records of each partition from where the mapping stands (a
    /// retry after a failed attempt draws its own sizes: composed differently); a store fault
    /// at this write of the attempt (0: none).
    Batch { sizes: Vec<usize>, fail_at: u64 },
    /// A committer run, failing at this write (0: none), and what races it.
    Commit { fail_at: u64, race: Race },
}

/// What races a committer run.
#[derive(Debug, Clone, Copy)]
enum Race {
    /// Nothing.
    None,
    /// A second committer run at the same time.
    Twice,
    /// A commit in the table between the run's judgement and its commit.
    Between(Interpose),
}

#[derive(Debug, Clone)]
struct Case {
    records: Vec<Vec<Rec>>,
    steps: Vec<Step>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=3)
        .prop_flat_map(|partitions: usize| {
            (
                prop::collection::vec(
                    prop::collection::vec((any::<u8>(), 0u32..120), 1..12),
                    partitions..=partitions,
                ),
                prop::collection::vec(
                    prop_oneof![
                        3 => (prop::collection::vec(0usize..6, partitions..=partitions), 0u64..8)
                            .prop_map(|(sizes, fail_at)| Step::Batch { sizes, fail_at }),
                        1 => (0u64..4, prop_oneof![
                                Just(Race::None),
                                Just(Race::Twice),
                                Just(Race::Between(Interpose::Maintenance)),
                                Just(Race::Between(Interpose::Committer)),
                            ])
                            .prop_map(|(fail_at, race)| Step::Commit { fail_at, race }),
                    ],
                    1..14,
                ),
            )
        })
        .prop_map(|(drafts, steps)| Case {
            records: drafts
                .into_iter()
                .enumerate()
                .map(|(lane, recs)| {
                    recs.into_iter()
                        .enumerate()
                        .map(|(i, (roll, minute))| Rec {
                            // Lane 0: impressions, partition 0; lanes 1 and 2: clicks, 0 and 1.
                            impression: lane == 0,
                            partition: lane.saturating_sub(1) as i32,
                            offset: FIRST_OFFSET + i as i64,
                            valid: roll % 5 != 0,
                            minute,
                        })
                        .collect()
                })
                .collect(),
            steps,
        })
}

fn config() -> StreamConfig {
    StreamConfig {
        ingest: ingest_config(WriterLimits {
            batch_rows: 2,
            part_bytes: 1,
            ..WriterLimits::default()
        }),
        topic_datasets: BTreeMap::new(),
        max_datum_bytes: 1 << 20,
    }
}

/// One committer run over `store`; its report, or the fault that failed it.
async fn commit_run(
    root: &Path,
    store: &FaultyStore,
    catalog: &dyn adx_tables::Catalog,
) -> Result<CommitReport, String> {
    let file_uri = |b: &str, k: &str| format!("file://{}", root.join(b).join(k).display());
    let pending = read_pending(store, "curated").map_err(|e| e.to_string())?;
    let report = commit(catalog, &namespace(), store, pending, &file_uri)
        .await
        .map_err(|e| e.to_string())?;
    settle(store, "curated", &report).map_err(|e| e.to_string())?;
    Ok(report)
}

/// How often each (topic, partition, offset) of the quarantine appears.
fn quarantined(root: &Path) -> BTreeMap<(String, i64, i64), usize> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("quarantine")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                let source = &entry["source"];
                *out.entry((
                    source["topic"].as_str().unwrap().to_string(),
                    source["partition"].as_i64().unwrap(),
                    source["offset"].as_i64().unwrap(),
                ))
                .or_default() += 1;
            }
        }
    }
    out
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let store = FaultyStore {
            inner: LocalStore::new(&root),
            writes: AtomicU64::new(0),
            fail_at: AtomicU64::new(0),
        };
        let contracts = Contracts::of(SCHEMA_DIR);
        let ports = contracts.ports(&store);
        let catalog = open(&root, "curated").await.unwrap();
        let other = open(&root, "curated").await.unwrap();
        contracts
            .sync(&catalog, &root, &["click_conversions", "ad_impressions"])
            .await;
        // Where the mapping stands in each partition (advances when a batch succeeds).
        let mut next = vec![0usize; case.records.len()];
        let mut steps = case.steps.clone();
        // Then batches until every record is handed over, then a last committer run.
        let rest: Vec<Step> = (0..40)
            .map(|_| Step::Batch {
                sizes: vec![4; case.records.len()],
                fail_at: 0,
            })
            .collect();
        steps.extend(rest);
        for step in &steps {
            match step {
                Step::Batch { sizes, fail_at } => {
                    let batch: Vec<StreamRecord> = case
                        .records
                        .iter()
                        .zip(sizes)
                        .zip(&next)
                        .flat_map(|((recs, size), at)| {
                            recs.iter().skip(*at).take(*size).map(Rec::stream_record)
                        })
                        .collect();
                    if batch.is_empty() {
                        continue;
                    }
                    store.arm(*fail_at);
                    let outcome = ingest_batch(ports, &config(), &batch);
                    store.arm(0);
                    if outcome.is_ok() {
                        for (p, (recs, size)) in case.records.iter().zip(sizes).enumerate() {
                            next[p] = (next[p] + size).min(recs.len());
                        }
                    }
                }
                Step::Commit { fail_at, race } => {
                    store.arm(*fail_at);
                    match race {
                        Race::None => {
                            let _ = commit_run(&root, &store, &catalog).await;
                        }
                        Race::Twice => {
                            let (a, b) = tokio::join!(
                                commit_run(&root, &store, &catalog),
                                commit_run(&root, &store, &other)
                            );
                            let _ = (a, b);
                        }
                        Race::Between(what) => {
                            let racing = Interposer::new(&catalog, &other, &root, &store, *what);
                            let _ = commit_run(&root, &store, &racing).await;
                        }
                    }
                    store.arm(0);
                }
            }
        }
        let last = commit_run(&root, &store, &catalog)
            .await
            .map_err(TestCaseError::fail)?;
        prop_assert!(last.set_aside.is_empty(), "set aside: {:?}", last.set_aside);
        prop_assert!(last.waiting.is_empty(), "waiting: {:?}", last.waiting);
        prop_assert!(read_pending(&store, "curated").unwrap().is_empty());
        for (table, key, impression) in [
            ("click_conversions", "event_id", false),
            ("ad_impressions", "impression_id", true),
        ] {
            let want: BTreeMap<String, usize> = case
                .records
                .iter()
                .flatten()
                .filter(|r| r.valid && r.impression == impression)
                .map(|r| (r.id(), 1))
                .collect();
            let got = table_keys(&catalog, table, key).await;
            prop_assert_eq!(got, want, "{}: every valid record exactly once", table);
        }
        let bad: BTreeMap<(String, i64, i64), usize> = case
            .records
            .iter()
            .flatten()
            .filter(|r| !r.valid)
            .map(|r| ((r.topic().to_string(), i64::from(r.partition), r.offset), 1))
            .collect();
        prop_assert_eq!(
            quarantined(&root),
            bad,
            "the quarantine: every invalid record exactly once"
        );
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_record_is_in_the_table_or_the_quarantine_exactly_once(case in case()) {
        run_case(&case)?;
    }
}
