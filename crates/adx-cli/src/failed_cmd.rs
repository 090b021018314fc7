//! `adx failed`: the MSK batches the stream mapping gave up on, kept whole in its S3 on-failure
//! destination (the template's failed-batches bucket). `list` shows each with why it failed and
//! the offsets it covers; `redrive` hands each batch to the stream handler again, with the
//! handlers' configuration and adapters (S3 and Glue, or the embedded default). A redrive is
//! exactly once: the handler writes the same objects under the same names, and the committer
//! drops what a table already holds.

use adx_handlers::Adapters;
use adx_handlers::failed_batch::{list_failed, redrive};
use clap::{Args, Subcommand};
use serde_json::json;

/// `adx failed`.
#[derive(Args)]
pub struct FailedArgs {
    #[command(subcommand)]
    command: FailedCommand,
}

#[derive(Subcommand)]
enum FailedCommand {
    /// Lists the failed batches: why each failed, its records and the offsets it covers.
    List {
        /// The failed-batches bucket (the template's `FailedBatchesBucketName`).
        #[arg(long, env = "FAILED_BATCHES_BUCKET")]
        bucket: String,
        /// Only the objects under this key prefix.
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Hands each failed batch under a prefix to the stream handler again and prints what each
    /// gave; goes on past a batch it cannot redrive and fails at the end.
    #[command(after_help = "Example:\n  \
        adx failed redrive --bucket adx-dev-failed-batches-<account>-<region> --remove\n  \
        adx commit --catalog glue --database adx_dev   # or wait for the committer's next run")]
    Redrive {
        /// The failed-batches bucket (the template's `FailedBatchesBucketName`).
        #[arg(long, env = "FAILED_BATCHES_BUCKET")]
        bucket: String,
        /// Only the objects under this key prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Remove each object once its batch was handled (a later redrive then skips it).
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        buckets: crate::bucket_args::BucketArgs,
    },
}

/// Runs `adx failed`.
pub fn run(args: FailedArgs) -> Result<(), String> {
    match args.command {
        FailedCommand::List { bucket, prefix } => {
            let config = crate::bucket_args::reading_config()?;
            let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
            let listed = list_failed(&adapters, &bucket, &prefix).map_err(|e| e.to_string())?;
            let out: Vec<serde_json::Value> = listed
                .into_iter()
                .map(|item| match item {
                    Ok(summary) => json!(summary),
                    Err((key, reason)) => json!({"key": key, "error": reason}),
                })
                .collect();
            if out.is_empty() {
                eprintln!("no failed batch under s3://{bucket}/{prefix}");
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        FailedCommand::Redrive {
            bucket,
            prefix,
            remove,
            buckets,
        } => {
            let config = buckets.config()?;
            let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
            let mut keys = adapters
                .store
                .list(&bucket, &prefix)
                .map_err(|e| e.to_string())?;
            keys.sort();
            if keys.is_empty() {
                eprintln!("no failed batch under s3://{bucket}/{prefix}: nothing to redrive");
            }
            let mut done = Vec::new();
            let mut failed = Vec::new();
            for key in keys {
                match redrive(&adapters, &config, &bucket, &key) {
                    Ok(report) => {
                        if remove {
                            adapters
                                .store
                                .delete(&bucket, &key)
                                .map_err(|e| format!("removing s3://{bucket}/{key}: {e}"))?;
                        }
                        done.push(json!({"key": key, "report": report, "removed": remove}));
                    }
                    Err(e) => {
                        eprintln!("redriving s3://{bucket}/{key}: {e}");
                        failed.push(json!({"key": key, "error": e.to_string()}));
                    }
                }
            }
            let count = failed.len();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"redriven": done, "failed": failed}))
                    .map_err(|e| e.to_string())?
            );
            if count == 0 {
                Ok(())
            } else {
                Err(format!("{count} failed batch(es) could not be redriven"))
            }
        }
    }
}
