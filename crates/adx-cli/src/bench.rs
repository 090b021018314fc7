//! `adx bench`: whole-handler runs on generated objects. For each dataset and format it writes
//! one object, then runs `adx invoke file-ingest --stats` on it several times as a child
//! process and reports medians: records/s per core (records ÷ CPU seconds), input MB/s and
//! peak RSS of the whole process.

use crate::embedded::write_schemas;
use crate::samples::{SampleSpec, parse_compression, parse_format, write_sample};
use crate::stats::ProcessStats;
use adx_gen::{Compression, Dataset, Format, GenConfig};
use clap::Args;
use std::path::PathBuf;
use std::process::Command;

/// Arguments of `adx bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Working folder (objects and outputs; cleared first).
    #[arg(long, default_value = "out/bench")]
    dir: PathBuf,
    /// Records per object.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Runs per object; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Datasets (default: each in its own format: click_conversions CSV, ad_impressions JSON Lines, bid_requests Avro).
    #[arg(long = "dataset")]
    datasets: Vec<String>,
    /// Formats (with --dataset): csv, jsonl, json, avro, avro-deflate, avro-snappy, avro-zstd.
    #[arg(long = "format")]
    formats: Vec<String>,
    /// Compression of the objects: none, gz, zst.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Share of bad records.
    #[arg(long, default_value_t = 0.0)]
    bad_share: f64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs the benchmark and prints a table.
pub fn run(args: BenchArgs) -> Result<(), String> {
    let compression: Compression = parse_compression(&args.compression)?;
    let cases: Vec<(Dataset, Format)> = if args.datasets.is_empty() {
        vec![
            (Dataset::ClickConversions, Format::Csv),
            (Dataset::AdImpressions, Format::JsonLines),
            (Dataset::BidRequests, Format::Avro(adx_gen::AvroCodec::Null)),
        ]
    } else {
        let formats: Vec<Format> = if args.formats.is_empty() {
            vec![
                Format::Csv,
                Format::JsonLines,
                Format::Avro(adx_gen::AvroCodec::Null),
            ]
        } else {
            args.formats
                .iter()
                .map(|f| parse_format(f))
                .collect::<Result<_, _>>()?
        };
        let mut cases = Vec::new();
        for d in &args.datasets {
            let dataset: Dataset = d.parse().map_err(|e| format!("{e}"))?;
            cases.extend(formats.iter().map(|f| (dataset, *f)));
        }
        cases
    };
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .map_err(|e| format!("clearing {}: {e}", args.dir.display()))?;
    }
    let schema_dir = args.dir.join("schemas");
    write_schemas(&schema_dir)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!(
        "{:<18} {:<13} {:>9} {:>9} {:>14} {:>10} {:>10} {:>9}",
        "dataset",
        "format",
        "records",
        "input MB",
        "records/s/core",
        "MB/s/core",
        "wall s",
        "peak MiB"
    );
    for (dataset, format) in cases {
        let spec = SampleSpec {
            bucket_dir: &args.dir.join("landing"),
            bucket: "landing",
            events_dir: Some(&args.dir.join("events")),
            schema_dir: &schema_dir,
            config: GenConfig {
                seed: 1,
                records: args.records,
                bad_share: args.bad_share,
                duplicate_share: 0.0,
                arrival_ms: 1_795_845_600_000,
            },
        };
        let sample = write_sample(&spec, dataset, format, compression)?;
        let event = sample.event.clone().ok_or("no event")?;
        let (mut cpu, mut wall, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.runs.max(1) {
            let output = Command::new(&exe)
                .args(["invoke", "file-ingest", "--stats", "--event"])
                .arg(&event)
                .env("ADX_STORE_ROOT", &args.dir)
                .env("ADX_SCHEMA_DIR", &schema_dir)
                .env("CURATED_BUCKET", "curated")
                .env("QUARANTINE_BUCKET", "quarantine")
                .output()
                .map_err(|e| format!("running {}: {e}", exe.display()))?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() {
                return Err(format!("adx invoke failed on {}: {stderr}", sample.key));
            }
            let stats: ProcessStats = stderr
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .ok_or_else(|| format!("no stats line in: {stderr}"))?;
            cpu.push(stats.cpu_s);
            wall.push(stats.wall_s);
            rss.push(stats.peak_rss_mib);
        }
        let (cpu, wall, rss) = (median(&mut cpu), median(&mut wall), median(&mut rss));
        let mb = sample.bytes as f64 / 1e6;
        println!(
            "{:<18} {:<13} {:>9} {:>9.1} {:>14.0} {:>10.1} {:>10.3} {:>9.1}",
            sample.dataset,
            format!("{}{}", sample.format, compression.suffix()),
            args.records,
            mb,
            args.records as f64 / cpu.max(1e-9),
            mb / cpu.max(1e-9),
            wall,
            rss
        );
        std::fs::remove_file(&sample.path).map_err(|e| e.to_string())?;
        for bucket in ["curated", "quarantine"] {
            let _ = std::fs::remove_dir_all(args.dir.join(bucket));
        }
    }
    Ok(())
}
