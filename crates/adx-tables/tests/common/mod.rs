//! What the table tests share: the pipeline settings, a commit of everything pending, and a
//! reader of a table's keys (iceberg-rust's own scan).

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use adx_core::{IngestConfig, ObjectStore, WriterLimits};
use adx_tables::commit::{CommitReport, commit, read_pending, settle};
use adx_tables::local::namespace;
use adx_tables::{Catalog, TableIdent};
use std::collections::BTreeMap;
use std::path::Path;

/// The repo's schema folder.
pub const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");

/// When the records arrived (the generator's default arrival, 2026-11-28T06:00:00Z).
pub const ARRIVAL_MS: i64 = 1_795_845_600_000;

/// Pipeline settings: buckets `curated` and `quarantine`, everything on the caller's thread.
pub fn ingest_config(limits: WriterLimits) -> IngestConfig {
    IngestConfig {
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits,
        max_record_bytes: 1 << 20,
        max_inflated_bytes: 1 << 30,
        encode_thread: false,
    }
}

/// Commits what is pending in the local store at `root`; nothing may be set aside.
pub async fn commit_all(
    root: &Path,
    store: &dyn ObjectStore,
    catalog: &dyn Catalog,
) -> CommitReport {
    let report = try_commit_all(root, store, catalog).await.unwrap();
    assert!(report.set_aside.is_empty(), "{:?}", report.set_aside);
    report
}

/// One committer run over what is pending in the local store at `root`: its report, or what
/// failed it.
pub async fn try_commit_all(
    root: &Path,
    store: &dyn ObjectStore,
    catalog: &dyn Catalog,
) -> Result<CommitReport, String> {
    let file_uri = |b: &str, k: &str| format!("file://{}", root.join(b).join(k).display());
    let pending = read_pending(store, "curated").map_err(|e| e.to_string())?;
    let report = commit(catalog, &namespace(), store, pending, &file_uri)
        .await
        .map_err(|e| e.to_string())?;
    settle(store, "curated", &report).map_err(|e| e.to_string())?;
    Ok(report)
}

/// Every row of `dataset`'s table, its string `columns` in order (nulls as `None`), sorted.
pub async fn rows(
    catalog: &dyn Catalog,
    dataset: &str,
    columns: &[&str],
) -> Vec<Vec<Option<String>>> {
    let ident = TableIdent::new(namespace(), dataset.to_string());
    let mut out: Vec<Vec<Option<String>>> =
        adx_tables::scan::table_rows(catalog, &ident, Some(columns), None)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|c| row[*c].as_str().map(str::to_string))
                    .collect()
            })
            .collect();
    out.sort();
    out
}

/// The keys of `dataset`'s table (column `key`), each with how often it appears.
pub async fn table_keys(
    catalog: &dyn Catalog,
    dataset: &str,
    key: &str,
) -> BTreeMap<String, usize> {
    let mut keys = BTreeMap::new();
    for row in rows(catalog, dataset, &[key]).await {
        if let Some(Some(k)) = row.into_iter().next() {
            *keys.entry(k).or_default() += 1;
        }
    }
    keys
}

/// The contracts of a schema folder, compiled as the handlers compile them.
pub struct Contracts {
    registry: adx_core::CachedRegistry<adx_local::LocalSchemaFolder>,
    datasets: adx_core::Catalog,
}

impl Contracts {
    /// The contracts of `dir` (read again at every lookup: a test may change them).
    pub fn of(dir: impl Into<std::path::PathBuf>) -> Contracts {
        Contracts {
            registry: adx_core::CachedRegistry::new(
                adx_local::LocalSchemaFolder::new(dir),
                std::time::Duration::from_secs(0),
            ),
            datasets: adx_core::Catalog::new(),
        }
    }

    /// The ports over `store`.
    pub fn ports<'a>(&'a self, store: &'a dyn ObjectStore) -> adx_core::Ports<'a> {
        adx_core::Ports {
            store,
            registry: &self.registry as &dyn adx_core::SchemaRegistry,
            catalog: &self.datasets,
        }
    }

    /// The dataset `name` at its latest version.
    pub fn dataset(&self, name: &str) -> std::sync::Arc<adx_core::Dataset> {
        self.datasets
            .latest(&self.registry as &dyn adx_core::SchemaRegistry, name)
            .unwrap()
            .unwrap_or_else(|| panic!("no contract {name}"))
    }

    /// Makes the tables of `names` in the local catalog of `root`.
    pub async fn sync(&self, catalog: &dyn Catalog, root: &Path, names: &[&str]) {
        for name in names {
            let location = adx_tables::local::table_location(root, "curated", name);
            adx_tables::sync::sync_table(catalog, &namespace(), &self.dataset(name), location)
                .await
                .unwrap();
        }
    }
}

/// A landing object as its S3 event names it (version `v1`, arrived at [`ARRIVAL_MS`]).
pub fn landing_source(key: &str, size: usize) -> adx_core::ObjectSource {
    adx_core::ObjectSource {
        bucket: "landing".into(),
        key: key.to_string(),
        version: Some("v1".into()),
        pin: adx_core::Pin::Latest,
        arrival_ms: ARRIVAL_MS,
        size: Some(size as u64),
    }
}

/// What an [`Interposer`] commits, through another catalog handle, just before the committer's
/// own commit reaches the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpose {
    /// A new current snapshot with the table's rows unchanged and none of the committer's
    /// record, as a compaction or another engine's maintenance commits it (iceberg-rust 0.10
    /// has no rewrite action: the snapshot re-lists the same data files).
    Maintenance,
    /// A whole run of another committer over the same pending manifests.
    Committer,
}

/// A catalog that, at the first table commit made through it, lets `other` commit first: the
/// race between a committer's judgement and its commit, made to happen.
pub struct Interposer<'a> {
    /// The committer's catalog.
    pub inner: &'a dyn Catalog,
    /// The other writer's handle on the same catalog.
    pub other: &'a dyn Catalog,
    /// The local store's root.
    pub root: &'a Path,
    /// The store of the pending manifests.
    pub store: &'a (dyn ObjectStore + Sync),
    /// What commits first; taken at the first commit.
    pub what: std::sync::Mutex<Option<Interpose>>,
}

impl std::fmt::Debug for Interposer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interposer")
            .field("what", &self.what)
            .finish()
    }
}

impl<'a> Interposer<'a> {
    /// `what` commits through `other` just before `inner`'s first table commit.
    pub fn new(
        inner: &'a dyn Catalog,
        other: &'a dyn Catalog,
        root: &'a Path,
        store: &'a (dyn ObjectStore + Sync),
        what: Interpose,
    ) -> Interposer<'a> {
        Interposer {
            inner,
            other,
            root,
            store,
            what: std::sync::Mutex::new(Some(what)),
        }
    }
}

/// The maintenance commit of [`Interpose::Maintenance`] on `table`.
pub async fn maintenance_commit(catalog: &dyn Catalog, table: &TableIdent) {
    use iceberg::transaction::{ApplyTransactionAction, Transaction};
    let loaded = catalog.load_table(table).await.unwrap();
    let tx = Transaction::new(&loaded);
    let append = tx
        .fast_append()
        .set_snapshot_properties(std::collections::HashMap::from([(
            "maintenance".to_string(),
            "compaction".to_string(),
        )]));
    let tx = append.apply(tx).unwrap();
    tx.commit(catalog).await.unwrap();
}

#[async_trait::async_trait]
impl Catalog for Interposer<'_> {
    async fn list_namespaces(
        &self,
        parent: Option<&iceberg::NamespaceIdent>,
    ) -> iceberg::Result<Vec<iceberg::NamespaceIdent>> {
        self.inner.list_namespaces(parent).await
    }
    async fn create_namespace(
        &self,
        namespace: &iceberg::NamespaceIdent,
        properties: std::collections::HashMap<String, String>,
    ) -> iceberg::Result<iceberg::Namespace> {
        self.inner.create_namespace(namespace, properties).await
    }
    async fn get_namespace(
        &self,
        namespace: &iceberg::NamespaceIdent,
    ) -> iceberg::Result<iceberg::Namespace> {
        self.inner.get_namespace(namespace).await
    }
    async fn namespace_exists(&self, namespace: &iceberg::NamespaceIdent) -> iceberg::Result<bool> {
        self.inner.namespace_exists(namespace).await
    }
    async fn update_namespace(
        &self,
        namespace: &iceberg::NamespaceIdent,
        properties: std::collections::HashMap<String, String>,
    ) -> iceberg::Result<()> {
        self.inner.update_namespace(namespace, properties).await
    }
    async fn drop_namespace(&self, namespace: &iceberg::NamespaceIdent) -> iceberg::Result<()> {
        self.inner.drop_namespace(namespace).await
    }
    async fn list_tables(
        &self,
        namespace: &iceberg::NamespaceIdent,
    ) -> iceberg::Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }
    async fn create_table(
        &self,
        namespace: &iceberg::NamespaceIdent,
        creation: iceberg::TableCreation,
    ) -> iceberg::Result<iceberg::table::Table> {
        self.inner.create_table(namespace, creation).await
    }
    async fn load_table(&self, table: &TableIdent) -> iceberg::Result<iceberg::table::Table> {
        self.inner.load_table(table).await
    }
    async fn drop_table(&self, table: &TableIdent) -> iceberg::Result<()> {
        self.inner.drop_table(table).await
    }
    async fn purge_table(&self, table: &TableIdent) -> iceberg::Result<()> {
        self.inner.purge_table(table).await
    }
    async fn table_exists(&self, table: &TableIdent) -> iceberg::Result<bool> {
        self.inner.table_exists(table).await
    }
    async fn rename_table(&self, src: &TableIdent, dest: &TableIdent) -> iceberg::Result<()> {
        self.inner.rename_table(src, dest).await
    }
    async fn register_table(
        &self,
        table: &TableIdent,
        metadata_location: String,
    ) -> iceberg::Result<iceberg::table::Table> {
        self.inner.register_table(table, metadata_location).await
    }
    async fn update_table(
        &self,
        commit: iceberg::TableCommit,
    ) -> iceberg::Result<iceberg::table::Table> {
        let what = self.what.lock().unwrap().take();
        match what {
            Some(Interpose::Maintenance) => {
                maintenance_commit(self.other, commit.identifier()).await;
            }
            Some(Interpose::Committer) => {
                // Its faults (the property test's) are the test's to inject: it may fail.
                let _ = try_commit_all(self.root, self.store, self.other).await;
            }
            None => {}
        }
        self.inner.update_table(commit).await
    }
}
