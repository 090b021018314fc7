//! `adx quarantine`: working through what was refused. `stats` counts the entries by dataset,
//! day, kind and field; `show` prints entries with their payload decoded; `replay` re-drives
//! quarantined records through the same pipeline (after a schema fix, say), with the handlers'
//! configuration and adapters (S3 and Glue, or the embedded default): what still fails stays in
//! quarantine, and nothing is lost or doubled. `replay --dry-run` says what would be recovered
//! and writes nothing.

use adx_core::{ObjectStore, ObjectWriter, ReplayReport, StoreError, replay_object};
use adx_handlers::Adapters;
use clap::{Args, Subcommand};
use serde_json::Value;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Read;

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
        /// Say what would be recovered and what would still fail, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The quarantine bucket read (and rewritten) is `--quarantine-bucket`.
        #[command(flatten)]
        buckets: crate::bucket_args::BucketArgs,
    },
    /// Counts the quarantined entries under a prefix by dataset, day, kind and field.
    #[command(after_help = "Example:\n  adx quarantine stats --prefix ad_impressions/")]
    Stats {
        /// Key prefix in the quarantine bucket (default: all of it).
        #[arg(long, default_value = "")]
        prefix: String,
        /// The quarantine bucket.
        #[arg(
            long = "quarantine-bucket",
            visible_alias = "bucket",
            env = "QUARANTINE_BUCKET",
            value_name = "BUCKET"
        )]
        bucket: Option<String>,
    },
    /// Prints quarantined entries under a prefix, one JSON object per line, each with its
    /// object's key and its payload decoded (`payload_text`) when it is text.
    #[command(
        after_help = "Example:\n  adx quarantine show --prefix click_conversions/dt=2026-11-28/ --limit 5"
    )]
    Show {
        /// Key prefix in the quarantine bucket (default: all of it).
        #[arg(long, default_value = "")]
        prefix: String,
        /// The quarantine bucket.
        #[arg(
            long = "quarantine-bucket",
            visible_alias = "bucket",
            env = "QUARANTINE_BUCKET",
            value_name = "BUCKET"
        )]
        bucket: Option<String>,
        /// The most entries to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// Runs `adx quarantine`.
pub fn run(args: QuarantineArgs) -> Result<(), String> {
    match args.command {
        QuarantineCommand::Replay {
            prefix,
            dry_run,
            buckets,
        } => replay(&prefix, &buckets, dry_run),
        QuarantineCommand::Stats { prefix, bucket } => stats(&prefix, bucket),
        QuarantineCommand::Show {
            prefix,
            bucket,
            limit,
        } => show(&prefix, bucket, limit),
    }
}

fn replay(
    prefix: &str,
    buckets: &crate::bucket_args::BucketArgs,
    dry_run: bool,
) -> Result<(), String> {
    let config = buckets.config()?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let bucket = config.ingest.quarantine_bucket.clone();
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
    let dry = DryRun(adapters.store.as_ref());
    let ports = if dry_run {
        adx_core::Ports {
            store: &dry,
            ..adapters.ports()
        }
    } else {
        adapters.ports()
    };
    let progress = progress_bar(keys.len());
    for key in keys {
        progress.inc(1);
        match replay_object(ports, &stream, &bucket, key) {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("replaying s3://{bucket}/{key}: {e}");
                failed.push((key.clone(), e.to_string()));
            }
        }
    }
    progress.finish_and_clear();
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
        "dry_run": dry_run,
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

/// A bar on standard error for a replay of more than a few objects, when it is a terminal.
fn progress_bar(objects: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if objects < 20 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(objects as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("replaying {pos}/{len} objects {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// A store that reads through to another and writes nowhere: what a replay would do, done
/// with nothing written (`--dry-run`).
struct DryRun<'a>(&'a dyn ObjectStore);

/// A writer that keeps nothing.
struct Nowhere;

impl ObjectWriter for Nowhere {
    fn write(&mut self, _bytes: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl ObjectStore for DryRun<'_> {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.0.get(bucket, key)
    }

    fn get_pinned(
        &self,
        bucket: &str,
        key: &str,
        pin: &adx_core::Pin,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        self.0.get_pinned(bucket, key, pin)
    }

    fn create(&self, _bucket: &str, _key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        Ok(Box::new(Nowhere))
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.list(bucket, prefix)
    }

    fn delete(&self, _bucket: &str, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn put(&self, _bucket: &str, _key: &str, _bytes: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Every quarantine entry under `prefix` of `bucket`, with its object's key, in key order.
fn entries(
    adapters: &Adapters,
    bucket: &str,
    prefix: &str,
    limit: Option<usize>,
) -> Result<Vec<(String, Value)>, String> {
    let mut keys = adapters
        .store
        .list(bucket, prefix)
        .map_err(|e| e.to_string())?;
    keys.retain(|k| k.ends_with(".jsonl"));
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let mut text = String::new();
        adapters
            .store
            .get(bucket, &key)
            .map_err(|e| e.to_string())?
            .read_to_string(&mut text)
            .map_err(|e| format!("reading s3://{bucket}/{key}: {e}"))?;
        for (n, line) in text.lines().enumerate() {
            if limit.is_some_and(|l| out.len() >= l) {
                return Ok(out);
            }
            let entry: Value = serde_json::from_str(line).map_err(|e| {
                format!(
                    "s3://{bucket}/{key} line {}: not a quarantine entry: {e}",
                    n + 1
                )
            })?;
            out.push((key.clone(), entry));
        }
    }
    Ok(out)
}

/// The day of a quarantine object, from its key's `dt=` segment.
fn day_of(key: &str) -> String {
    key.split('/')
        .find_map(|s| s.strip_prefix("dt="))
        .unwrap_or("?")
        .to_string()
}

fn stats(prefix: &str, bucket: Option<String>) -> Result<(), String> {
    let config = crate::bucket_args::reading_config()?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let bucket =
        bucket.ok_or("no quarantine bucket: give --quarantine-bucket or set QUARANTINE_BUCKET")?;
    let all = entries(&adapters, &bucket, prefix, None)?;
    let mut by: [BTreeMap<String, u64>; 4] = Default::default();
    for (key, entry) in &all {
        let dataset = entry["dataset"].as_str().unwrap_or("?").to_string();
        let field = entry["error"]["field"].as_str().map_or_else(
            || "(whole record)".to_string(),
            |f| format!("{dataset}.{f}"),
        );
        for (map, k) in by.iter_mut().zip([
            dataset.clone(),
            day_of(key),
            entry["error"]["kind"].as_str().unwrap_or("?").to_string(),
            field,
        ]) {
            *map.entry(k).or_default() += 1;
        }
    }
    let [datasets, days, kinds, fields] = by;
    if all.is_empty() {
        eprintln!("no quarantine entry under s3://{bucket}/{prefix}");
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "bucket": bucket, "prefix": prefix, "entries": all.len(),
            "datasets": datasets, "days": days, "kinds": kinds, "fields": fields,
        }))
        .map_err(|e| e.to_string())?
    );
    Ok(())
}

fn show(prefix: &str, bucket: Option<String>, limit: usize) -> Result<(), String> {
    use base64::Engine;
    let config = crate::bucket_args::reading_config()?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let bucket =
        bucket.ok_or("no quarantine bucket: give --quarantine-bucket or set QUARANTINE_BUCKET")?;
    let shown = entries(&adapters, &bucket, prefix, Some(limit))?;
    if shown.is_empty() {
        eprintln!("no quarantine entry under s3://{bucket}/{prefix}");
    }
    for (key, mut entry) in shown {
        let text = match (&entry["payload"], &entry["payload_base64"]) {
            (Value::String(text), _) => Some(text.clone()),
            (_, Value::String(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok()),
            _ => None,
        };
        entry["key"] = json!(key);
        entry["payload_text"] = json!(text);
        println!("{entry}");
    }
    Ok(())
}
