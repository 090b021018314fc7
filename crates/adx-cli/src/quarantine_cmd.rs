//! `adx quarantine replay`: re-drives quarantined records through the same pipeline (after a
//! schema fix, say), with the handlers' configuration and adapters (S3 and Glue, or the
//! embedded default); what still fails stays in quarantine, and nothing is lost or doubled.

use adx_core::{ReplayReport, replay_object};
use adx_handlers::{Adapters, HandlerConfig};
use clap::{Args, Subcommand};
use serde_json::json;

/// `adx quarantine`.
#[derive(Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    command: QuarantineCommand,
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// Replays every quarantine object under a prefix: recovered records are written as
    /// curated Parquet, each object is rewritten with what still fails (or removed), and the
    /// outcome is printed as JSON.
    #[command(
        after_help = "Example: after a schema fix, one dataset's quarantine of one day:\n  \
        adx quarantine replay --prefix ad_impressions/dt=2026-11-28/"
    )]
    Replay {
        /// Key prefix in the quarantine bucket, e.g. `ad_impressions/` or
        /// `ad_impressions/dt=2026-11-28/`.
        #[arg(long)]
        prefix: String,
        /// The quarantine bucket (default: `QUARANTINE_BUCKET`).
        #[arg(long)]
        bucket: Option<String>,
    },
}

/// Runs `adx quarantine`.
pub fn run(args: QuarantineArgs) -> Result<(), String> {
    match args.command {
        QuarantineCommand::Replay { prefix, bucket } => replay(&prefix, bucket),
    }
}

fn replay(prefix: &str, bucket: Option<String>) -> Result<(), String> {
    let config = HandlerConfig::from_env().map_err(|e| e.to_string())?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let bucket = bucket.unwrap_or_else(|| config.ingest.quarantine_bucket.clone());
    let stream = config.stream_config();
    let keys = adapters
        .store
        .list(&bucket, prefix)
        .map_err(|e| e.to_string())?;
    let keys: Vec<&String> = keys.iter().filter(|k| k.ends_with(".jsonl")).collect();
    if keys.is_empty() {
        eprintln!("no quarantine object matched s3://{bucket}/{prefix}: nothing to replay");
    }
    let mut reports: Vec<ReplayReport> = Vec::new();
    // An object that cannot be replayed is reported and the others go on; the command then
    // fails at the end.
    let mut failed: Vec<(String, String)> = Vec::new();
    for key in keys {
        match replay_object(adapters.ports(), &stream, &bucket, key) {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("replaying s3://{bucket}/{key}: {e}");
                failed.push((key.clone(), e.to_string()));
            }
        }
    }
    let sum = |f: &dyn Fn(&adx_core::DatasetReport) -> u64| -> u64 {
        reports
            .iter()
            .flat_map(|r| r.datasets.values())
            .map(f)
            .sum()
    };
    let answer = json!({
        "bucket": bucket,
        "prefix": prefix,
        "replayed_objects": reports.len(),
        "entries": reports.iter().map(|r| r.entries).sum::<u64>(),
        "curated": sum(&|d| d.curated),
        "still_quarantined": sum(&|d| d.quarantined),
        "duplicates": sum(&|d| d.duplicates),
        "objects": reports,
        "failed": failed
            .iter()
            .map(|(key, error)| json!({"key": key, "error": error}))
            .collect::<Vec<_>>(),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} quarantine object(s) could not be replayed (listed under \"failed\")",
            failed.len()
        ))
    }
}
