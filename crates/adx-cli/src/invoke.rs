//! `adx invoke <function> --event <file>`: the very handler the Lambda runs, once, with its
//! configuration from the environment; prints the handler's JSON answer.

use crate::stats::{ProcessStats, cpu_seconds};
use adx_core::WrittenObject;
use adx_handlers::{Adapters, handle_kafka_event, handle_s3_event, s3_event::parse_event};
use clap::{Args, ValueEnum};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The functions `adx invoke` can run.
#[derive(Clone, Copy, ValueEnum)]
pub enum Function {
    /// The S3-triggered file-ingest function.
    FileIngest,
    /// The MSK-triggered stream-ingest function.
    StreamIngest,
}

/// Arguments of `adx invoke`.
#[derive(Args)]
#[command(
    after_help = "Example (the embedded default; S3 and Glue when ADX_STORE_ROOT and ADX_SCHEMA_DIR are unset):\n  \
    ADX_STORE_ROOT=out/demo ADX_SCHEMA_DIR=schemas \\\n    adx invoke file-ingest --event out/demo/events/click_conversions-csv.json --curated-bucket curated --quarantine-bucket quarantine"
)]
pub struct InvokeArgs {
    /// Which function.
    function: Function,
    /// The event JSON file (`-` for standard input).
    #[arg(long)]
    event: PathBuf,
    /// Also print elapsed seconds and peak memory to standard error.
    #[arg(long)]
    stats: bool,
    /// Handle the same event this many times in one process, as a warm Lambda would; with
    /// --stats, the figures are then per invocation, averaged over the warm ones (all but the first).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// With --repeat and a local store (`ADX_STORE_ROOT`): before each invocation, remove the
    /// objects the previous one wrote (not timed), so that every warm invocation writes new
    /// objects, as successive batches do, rather than replacing its own.
    #[arg(long)]
    remove_outputs: bool,
    #[command(flatten)]
    buckets: crate::bucket_args::BucketArgs,
}

/// Runs the handler and prints its answer.
pub fn run(args: InvokeArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let bytes = if args.event.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading the event from stdin: {e}"))?;
        buf
    } else {
        std::fs::read(&args.event).map_err(|e| format!("reading {}: {e}", args.event.display()))?
    };
    let config = args.buckets.config()?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let repeat = args.repeat.max(1);
    let mut answer = String::new();
    let mut written: Vec<WrittenObject> = Vec::new();
    // Seconds of wall clock and of CPU over the warm invocations (all but the first).
    let (mut warm_wall, mut warm_cpu) = (0.0, 0.0);
    for i in 0..repeat {
        if args.remove_outputs {
            remove_objects(config.store_root.as_deref(), &written)?;
        }
        let (at, cpu) = (std::time::Instant::now(), cpu_seconds());
        // The event is parsed every time: Lambda hands each invocation its JSON.
        let report = match args.function {
            Function::FileIngest => {
                let event = parse_event(&bytes)?;
                handle_s3_event(&adapters, &config, &event)
            }
            Function::StreamIngest => {
                let event = adx_handlers::kafka_event::parse_event(&bytes)?;
                handle_kafka_event(&adapters, &config, &event)
            }
        }
        .map_err(|e| format!("handler failed: {e}"))?;
        answer = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        if i > 0 {
            warm_wall += at.elapsed().as_secs_f64();
            warm_cpu += cpu_seconds() - cpu;
        }
        written = report
            .datasets
            .into_values()
            .flat_map(|d| d.objects)
            .collect();
    }
    println!("{answer}");
    if args.stats {
        let mut stats = ProcessStats::read(started);
        if repeat > 1 {
            let warm = (repeat - 1) as f64;
            stats.wall_s = warm_wall / warm;
            stats.cpu_s = warm_cpu / warm;
        }
        eprintln!(
            "{}",
            serde_json::to_string(&stats).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

/// Removes `objects` from the local store at `root`; an object already gone is no error. Only
/// a local store can be cleared: with S3 the objects stay.
fn remove_objects(root: Option<&Path>, objects: &[WrittenObject]) -> Result<(), String> {
    let Some(root) = root else {
        return Err("--remove-outputs needs a local store (ADX_STORE_ROOT)".to_string());
    };
    for object in objects {
        let path = root.join(&object.bucket).join(&object.key);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("removing {}: {e}", path.display())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(bucket: &str, key: &str) -> WrittenObject {
        WrittenObject {
            kind: "curated",
            bucket: bucket.to_string(),
            key: key.to_string(),
            records: 1,
            bytes: 1,
        }
    }

    #[test]
    fn removes_the_objects_named_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for key in ["d/dt=2026-11-28/hr=06/a.parquet", "d/keep.parquet"] {
            let path = root.join("curated").join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"x").unwrap();
        }
        let named = [
            object("curated", "d/dt=2026-11-28/hr=06/a.parquet"),
            // Already gone: not an error.
            object("quarantine", "d/never-written.jsonl"),
        ];
        remove_objects(Some(root), &named).unwrap();
        assert!(
            !root
                .join("curated/d/dt=2026-11-28/hr=06/a.parquet")
                .exists()
        );
        assert!(root.join("curated/d/keep.parquet").exists());
    }

    #[test]
    fn without_a_local_store_nothing_can_be_removed() {
        let err = remove_objects(None, &[object("curated", "k")]).unwrap_err();
        assert!(err.contains("ADX_STORE_ROOT"), "{err}");
    }
}
