//! `adx consume`: the local event source mapping. A consumer group on the given topics hands
//! batches (by size and by window, as the MSK trigger does) to the stream handler, in this
//! process, with the handlers' configuration; offsets are committed only after the handler
//! succeeded, and a failed batch is retried. On the embedded default (`ADX_STORE_ROOT`), the
//! table committer runs every `--commit-interval` seconds and once more at the end, so that
//! the tables hold what was consumed (`adx tables sync` first makes them).

use crate::kafka_target::KafkaTarget;
use adx_handlers::{Adapters, handle_kafka_event, kafka_event::parse_event};
use adx_kafka::event::EventSource;
use adx_kafka::mapping::{
    MappingConfig, MappingReport, StartingPosition, StopWhen, run_with_progress,
};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::time::{Duration, Instant};

/// `StartingPosition` of the mapping.
#[derive(Clone, Copy, ValueEnum)]
enum Start {
    /// The oldest records the topic holds.
    TrimHorizon,
    /// Records produced from now on.
    Latest,
}

/// Arguments of `adx consume`.
#[derive(Args)]
#[command(
    after_help = "Example: the topics of a local broker into the embedded default, until 10 s without records:\n  \
    ADX_STORE_ROOT=out/stream ADX_SCHEMA_DIR=schemas \\\n    adx consume --bootstrap-servers 127.0.0.1:9092 --topics ad_impressions,click_conversions --group adx --until-idle 10 \\\n      --curated-bucket curated --quarantine-bucket quarantine\n\n\
On a terminal it shows records, records/s, batches and the group's lag as it goes. Ctrl-C stops it \
after the batch in hand is handled and committed, commits the tables, and prints the summary; a \
batch that is failing and being retried stops instead with its offsets uncommitted (the next run \
hands it over again). A second Ctrl-C ends it at once."
)]
pub struct ConsumeArgs {
    #[command(flatten)]
    target: KafkaTarget,
    /// Topics, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    topics: Vec<String>,
    /// Consumer group id.
    #[arg(long, default_value = "adx-stream-ingest")]
    group: String,
    /// `BatchSize`: the most records per invocation.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`.
    #[arg(long, default_value_t = 0.5)]
    batching_window: f64,
    /// `StartingPosition` of a group without committed offsets.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    starting_position: Start,
    /// Retries of a failed batch before the mapping stops (default: until it succeeds).
    #[arg(long)]
    max_retries: Option<u32>,
    /// Stop once no record came for this many seconds (default: run until interrupted).
    #[arg(long)]
    until_idle: Option<f64>,
    /// Stop once this many records were handled.
    #[arg(long)]
    max_records: Option<u64>,
    /// Seconds between two runs of the table committer (embedded default only).
    #[arg(long, default_value_t = 60.0)]
    commit_interval: f64,
    #[command(flatten)]
    buckets: crate::bucket_args::BucketArgs,
}

/// Runs `adx consume`.
pub fn run(args: ConsumeArgs) -> Result<(), String> {
    let (connection, arn) = args.target.connect()?;
    let config = args.buckets.config()?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let mapping = MappingConfig {
        topics: args.topics.clone(),
        group_id: args.group.clone(),
        batch_size: args.batch_size,
        batching_window: Duration::from_secs_f64(args.batching_window.max(0.0)),
        starting_position: match args.starting_position {
            Start::TrimHorizon => StartingPosition::TrimHorizon,
            Start::Latest => StartingPosition::Latest,
        },
        source: EventSource {
            arn,
            bootstrap_servers: connection.bootstrap_servers.clone(),
        },
        max_retries: args.max_retries,
        interrupt: Some(crate::interrupt::on_ctrl_c()),
        retry_backoff: Duration::from_millis(500),
        stop: StopWhen {
            idle: args.until_idle.map(Duration::from_secs_f64),
            records: args.max_records,
        },
    };
    let mut totals: std::collections::BTreeMap<String, adx_core::DatasetReport> =
        Default::default();
    let tables = config.store_root.clone();
    let curated = config.ingest.curated_bucket.clone();
    let interval = Duration::from_secs_f64(args.commit_interval.max(0.0));
    let mut committed = 0u64;
    let mut last_commit = Instant::now();
    let mut handler = |event: &[u8]| -> Result<(), String> {
        let event = parse_event(event)?;
        let report = handle_kafka_event(&adapters, &config, &event).map_err(|e| e.to_string())?;
        for (dataset, r) in report.datasets {
            totals.entry(dataset).or_default().merge(r);
        }
        if let Some(root) = &tables
            && last_commit.elapsed() >= interval
        {
            committed += commit_now(root, &curated, &adapters)?;
            last_commit = Instant::now();
        }
        Ok(())
    };
    let bar = progress_line();
    let started = Instant::now();
    let mut show =
        |report: &MappingReport| bar.set_message(progress_text(report, started.elapsed()));
    let report = run_with_progress(&connection, &mapping, &mut handler, &mut show)
        .map_err(|e| e.to_string());
    bar.finish_and_clear();
    let report = report?;
    if report.interrupted {
        eprintln!("adx consume: interrupted; every batch it read was handled and committed");
    }
    if let Some(root) = &tables {
        committed += commit_now(root, &curated, &adapters)?;
    }
    let datasets: serde_json::Map<String, serde_json::Value> = totals
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                json!({"received": r.received, "curated": r.curated, "quarantined": r.quarantined,
                       "duplicates": r.duplicates, "tombstones": r.tombstones, "objects": r.objects.len()}),
            )
        })
        .collect();
    let answer = json!({"mapping": report, "datasets": datasets, "committed_to_tables": committed});
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The progress line on standard error: shown on a terminal only.
fn progress_line() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// `12,000 records · 4,100 records/s · 120 batches · lag 3,400 · 0 failed attempts`.
fn progress_text(report: &MappingReport, elapsed: Duration) -> String {
    let rate = if report.busy_seconds > 0.0 {
        report.records as f64 / report.busy_seconds
    } else {
        report.records as f64 / elapsed.as_secs_f64().max(1e-3)
    };
    let lag = report
        .lag
        .map_or_else(|| "lag ?".to_string(), |lag| format!("lag {lag}"));
    format!(
        "{} records · {:.0} records/s · {} batches · {lag} · {} failed attempts (Ctrl-C: stop)",
        report.records, rate, report.batches, report.failed_attempts
    )
}

/// One committer run over the local catalog of `root`: the records it added.
fn commit_now(root: &std::path::Path, curated: &str, adapters: &Adapters) -> Result<u64, String> {
    let report = crate::tables_cmd::commit_with(
        root,
        curated,
        adapters.store.as_ref(),
        adapters.registry.as_ref(),
        &adapters.catalog,
        // Between batches, in this process: nothing writes while it lists.
        std::time::Duration::ZERO,
    )?;
    Ok(report.records())
}
