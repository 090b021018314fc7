//! The committer in AWS, as the `table-commit` Lambda and `adx commit --catalog glue` run it:
//! pending manifests read from the curated bucket in S3, contracts from the Glue Schema
//! Registry, tables in the Glue Data Catalog; a table made by a run gets its Glue table
//! optimizers when an optimizer role is configured. Built once per process, then run once per
//! invocation, from a plain thread (the Lambda's blocking thread, the CLI's main thread).

use crate::glue::{GlueSettings, enable_optimizers, file_uri, open, table_location};
use crate::health::{SchemaState, table_health};
use crate::job::{CommitJob, RunReport};
use crate::{TableError, namespace_of};
use adx_aws::doctor::{Finding, Verdict};
use adx_aws::{AwsContext, AwsSettings, GlueRegistry, S3Store};
use adx_core::{CachedRegistry, Catalog as Contracts};
use adx_core::{Dataset, ObjectStore, PENDING_PREFIX};
use iceberg_catalog_glue::GlueCatalog;
use std::sync::Arc;
use std::time::Duration;

/// Size of the parts of an upload (the committer writes only small objects).
const UPLOAD_PART_BYTES: usize = 8 << 20;

/// How long the registry's latest versions are trusted: a run is a minute apart, so each run
/// sees the contracts as they are.
const CONTRACTS_TTL: Duration = Duration::from_secs(30);

/// What the committer is configured with (environment variables of the Lambda).
#[derive(Debug, Clone)]
pub struct CommitterSettings {
    /// `CURATED_BUCKET`: pending manifests, data files, the tables' metadata.
    pub curated_bucket: String,
    /// `REGISTRY_NAME`: the Glue Schema Registry of the contracts.
    pub registry_name: String,
    /// `TABLE_DATABASE`: the Glue database of the tables.
    pub database: String,
    /// `TABLE_OPTIMIZER_ROLE_ARN`: the role Glue's table optimizers run as; none, no optimizers.
    pub optimizer_role: Option<String>,
    /// `PENDING_SETTLE_SECONDS` ([`DEFAULT_SETTLE`] by default): how long before a run a
    /// pending manifest must have been written to be taken (`adx_tables::commit::read_settled`).
    pub settle: Duration,
}

/// How long before a run a pending manifest must have been written to be taken, by default:
/// more than the skew between the committer's clock and S3's.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(15);

impl CommitterSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<CommitterSettings, TableError> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required =
            |name: &str| get(name).ok_or_else(|| TableError::Config(format!("{name} is not set")));
        Ok(CommitterSettings {
            curated_bucket: required("CURATED_BUCKET")?,
            registry_name: required("REGISTRY_NAME")?,
            database: required("TABLE_DATABASE")?,
            optimizer_role: get("TABLE_OPTIMIZER_ROLE_ARN"),
            settle: match get("PENDING_SETTLE_SECONDS") {
                None => DEFAULT_SETTLE,
                Some(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
                    TableError::Config(format!(
                        "PENDING_SETTLE_SECONDS is not a number of seconds: {v}"
                    ))
                })?),
            },
        })
    }
}

/// The committer's adapters, built once per process.
pub struct AwsCommitter {
    settings: CommitterSettings,
    store: S3Store,
    registry: CachedRegistry<GlueRegistry>,
    contracts: Contracts,
    catalog: GlueCatalog,
    /// Declared last: the adapters above use its runtime.
    context: AwsContext,
}

impl AwsCommitter {
    /// Builds the adapters: the SDK clients (endpoints, region and credentials from the
    /// environment, as for every AWS SDK client; `AWS_ENDPOINT_URL_S3` also for the table
    /// files) and the Glue catalog.
    pub fn new(settings: CommitterSettings) -> Result<AwsCommitter, TableError> {
        let aws = AwsSettings::from_env().map_err(|e| TableError::Config(e.to_string()))?;
        let context = AwsContext::load(&aws).map_err(|e| TableError::Config(e.to_string()))?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let glue = GlueSettings {
            warehouse: format!("s3://{}", settings.curated_bucket),
            glue_endpoint: env("AWS_ENDPOINT_URL_GLUE").or_else(|| env("AWS_ENDPOINT_URL")),
            s3_endpoint: env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")),
            region: context.region().map(str::to_string),
        };
        let catalog = context.block_on(open(&glue))?;
        Ok(AwsCommitter {
            store: S3Store::new(&context, UPLOAD_PART_BYTES),
            registry: CachedRegistry::new(
                GlueRegistry::new(&context, &settings.registry_name),
                CONTRACTS_TTL,
            ),
            contracts: Contracts::new(),
            catalog,
            settings,
            context,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &CommitterSettings {
        &self.settings
    }

    /// The Glue catalog.
    pub fn catalog(&self) -> &GlueCatalog {
        &self.catalog
    }

    /// The AWS context (its runtime drives the catalog).
    pub fn context(&self) -> &AwsContext {
        &self.context
    }

    /// The doctor's checks of the tables of `datasets`: each exists, its schema follows its
    /// contract, and it received a commit within `stale_after_ms` of `now_ms` when manifests
    /// are pending for it.
    pub fn examine_tables(
        &self,
        datasets: &[Arc<Dataset>],
        now_ms: i64,
        stale_after_ms: i64,
    ) -> Vec<Finding> {
        let namespace = namespace_of(&self.settings.database);
        let mut findings = Vec::new();
        for dataset in datasets {
            let what = format!("table {}.{}", self.settings.database, dataset.name);
            let pending = self
                .store
                .list(
                    &self.settings.curated_bucket,
                    &format!("{PENDING_PREFIX}{}/", dataset.name),
                )
                .map(|keys| keys.len());
            let health = self
                .context
                .block_on(table_health(&self.catalog, &namespace, dataset));
            let (verdict, detail) = match (health, pending) {
                (Err(e), _) => (Verdict::Fail, format!("cannot read it: {e}")),
                (_, Err(e)) => (Verdict::Fail, format!("cannot list its pending files: {e}")),
                (Ok(h), Ok(pending)) => describe(&h, pending, now_ms, stale_after_ms),
            };
            findings.push(Finding {
                what,
                verdict,
                detail,
            });
        }
        findings
    }

    /// One committer run; then the optimizers of the tables it made, when configured.
    pub fn run_once(&self) -> Result<RunReport, TableError> {
        let bucket = self.settings.curated_bucket.clone();
        let location = move |dataset: &str| table_location(&bucket, dataset);
        let job = CommitJob {
            store: &self.store,
            curated_bucket: &self.settings.curated_bucket,
            registry: &self.registry,
            contracts: &self.contracts,
            namespace: namespace_of(&self.settings.database),
            table_location: &location,
            file_uri: &file_uri,
            settle: self.settings.settle,
        };
        let report = job.run(&self.context.handle(), &self.catalog)?;
        if let Some(role) = &self.settings.optimizer_role {
            for table in &report.created {
                let created = self.context.block_on(enable_optimizers(
                    self.context.glue(),
                    &self.settings.database,
                    table,
                    role,
                ))?;
                tracing::info!(%table, ?created, "table optimizers enabled");
            }
        }
        Ok(report)
    }
}

/// The verdict and text of one table's check.
fn describe(
    health: &crate::health::TableHealth,
    pending: usize,
    now_ms: i64,
    stale_after_ms: i64,
) -> (Verdict, String) {
    let last = match health.last_commit_ms {
        Some(ms) => format!(
            "last commit {} min ago, {} records",
            (now_ms - ms).max(0) / 60_000,
            health.records.map_or("?".into(), |r| r.to_string())
        ),
        None => "no commit yet".into(),
    };
    let stale = pending > 0
        && health
            .last_commit_ms
            .is_none_or(|ms| now_ms - ms > stale_after_ms);
    match &health.schema {
        SchemaState::Missing => (
            Verdict::Fail,
            "no table: run `adx tables sync --catalog glue` (the committer also makes it)".into(),
        ),
        SchemaState::Refused(detail) => (
            Verdict::Fail,
            format!("its schema cannot follow its contract, its commits stop: {detail}"),
        ),
        SchemaState::Behind(columns) => (
            Verdict::Warn,
            format!(
                "lacks the contract's new columns {} (the next commit adds them); {last}",
                columns.join(", ")
            ),
        ),
        SchemaState::InStep if stale => (
            Verdict::Warn,
            format!("{pending} manifests pending and {last}: is the committer running?"),
        ),
        SchemaState::InStep => (
            Verdict::Ok,
            format!("schema as in schemas/; {last}; {pending} manifests pending"),
        ),
    }
}
