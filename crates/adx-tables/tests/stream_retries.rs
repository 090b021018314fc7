//! A Kafka batch that fails part-way and is retried split in two halves (the event source
//! mapping's "split batch on error"), through the table: whatever the failed attempt left (data
//! files, perhaps its pending manifest, committed or not before the retries), a reader of the
//! table sees every valid record exactly once. The batch holds six clicks of one hour in
//! partition 0 (small parts, so the hour rolls into several), one in partition 1, and an
//! impression (another dataset, finished first: failing at a click's write leaves the
//! impression's manifest of the failed attempt behind).

use adx_core::{
    ObjectStore, ObjectWriter, StoreError, StreamConfig, StreamRecord, WriterLimits, ingest_batch,
};
use adx_local::LocalStore;
use adx_tables::local::open;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

mod common;

use common::{ARRIVAL_MS, Contracts, SCHEMA_DIR, commit_all, ingest_config, table_keys};

/// A local store whose `fail_at`-th object write (1-based) fails; 0 never fails.
struct FailingStore {
    inner: LocalStore,
    writes: AtomicU64,
    fail_at: AtomicU64,
}

impl ObjectStore for FailingStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.inner.get(bucket, key)
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(StoreError::Failed {
                operation: "put",
                bucket: bucket.into(),
                key: key.into(),
                message: "injected".into(),
            });
        }
        self.inner.create(bucket, key)
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(bucket, prefix)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.inner.delete(bucket, key)
    }
}

fn click(id: u32) -> String {
    format!(
        r#"{{"event_id":"evt-{id:06}","event_type":"CLICK","event_time":{},"campaign_id":"c-1"}}"#,
        ARRIVAL_MS - 60_000
    )
}

fn record(partition: i32, offset: i64, id: u32) -> StreamRecord {
    StreamRecord {
        topic: "click_conversions".into(),
        partition,
        offset,
        timestamp_ms: ARRIVAL_MS,
        value: Some(click(id).into_bytes().into()),
        schema_metadata: None,
    }
}

fn impression() -> StreamRecord {
    let value = format!(
        r#"{{"impression_id":"imp-1","event_time":{},"campaign_id":"c","creative_id":"cr","site_domain":"a.example","ad_format":"BANNER","device_type":"MOBILE"}}"#,
        ARRIVAL_MS - 60_000
    );
    StreamRecord {
        topic: "ad_impressions".into(),
        partition: 0,
        offset: 77,
        timestamp_ms: ARRIVAL_MS,
        value: Some(value.into_bytes().into()),
        schema_metadata: None,
    }
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

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_retried_in_halves_is_in_the_table_exactly_once() {
    let batch: Vec<StreamRecord> = (0..6)
        .map(|i| record(0, 1000 + i64::from(i), i))
        .chain([record(1, 1000, 6), impression()])
        .collect();
    let (first, rest) = (
        vec![
            batch[0].clone(),
            batch[1].clone(),
            batch[2].clone(),
            batch[6].clone(),
            batch[7].clone(),
        ],
        batch[3..6].to_vec(),
    );
    let want: BTreeMap<String, usize> = (0..7).map(|i| (format!("evt-{i:06}"), 1)).collect();
    // How many writes the whole batch makes, fault-free.
    let writes = {
        let dir = tempfile::tempdir().unwrap();
        let store = FailingStore {
            inner: LocalStore::new(dir.path()),
            writes: AtomicU64::new(0),
            fail_at: AtomicU64::new(0),
        };
        let contracts = Contracts::of(SCHEMA_DIR);
        ingest_batch(contracts.ports(&store), &config(), &batch).unwrap();
        store.writes.load(Ordering::SeqCst)
    };
    assert!(writes >= 5, "parts and two manifests at least: {writes}");
    // Fail at every write of the batch; commit before the retries, or only after them.
    for fail_at in 1..=writes {
        for commit_between in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(dir.path()).unwrap();
            let store = FailingStore {
                inner: LocalStore::new(&root),
                writes: AtomicU64::new(0),
                fail_at: AtomicU64::new(fail_at),
            };
            let contracts = Contracts::of(SCHEMA_DIR);
            let ports = contracts.ports(&store);
            let catalog = open(&root, "curated").await.unwrap();
            contracts
                .sync(&catalog, &root, &["click_conversions", "ad_impressions"])
                .await;

            assert!(
                ingest_batch(ports, &config(), &batch).is_err(),
                "write {fail_at}"
            );
            if commit_between {
                commit_all(&root, &store, &catalog).await;
            }
            ingest_batch(ports, &config(), &first).unwrap();
            ingest_batch(ports, &config(), &rest).unwrap();
            commit_all(&root, &store, &catalog).await;
            let case = format!("failing at write {fail_at}, committing between: {commit_between}");
            assert_eq!(
                table_keys(&catalog, "click_conversions", "event_id").await,
                want,
                "{case}"
            );
            assert_eq!(
                table_keys(&catalog, "ad_impressions", "impression_id").await,
                BTreeMap::from([("imp-1".to_string(), 1)]),
                "{case}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_larger_retry_over_committed_offsets_is_rewritten_without_them() {
    // A first attempt over part of the offsets (failing at each of its writes, or not), a
    // commit, then a retry composed differently: more records, over the same first offsets.
    // The committer takes the retry's files rewritten without the rows the table holds.
    let batch: Vec<StreamRecord> = (0..6)
        .map(|i| record(0, 1000 + i64::from(i), i))
        .chain([record(1, 1000, 6), impression()])
        .collect();
    let first = vec![batch[0].clone(), batch[1].clone(), batch[7].clone()];
    let want: BTreeMap<String, usize> = (0..7).map(|i| (format!("evt-{i:06}"), 1)).collect();
    for fail_at in 0..=4 {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let store = FailingStore {
            inner: LocalStore::new(&root),
            writes: AtomicU64::new(0),
            fail_at: AtomicU64::new(fail_at),
        };
        let contracts = Contracts::of(SCHEMA_DIR);
        let ports = contracts.ports(&store);
        let catalog = open(&root, "curated").await.unwrap();
        contracts
            .sync(&catalog, &root, &["click_conversions", "ad_impressions"])
            .await;
        let first_ok = ingest_batch(ports, &config(), &first).is_ok();
        assert_eq!(first_ok, fail_at == 0, "failing at write {fail_at}");
        let between = commit_all(&root, &store, &catalog).await;
        ingest_batch(ports, &config(), &batch).unwrap();
        let after = commit_all(&root, &store, &catalog).await;
        let case = format!("failing at write {fail_at}");
        assert_eq!(
            table_keys(&catalog, "click_conversions", "event_id").await,
            want,
            "{case}"
        );
        assert_eq!(
            table_keys(&catalog, "ad_impressions", "impression_id").await,
            BTreeMap::from([("imp-1".to_string(), 1)]),
            "{case}"
        );
        let clicks_between = between
            .tables
            .get("click_conversions")
            .map_or(0, |t| t.records);
        let rewritten = after.tables["click_conversions"].rewritten;
        assert_eq!(
            rewritten,
            u64::from(clicks_between > 0),
            "{case}: the retry is rewritten exactly when part of it was committed: {after:?}"
        );
        if fail_at == 0 {
            assert_eq!(clicks_between, 2, "{case}");
        }
    }
}
