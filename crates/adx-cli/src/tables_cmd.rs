//! `adx tables sync`: makes every dataset of a schema folder a table of the curated catalog, or
//! checks the table it has against its contract (column ids, names, types); `adx commit`: adds
//! the handlers' pending data files to the tables, exactly once. On the embedded default
//! (`ADX_STORE_ROOT`): the SQL catalog in `<root>/_tables/catalog.db`.

use adx_core::{CachedRegistry, Catalog as Datasets, SchemaRegistry};
use adx_local::{LocalSchemaFolder, LocalStore};
use adx_tables::commit::{CommitReport, commit, read_pending, settle};
use adx_tables::local::{namespace, open, table_location};
use adx_tables::sync::{Synced, sync_table};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `adx tables`.
#[derive(Args)]
pub struct TablesArgs {
    #[command(subcommand)]
    action: TablesAction,
}

#[derive(Subcommand)]
enum TablesAction {
    /// Creates the missing tables of the datasets in the schema folder (Iceberg v2, partitioned
    /// by the event time's hour) and checks the existing ones against their contracts.
    Sync {
        /// The local store's root (the embedded default's buckets are folders below it).
        #[arg(long, env = "ADX_STORE_ROOT")]
        root: PathBuf,
        /// The schema folder (the data contracts).
        #[arg(long, env = "ADX_SCHEMA_DIR", default_value = "schemas")]
        schemas: PathBuf,
        /// The curated bucket: the tables' data lies in its folder.
        #[arg(long, env = "CURATED_BUCKET", default_value = "curated")]
        curated_bucket: String,
    },
}

/// Runs `adx tables`.
pub fn run(args: TablesArgs) -> Result<(), String> {
    match args.action {
        TablesAction::Sync {
            root,
            schemas,
            curated_bucket,
        } => {
            for (table, outcome) in sync_local(&root, &schemas, &curated_bucket)? {
                println!("{table:<20} {outcome}");
            }
            Ok(())
        }
    }
}

/// Syncs the tables of every dataset in `schemas` into the local catalog under `root`; returns
/// each table's name and what was done.
pub fn sync_local(
    root: &Path,
    schemas: &Path,
    curated_bucket: &str,
) -> Result<Vec<(String, String)>, String> {
    let folder = LocalSchemaFolder::new(schemas);
    let names = folder.names().map_err(|e| e.to_string())?;
    let registry = CachedRegistry::new(folder, Duration::from_secs(60));
    let datasets = Datasets::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async {
        let catalog = open(root, curated_bucket)
            .await
            .map_err(|e| e.to_string())?;
        let mut done = Vec::new();
        for name in names {
            let Some(dataset) = datasets
                .latest(&registry as &dyn SchemaRegistry, &name)
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            let location = table_location(root, curated_bucket, &name);
            let outcome = sync_table(&catalog, &namespace(), &dataset, location)
                .await
                .map_err(|e| e.to_string())?;
            done.push((
                name,
                match outcome {
                    Synced::Created => "created".to_string(),
                    Synced::Unchanged => "in step with its contract".to_string(),
                    Synced::Evolved(n) => format!("evolved: {n} new columns"),
                },
            ));
        }
        Ok(done)
    })
}

/// Arguments of `adx commit`.
#[derive(Args)]
pub struct CommitArgs {
    /// The local store's root (the embedded default's buckets are folders below it).
    #[arg(long, env = "ADX_STORE_ROOT")]
    root: PathBuf,
    /// The curated bucket: the pending manifests and the tables' data lie in its folder.
    #[arg(long, env = "CURATED_BUCKET", default_value = "curated")]
    curated_bucket: String,
}

/// Runs `adx commit`: prints what was committed, per table, as JSON.
pub fn run_commit(args: CommitArgs) -> Result<(), String> {
    let report = commit_local(&args.root, &args.curated_bucket)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Commits the pending manifests of the local store at `root` to its tables.
pub fn commit_local(root: &Path, curated_bucket: &str) -> Result<CommitReport, String> {
    let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let store = LocalStore::new(&root);
    let pending = read_pending(&store, curated_bucket).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let file_uri =
        |bucket: &str, key: &str| format!("file://{}", root.join(bucket).join(key).display());
    let report = runtime.block_on(async {
        let catalog = open(&root, curated_bucket)
            .await
            .map_err(|e| e.to_string())?;
        commit(&catalog, pending, &file_uri)
            .await
            .map_err(|e| e.to_string())
    })?;
    settle(&store, curated_bucket, &report).map_err(|e| e.to_string())?;
    Ok(report)
}
