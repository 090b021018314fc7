//! `adx doctor`: checks a deployment (buckets, registry, registered schemas, MSK cluster and
//! topics, and the Iceberg tables: each exists, follows its contract, and receives commits)
//! and prints a table of what is fine and what is not.

use crate::schema_files::read_dir;
use adx_aws::doctor::{Deployment, Verdict, examine, render};
use adx_aws::{AwsContext, AwsSettings};
use adx_tables::aws::{AwsCommitter, CommitterSettings};
use clap::Args;
use std::path::PathBuf;

/// `adx doctor`.
#[derive(Args)]
pub struct DoctorArgs {
    /// The bucket that receives file drops.
    #[arg(long, env = "LANDING_BUCKET", default_value = "adx-landing")]
    landing_bucket: String,
    /// The bucket of curated Parquet.
    #[arg(long, env = "CURATED_BUCKET", default_value = "adx-curated")]
    curated_bucket: String,
    /// The bucket of quarantined records.
    #[arg(long, env = "QUARANTINE_BUCKET", default_value = "adx-quarantine")]
    quarantine_bucket: String,
    /// Glue registry name.
    #[arg(long, env = "REGISTRY_NAME", default_value = "advertisex")]
    registry: String,
    /// Folder of `<dataset>.avsc` files the registry should match.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// ARN of the MSK cluster the stream function reads.
    #[arg(long, env = "MSK_CLUSTER_ARN")]
    cluster_arn: Option<String>,
    /// Topics the stream function reads (comma-separated); the dataset names by default.
    #[arg(long, env = "MSK_TOPICS", value_delimiter = ',')]
    topics: Vec<String>,
    /// The Glue database of the tables (the template's `GlueDatabase` output): checks that each
    /// dataset's table exists, follows its contract, and receives commits.
    #[arg(long, env = "TABLE_DATABASE")]
    database: Option<String>,
    /// A table with pending files and no commit for this many minutes is reported.
    #[arg(long, default_value_t = 10)]
    stale_minutes: i64,
}

/// Runs `adx doctor`: fails when any check fails.
pub fn run(args: DoctorArgs) -> Result<(), String> {
    let schemas = read_dir(&args.schemas)?;
    let datasets = schemas
        .iter()
        .map(|s| {
            adx_core::Dataset::from_registered(&adx_core::RegisteredSchema {
                name: s.name.clone(),
                version_id: String::new(),
                version_number: 1,
                data_format: "AVRO".into(),
                definition: s.definition.clone(),
            })
            .map(std::sync::Arc::new)
            .map_err(|e| format!("{}: {e}", s.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let curated_bucket = args.curated_bucket.clone();
    let registry = args.registry.clone();
    let topics = if args.topics.is_empty() {
        schemas.iter().map(|s| s.name.clone()).collect()
    } else {
        args.topics
    };
    let deployment = Deployment {
        buckets: vec![
            ("landing".into(), args.landing_bucket),
            ("curated".into(), args.curated_bucket),
            ("quarantine".into(), args.quarantine_bucket),
        ],
        registry: args.registry,
        schemas: schemas
            .into_iter()
            .map(|s| (s.name, s.definition))
            .collect(),
        cluster_arn: args.cluster_arn.filter(|a| !a.is_empty()),
        topics,
    };
    let settings = AwsSettings::from_env().map_err(|e| e.to_string())?;
    let context = AwsContext::load(&settings).map_err(|e| e.to_string())?;
    let mut findings = examine(&context, &deployment);
    if let Some(database) = args.database.filter(|d| !d.is_empty()) {
        let committer = AwsCommitter::new(CommitterSettings {
            curated_bucket,
            registry_name: registry,
            database,
            optimizer_role: None,
        })
        .map_err(|e| e.to_string())?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        findings.extend(committer.examine_tables(&datasets, now_ms, args.stale_minutes * 60_000));
    }
    print!("{}", render(&findings));
    let failed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fail)
        .count();
    if failed > 0 {
        return Err(format!("{failed} check(s) failed"));
    }
    Ok(())
}
