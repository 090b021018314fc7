//! `adx produce`: publishes generated records of one dataset (plain JSON or Glue-framed Avro,
//! with optional shares of bad records, duplicates, broken framing and tombstones) to a Kafka
//! topic at a target rate, with a progress bar; prints what was sent and what it holds.

use crate::gen_cmd::{arrival_ms, parse_version_id};
use crate::kafka_target::KafkaTarget;
use crate::samples::stream_encoding;
use adx_gen::{Dataset, GenConfig, MskConfig, StreamValue};
use adx_kafka::produce::{ProduceConfig, create_topic, produce};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `adx produce`.
#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    target: KafkaTarget,
    /// Dataset of the records.
    #[arg(long)]
    dataset: String,
    /// Topic (default: the dataset's name).
    #[arg(long)]
    topic: Option<String>,
    /// Number of records (bad ones and duplicates included).
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Value encoding: `json`, `glue` (Glue-framed Avro) or `glue-zlib`.
    #[arg(long, default_value = "json")]
    encoding: String,
    /// Records per second to aim at (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Create the topic with this many partitions if it does not exist.
    #[arg(long)]
    partitions: Option<i32>,
    /// Share of records breaking one check of the data contract.
    #[arg(long, default_value_t = 0.0)]
    bad_share: f64,
    /// Share of duplicates of earlier keys.
    #[arg(long, default_value_t = 0.0)]
    duplicate_share: f64,
    /// Share of values broken at the framing level.
    #[arg(long, default_value_t = 0.0)]
    framing_bad_share: f64,
    /// Share of tombstones (null values).
    #[arg(long, default_value_t = 0.0)]
    tombstone_share: f64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Arrival time (RFC 3339): the records' Kafka timestamp; event times fall in the 6 hours
    /// before it, squeezed into the last 5 minutes. Default: now.
    #[arg(long)]
    arrival: Option<String>,
    /// Schema version ids to frame Glue records with, `dataset=uuid` (default: the local schema
    /// folder's ids).
    #[arg(long = "version-id", value_parser = parse_version_id)]
    version_ids: Vec<(String, String)>,
    /// Folder of the `.avsc` files.
    #[arg(long, env = "ADX_SCHEMA_DIR", default_value = "schemas")]
    schema_dir: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `adx produce`.
pub fn run(args: ProduceArgs) -> Result<(), String> {
    let dataset: Dataset = args.dataset.parse().map_err(|e| format!("{e}"))?;
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| dataset.name().to_string());
    let (connection, _) = args.target.connect()?;
    if let Some(partitions) = args.partitions {
        create_topic(&connection, &topic, partitions).map_err(|e| e.to_string())?;
    }
    let arrival = arrival_ms(args.arrival.as_deref())?;
    let config = GenConfig {
        seed: args.seed,
        records: args.records,
        bad_share: args.bad_share,
        duplicate_share: args.duplicate_share,
        arrival_ms: arrival,
    };
    let (schema_text, encoding) =
        stream_encoding(&args.schema_dir, dataset, &args.encoding, &args.version_ids)?;
    let schema = apache_avro::Schema::parse_str(&schema_text).map_err(|e| e.to_string())?;
    let msk = MskConfig {
        topic: topic.clone(),
        partitions: 1,
        encoding,
        framing_bad_share: args.framing_bad_share,
        tombstone_share: args.tombstone_share,
        event_window_ms: Some(300_000),
    };
    let mut values =
        adx_gen::stream_values(dataset, &config, &msk, &schema).map_err(|e| e.to_string())?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(args.records as u64), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records, {per_sec}, eta {eta}")
            .map_err(|e| e.to_string())?,
    );
    let produce_config = ProduceConfig {
        topic: topic.clone(),
        rate: Some(args.rate).filter(|r| *r > 0.0),
        timestamp_ms: Some(arrival),
    };
    let records = values.by_ref().map(|v| {
        v.map(|StreamValue { key, value }| (key.map(String::into_bytes), value))
            .map_err(|e| e.to_string())
    });
    let report = produce(&connection, &produce_config, records, &mut |n| {
        bar.set_position(n)
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let counts = values.counts();
    let answer = json!({
        "topic": topic,
        "dataset": dataset.name(),
        "encoding": args.encoding,
        "produced": report.produced,
        "seconds": report.seconds,
        "records_per_second": report.produced as f64 / report.seconds.max(1e-9),
        "holds": counts,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?
    );
    Ok(())
}
