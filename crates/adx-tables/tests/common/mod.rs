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
    let file_uri = |b: &str, k: &str| format!("file://{}", root.join(b).join(k).display());
    let pending = read_pending(store, "curated").unwrap();
    let report = commit(catalog, &namespace(), store, pending, &file_uri)
        .await
        .unwrap();
    assert!(report.set_aside.is_empty(), "{:?}", report.set_aside);
    settle(store, "curated", &report).unwrap();
    report
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
