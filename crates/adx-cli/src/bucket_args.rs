//! The two buckets every handler writes to, as flags of the commands that run a handler
//! (`invoke`, `consume`, `failed redrive`, `quarantine replay`). Each falls back to its
//! environment variable, as the Lambda functions read it, so that `--help` says what the
//! command needs and a shell that exports the variables needs no flag.

use adx_handlers::HandlerConfig;
use clap::Args;

/// `--curated-bucket` and `--quarantine-bucket`.
#[derive(Args, Debug, Clone, Default)]
#[command(
    next_help_heading = "Buckets (required: each as a flag or from its environment variable)"
)]
pub struct BucketArgs {
    /// Where the curated Parquet data files and the pending manifests go. On the embedded
    /// default (ADX_STORE_ROOT), any name: a folder under the store root.
    #[arg(long, env = "CURATED_BUCKET", value_name = "BUCKET")]
    pub curated_bucket: Option<String>,
    /// Where each refused record goes, with its reason.
    #[arg(long, env = "QUARANTINE_BUCKET", value_name = "BUCKET")]
    pub quarantine_bucket: Option<String>,
}

impl BucketArgs {
    /// The handlers' configuration: these two buckets, and every other setting from the
    /// environment, as a function reads it.
    pub fn config(&self) -> Result<HandlerConfig, String> {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        if given(&self.curated_bucket).is_none() {
            return Err("no curated bucket: give --curated-bucket or set CURATED_BUCKET".into());
        }
        if given(&self.quarantine_bucket).is_none() {
            return Err(
                "no quarantine bucket: give --quarantine-bucket or set QUARANTINE_BUCKET".into(),
            );
        }
        HandlerConfig::from_lookup(&|name| match name {
            "CURATED_BUCKET" => given(&self.curated_bucket),
            "QUARANTINE_BUCKET" => given(&self.quarantine_bucket),
            other => std::env::var(other).ok(),
        })
        .map_err(|e| e.to_string())
    }
}

/// A bucket name that cannot exist (S3 names have no `!`): what a reading command is given for a
/// bucket it never writes to, so that a write by mistake fails loudly.
const NOT_WRITTEN: &str = "not-written!";

/// The configuration of a command that only reads (listing failed batches, counting or showing
/// quarantine): it needs neither bucket the handlers write to, so each comes from its
/// environment variable when set and is otherwise a name no write can reach.
pub fn reading_config() -> Result<HandlerConfig, String> {
    HandlerConfig::from_lookup(&|name| match name {
        "CURATED_BUCKET" | "QUARANTINE_BUCKET" => std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| Some(NOT_WRITTEN.to_string())),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_bucket_names_its_flag_and_its_variable() {
        let none = BucketArgs::default();
        let Err(e) = none.config() else {
            panic!("no bucket given, yet a configuration");
        };
        assert!(
            e.contains("--curated-bucket") && e.contains("CURATED_BUCKET"),
            "{e}"
        );
        let half = BucketArgs {
            curated_bucket: Some("c".into()),
            quarantine_bucket: Some(" ".into()),
        };
        let Err(e) = half.config() else {
            panic!("a blank quarantine bucket accepted");
        };
        assert!(e.contains("--quarantine-bucket"), "{e}");
    }

    #[test]
    fn the_flags_are_the_buckets_of_the_configuration() {
        let both = BucketArgs {
            curated_bucket: Some("cur".into()),
            quarantine_bucket: Some("qua".into()),
        };
        let config = both.config().map_err(|e| e.to_string());
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        assert_eq!(config.ingest.curated_bucket, "cur");
        assert_eq!(config.ingest.quarantine_bucket, "qua");
    }
}
