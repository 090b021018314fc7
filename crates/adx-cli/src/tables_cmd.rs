//! `adx tables sync`: makes every dataset of a schema folder a table of the curated catalog, or
//! checks the table it has against its contract (column ids, names, types), and evolves it when
//! the contract gained columns; `adx commit`: one run of the committer (the `table-commit`
//! Lambda's own code), adding the handlers' pending data files to the tables, exactly once.
//! Catalogs: `local` (the embedded default: the SQL catalog in `<root>/_tables/catalog.db`) or
//! `glue` (the Glue Data Catalog, tables in the curated bucket in S3; endpoints, region and
//! credentials from the environment, as for every AWS SDK client).

use adx_core::{CachedRegistry, Catalog as Contracts, ObjectStore, SchemaRegistry};
use adx_local::{LocalSchemaFolder, LocalStore};
#[cfg(feature = "aws")]
use adx_tables::aws::{AwsCommitter, CommitterSettings};
use adx_tables::job::{CommitJob, RunReport};
use adx_tables::local::{namespace, open, table_location};
use adx_tables::sync::{Synced, sync_table};
use adx_tables::{Catalog, NamespaceIdent};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which catalog holds the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogKind {
    /// The embedded default: an Iceberg SQL catalog in `<root>/_tables/catalog.db`.
    Local,
    /// The AWS Glue Data Catalog; table files in the curated bucket in S3.
    Glue,
}

/// Where the tables are: the catalog and what it needs.
#[derive(Args, Clone)]
pub struct TableTarget {
    /// The catalog of the tables.
    #[arg(long, value_enum, default_value = "local")]
    catalog: CatalogKind,
    /// The local store's root (the embedded default's buckets are folders below it); local
    /// catalog only.
    #[arg(long, env = "ADX_STORE_ROOT")]
    root: Option<PathBuf>,
    /// The curated bucket: the pending manifests, and the tables' data and metadata.
    #[arg(long, env = "CURATED_BUCKET", default_value = "curated")]
    curated_bucket: String,
    /// The Glue database of the tables (glue catalog; the template's `CuratedDatabaseName`).
    #[arg(long, env = "TABLE_DATABASE", default_value = adx_tables::NAMESPACE)]
    database: String,
    /// The role Glue's table optimizers run as (compaction, snapshot retention, orphan-file
    /// deletion), enabled on every table made or synced; glue catalog only (the template's
    /// `TableOptimizerRoleArn`).
    #[arg(long, env = "TABLE_OPTIMIZER_ROLE_ARN")]
    optimizer_role: Option<String>,
}

impl TableTarget {
    fn root(&self) -> Result<&Path, String> {
        self.root
            .as_deref()
            .ok_or_else(|| "the local catalog needs --root (or ADX_STORE_ROOT)".to_string())
    }
}

/// Arguments of `adx tables`.
#[derive(Args)]
pub struct TablesArgs {
    #[command(subcommand)]
    action: TablesAction,
}

#[derive(Subcommand)]
enum TablesAction {
    /// Creates the missing tables of the datasets in the schema folder (Iceberg v2, partitioned
    /// by the event time's hour), evolves a table whose contract gained columns, and checks
    /// every table against its contract. Idempotent.
    #[command(after_help = "Example (after `adx schemas push`, in AWS):\n  \
        adx tables sync --catalog glue --database adx_dev --optimizer-role <TableOptimizerRoleArn>")]
    Sync {
        /// Where the tables are.
        #[command(flatten)]
        target: TableTarget,
        /// The schema folder (the data contracts).
        #[arg(long, env = "ADX_SCHEMA_DIR", default_value = "schemas")]
        schemas: PathBuf,
    },
    /// Prints rows of a table as a reader of it sees them (its current snapshot), one JSON
    /// object per line; timestamps in epoch microseconds.
    #[command(after_help = "Example:\n  adx tables show --root out/demo ad_impressions --limit 3")]
    Show {
        /// Where the tables are.
        #[command(flatten)]
        target: TableTarget,
        /// The table (dataset).
        table: String,
        /// The most rows to print.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

/// Runs `adx tables`.
pub fn run(args: TablesArgs) -> Result<(), String> {
    match args.action {
        TablesAction::Sync { target, schemas } => {
            let done = match target.catalog {
                CatalogKind::Local => sync_local(target.root()?, &schemas, &target.curated_bucket)?,
                CatalogKind::Glue => sync_glue(&target, &schemas)?,
            };
            for (table, outcome) in done {
                println!("{table:<20} {outcome}");
            }
            Ok(())
        }
        TablesAction::Show {
            target,
            table,
            limit,
        } => {
            for row in show(&target, &table, limit)? {
                println!("{}", serde_json::Value::Object(row));
            }
            Ok(())
        }
    }
}

/// At most `limit` rows of `table`.
fn show(
    target: &TableTarget,
    table: &str,
    limit: usize,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    async fn rows(
        catalog: &dyn Catalog,
        namespace: NamespaceIdent,
        table: &str,
        limit: usize,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
        let ident = adx_tables::TableIdent::new(namespace, table.to_string());
        adx_tables::scan::table_rows(catalog, &ident, None, Some(limit))
            .await
            .map_err(|e| e.to_string())
    }
    match target.catalog {
        CatalogKind::Local => {
            let root = target.root()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("starting the runtime: {e}"))?;
            runtime.block_on(async {
                let catalog = open(root, &target.curated_bucket)
                    .await
                    .map_err(|e| e.to_string())?;
                rows(&catalog, namespace(), table, limit).await
            })
        }
        #[cfg(feature = "aws")]
        CatalogKind::Glue => {
            let committer = aws_committer(target, adx_tables::aws::DEFAULT_SETTLE)?;
            let namespace = adx_tables::namespace_of(&target.database);
            committer
                .context()
                .block_on(rows(committer.catalog(), namespace, table, limit))
        }
        #[cfg(not(feature = "aws"))]
        CatalogKind::Glue => Err(crate::built_without("aws", "the Glue catalog")),
    }
}

/// The datasets of a schema folder, at their latest version.
fn contracts_of(schemas: &Path) -> Result<Vec<std::sync::Arc<adx_core::Dataset>>, String> {
    let folder = LocalSchemaFolder::new(schemas);
    let names = folder.names().map_err(|e| e.to_string())?;
    let registry = CachedRegistry::new(folder, Duration::from_secs(60));
    let contracts = Contracts::new();
    let mut out = Vec::new();
    for name in names {
        if let Some(dataset) = contracts
            .latest(&registry as &dyn SchemaRegistry, &name)
            .map_err(|e| e.to_string())?
        {
            out.push(dataset);
        }
    }
    Ok(out)
}

/// Syncs every dataset of `datasets` into `catalog`; each table's name and what was done.
async fn sync_all(
    catalog: &dyn Catalog,
    namespace: &NamespaceIdent,
    datasets: &[std::sync::Arc<adx_core::Dataset>],
    location: &dyn Fn(&str) -> String,
) -> Result<Vec<(String, Synced)>, String> {
    let mut done = Vec::new();
    for dataset in datasets {
        let outcome = sync_table(catalog, namespace, dataset, location(&dataset.name))
            .await
            .map_err(|e| e.to_string())?;
        done.push((dataset.name.clone(), outcome));
    }
    Ok(done)
}

fn describe(outcome: Synced) -> String {
    match outcome {
        Synced::Created => "created".to_string(),
        Synced::Unchanged => "in step with its contract".to_string(),
        Synced::Evolved(n) => format!("evolved: {n} new columns"),
    }
}

/// Syncs the tables of every dataset in `schemas` into the local catalog under `root`; returns
/// each table's name and what was done.
pub fn sync_local(
    root: &Path,
    schemas: &Path,
    curated_bucket: &str,
) -> Result<Vec<(String, String)>, String> {
    let datasets = contracts_of(schemas)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async {
        let catalog = open(root, curated_bucket)
            .await
            .map_err(|e| e.to_string())?;
        let location = |name: &str| table_location(root, curated_bucket, name);
        let done = sync_all(&catalog, &namespace(), &datasets, &location).await?;
        Ok(done.into_iter().map(|(t, o)| (t, describe(o))).collect())
    })
}

/// Without the `aws` feature there is no Glue catalog to sync.
#[cfg(not(feature = "aws"))]
fn sync_glue(_: &TableTarget, _: &Path) -> Result<Vec<(String, String)>, String> {
    Err(crate::built_without("aws", "the Glue catalog"))
}

/// Syncs the tables of every dataset in `schemas` into the Glue Data Catalog, and enables the
/// optimizers of each when a role is given.
#[cfg(feature = "aws")]
fn sync_glue(target: &TableTarget, schemas: &Path) -> Result<Vec<(String, String)>, String> {
    let datasets = contracts_of(schemas)?;
    let committer = aws_committer(target, adx_tables::aws::DEFAULT_SETTLE)?;
    let context = committer.context();
    let bucket = target.curated_bucket.clone();
    let location = move |name: &str| adx_tables::glue::table_location(&bucket, name);
    let namespace = adx_tables::namespace_of(&target.database);
    let done = context.block_on(async {
        if !committer
            .catalog()
            .namespace_exists(&namespace)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "no Glue database {} (the template makes it; or pass --database)",
                target.database
            ));
        }
        sync_all(committer.catalog(), &namespace, &datasets, &location).await
    })?;
    let mut out = Vec::new();
    for (table, outcome) in done {
        let mut what = describe(outcome);
        if let Some(role) = &target.optimizer_role {
            let created = context
                .block_on(adx_tables::glue::enable_optimizers(
                    context.glue(),
                    &target.database,
                    &table,
                    role,
                ))
                .map_err(|e| e.to_string())?;
            if !created.is_empty() {
                what.push_str(&format!("; optimizers enabled: {}", created.join(", ")));
            }
        }
        out.push((table, what));
    }
    Ok(out)
}

#[cfg(feature = "aws")]
fn aws_committer(target: &TableTarget, settle: Duration) -> Result<AwsCommitter, String> {
    let registry_name = std::env::var("REGISTRY_NAME").unwrap_or_else(|_| "advertisex".into());
    AwsCommitter::new(CommitterSettings {
        curated_bucket: target.curated_bucket.clone(),
        registry_name,
        database: target.database.clone(),
        optimizer_role: target.optimizer_role.clone(),
        settle,
    })
    .map_err(|e| e.to_string())
}

/// Arguments of `adx commit`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    adx commit --root /tmp/adx-demo                  # the embedded default\n  \
    adx commit --catalog glue --database adx_dev     # in AWS, as the table-commit Lambda does")]
pub struct CommitArgs {
    /// Where the tables are.
    #[command(flatten)]
    target: TableTarget,
    /// The schema folder (the data contracts); local catalog only (in AWS: the Glue registry
    /// `REGISTRY_NAME`).
    #[arg(long, env = "ADX_SCHEMA_DIR", default_value = "schemas")]
    schemas: PathBuf,
    /// Take only the pending manifests written at least this many seconds ago (newer ones wait
    /// for the next run): while handlers write, a listing is no snapshot, and a batch must not
    /// be committed without the one before it. Default: 15 with `--catalog glue` (S3's clock
    /// against this one), 0 on the local catalog (set it when another process writes there
    /// while this one commits).
    #[arg(long, value_name = "SECONDS", env = "PENDING_SETTLE_SECONDS")]
    settle_seconds: Option<u64>,
}

/// Runs `adx commit`: prints what was done, per table, as JSON; exits non-zero when a table
/// was refused (its manifests stay pending).
pub fn run_commit(args: CommitArgs) -> Result<(), String> {
    let report = match args.target.catalog {
        CatalogKind::Local => {
            let root = args.target.root()?;
            let settle = Duration::from_secs(args.settle_seconds.unwrap_or(0));
            commit_local(root, &args.target.curated_bucket, &args.schemas, settle)?
        }
        #[cfg(feature = "aws")]
        CatalogKind::Glue => aws_committer(
            &args.target,
            args.settle_seconds
                .map_or(adx_tables::aws::DEFAULT_SETTLE, Duration::from_secs),
        )?
        .run_once()
        .map_err(|e| e.to_string())?,
        #[cfg(not(feature = "aws"))]
        CatalogKind::Glue => return Err(crate::built_without("aws", "the Glue catalog")),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    if report.refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tables refused, their manifests stay pending: {:?}",
            report.refused
        ))
    }
}

/// One committer run over the local store at `root`, its contracts in the schema folder
/// `schemas`, taking the manifests written at least `settle` ago.
pub fn commit_local(
    root: &Path,
    curated_bucket: &str,
    schemas: &Path,
    settle: Duration,
) -> Result<RunReport, String> {
    let registry = CachedRegistry::new(LocalSchemaFolder::new(schemas), Duration::from_secs(0));
    let store = LocalStore::new(root);
    commit_with(
        root,
        curated_bucket,
        &store,
        &registry,
        &Contracts::new(),
        settle,
    )
}

/// One committer run over the local catalog of `root`, with the given store and registry.
pub fn commit_with(
    root: &Path,
    curated_bucket: &str,
    store: &dyn ObjectStore,
    registry: &dyn SchemaRegistry,
    contracts: &Contracts,
    settle: Duration,
) -> Result<RunReport, String> {
    let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let catalog = runtime
        .block_on(open(&root, curated_bucket))
        .map_err(|e| e.to_string())?;
    let location = |name: &str| table_location(&root, curated_bucket, name);
    let file_uri =
        |bucket: &str, key: &str| format!("file://{}", root.join(bucket).join(key).display());
    let job = CommitJob {
        store,
        curated_bucket,
        registry,
        contracts,
        namespace: namespace(),
        table_location: &location,
        file_uri: &file_uri,
        settle,
    };
    job.run(runtime.handle(), &catalog)
        .map_err(|e| e.to_string())
}
