//! Commits that race the committer's own, made to happen between its judgement of the pending
//! manifests and its commit: a maintenance commit (a new current snapshot, as a compaction
//! makes) is a conflict the committer retries on the new state within the same run; another
//! committer's run, which changed what the table holds, makes the committer judge its
//! manifests again, and it drops what the other committed instead of failing or committing it
//! twice, and keeps the other's objects in the record. A record that cannot be read stops its
//! table's commits and is never replaced.

use adx_core::{ObjectSource, WriterLimits, ingest_object};
use adx_local::LocalStore;
use adx_tables::commit::{CommitReport, Pending, commit, read_pending, settle};
use adx_tables::local::{namespace, open};
use adx_tables::{Catalog, TableIdent};
use iceberg::transaction::ApplyTransactionAction;
use std::path::Path;

mod common;

use common::{
    Contracts, Interpose, Interposer, SCHEMA_DIR, ingest_config, landing_source, table_keys,
};

/// Writes `records` click conversions (CSV) as a landing object named `name`.
fn clicks_object(root: &Path, name: &str, first: usize, records: usize) -> ObjectSource {
    let mut csv = String::from("event_id,event_type,event_time,campaign_id\n");
    for i in first..first + records {
        csv.push_str(&format!(
            "evt-{i},CLICK,{},c-1\n",
            common::ARRIVAL_MS - 60_000
        ));
    }
    let key = format!("click_conversions/{name}.csv");
    let path = root.join("landing").join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, csv.as_bytes()).unwrap();
    landing_source(&key, csv.len())
}

fn clicks() -> TableIdent {
    TableIdent::new(namespace(), "click_conversions".to_string())
}

/// A local store and catalog with the click_conversions table, and a second handle on the
/// catalog for the other writer.
struct Racing {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: LocalStore,
    contracts: Contracts,
    catalog: iceberg_catalog_sql::SqlCatalog,
    other: iceberg_catalog_sql::SqlCatalog,
}

impl Racing {
    async fn new() -> Racing {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let catalog = open(&root, "curated").await.unwrap();
        let other = open(&root, "curated").await.unwrap();
        let contracts = Contracts::of(SCHEMA_DIR);
        contracts
            .sync(&catalog, &root, &["click_conversions"])
            .await;
        Racing {
            store: LocalStore::new(&root),
            _dir: dir,
            root,
            contracts,
            catalog,
            other,
        }
    }

    /// Ingests `records` clicks from `first` as the landing object `name`: its source.
    fn ingest(&self, name: &str, first: usize, records: usize) -> ObjectSource {
        let source = clicks_object(&self.root, name, first, records);
        self.ingest_again(&source);
        source
    }

    /// Ingests `source` (again).
    fn ingest_again(&self, source: &ObjectSource) {
        let config = ingest_config(WriterLimits::default());
        ingest_object(self.contracts.ports(&self.store), &config, source).unwrap();
    }

    /// Commits everything pending, unraced.
    async fn commit_all(&self) -> CommitReport {
        common::commit_all(&self.root, &self.store, &self.catalog).await
    }

    /// Commits `pending` while `what` commits first (it must happen), then settles.
    async fn raced(&self, what: Interpose, pending: Vec<Pending>) -> CommitReport {
        let racing = Interposer::new(&self.catalog, &self.other, &self.root, &self.store, what);
        let root = &self.root;
        let file_uri = |b: &str, k: &str| format!("file://{}", root.join(b).join(k).display());
        let report = commit(&racing, &namespace(), &self.store, pending, &file_uri)
            .await
            .expect("the race is retried or judged again, never a failure");
        assert!(racing.what.lock().unwrap().is_none(), "{what:?} happened");
        settle(&self.store, "curated", &report).unwrap();
        report
    }

    fn pending(&self) -> Vec<Pending> {
        read_pending(&self.store, "curated").unwrap()
    }

    /// Asserts that the table holds `n` records, each once.
    async fn holds_each_once(&self, n: usize) {
        let keys = table_keys(&self.catalog, "click_conversions", "event_id").await;
        assert_eq!(keys.len(), n);
        assert!(keys.values().all(|c| *c == 1), "every record once");
    }

    async fn table(&self) -> iceberg::table::Table {
        self.catalog.load_table(&clicks()).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_maintenance_commit_in_between_is_retried_in_the_same_run() {
    let w = Racing::new().await;
    w.ingest("a", 0, 30);
    w.commit_all().await;
    w.ingest("b", 30, 20);

    let report = w.raced(Interpose::Maintenance, w.pending()).await;
    assert_eq!(report.tables["click_conversions"].committed, 1);

    let table = w.table().await;
    let metadata = table.metadata();
    let current = metadata.current_snapshot().unwrap();
    let parent = metadata
        .snapshot_by_id(current.parent_snapshot_id().unwrap())
        .unwrap();
    assert_eq!(
        parent.summary().additional_properties.get("maintenance"),
        Some(&"compaction".to_string()),
        "the committer's snapshot follows the maintenance one"
    );
    assert_eq!(metadata.snapshots().count(), 3);
    w.holds_each_once(50).await;
    assert!(w.pending().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_committer_that_loses_the_race_judges_again() {
    let w = Racing::new().await;
    w.ingest("a", 0, 30);
    w.ingest("b", 30, 20);

    // This committer judges both objects new; another committer commits them first.
    let pending = w.pending();
    assert_eq!(pending.len(), 2);
    let report = w.raced(Interpose::Committer, pending).await;
    let table = &report.tables["click_conversions"];
    assert_eq!(
        (table.committed, table.already_committed, table.files),
        (0, 2, 0),
        "judged again: both objects are in the table already"
    );
    assert_eq!(
        w.table().await.metadata().snapshots().count(),
        1,
        "the winner's only"
    );
    w.holds_each_once(50).await;
    assert!(w.pending().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_race_over_other_objects_keeps_both_in_the_record() {
    // The case only the guard catches: the other committer commits an object this one never
    // read, so no file is added twice, and re-applying this committer's record as judged
    // would forget the other's object.
    let w = Racing::new().await;
    let a = w.ingest("a", 0, 30);
    let mine = w.pending();
    assert_eq!(mine.len(), 1);
    // This committer holds a's manifest; the other will see only b's.
    std::fs::remove_file(w.root.join("curated").join(&mine[0].key)).unwrap();
    let b = w.ingest("b", 30, 20);

    let report = w.raced(Interpose::Committer, mine).await;
    assert_eq!(report.tables["click_conversions"].committed, 1);

    let table = w.table().await;
    let record = adx_tables::ledger::ObjectLedger::from_property(
        table
            .metadata()
            .properties()
            .get(adx_tables::ledger::OBJECTS_PROPERTY)
            .map(String::as_str),
        adx_tables::ledger::today(),
    )
    .unwrap();
    for object in [&a, &b] {
        let id =
            adx_tables::ledger::object_id(&object.bucket, &object.key, object.version.as_deref());
        assert!(record.contains(&id), "{} is in the record", object.key);
    }
    // b delivered again is dropped as committed.
    w.ingest_again(&b);
    let again = w.commit_all().await;
    assert_eq!(again.tables["click_conversions"].already_committed, 1);
    w.holds_each_once(50).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_cannot_be_read_stops_the_tables_commits_and_is_kept() {
    let w = Racing::new().await;
    w.ingest("a", 0, 30);
    w.commit_all().await;
    // Someone edits the record by hand and breaks it.
    let table = w.table().await;
    let tx = iceberg::transaction::Transaction::new(&table);
    let tx = tx
        .update_table_properties()
        .set(
            adx_tables::ledger::OBJECTS_PROPERTY.into(),
            "[broken".into(),
        )
        .apply(tx)
        .unwrap();
    tx.commit(&w.catalog).await.unwrap();
    w.ingest("b", 30, 20);

    let run = w.commit_all().await;
    assert_eq!(run.waiting.len(), 1, "{run:?}");
    assert!(
        run.waiting.values().all(|r| r.contains("cannot be read")),
        "{run:?}"
    );
    assert_eq!(
        w.table().await.metadata().properties()[adx_tables::ledger::OBJECTS_PROPERTY],
        "[broken",
        "kept as it was"
    );
    assert_eq!(w.pending().len(), 1, "b waits");
    w.holds_each_once(30).await;
}
