//! `adx bench`: whole-handler runs on generated input. For each case it writes one landing
//! object (or one MSK event with `--stream`), then runs `adx invoke ... --stats` on it several
//! times as a child process and reports medians: records/s per core (records ÷ CPU seconds of
//! the process, all its threads), input MB/s per core, wall seconds, records/s of wall time
//! (what a second core buys shows here: run it under `taskset -c 0` for one core) and peak
//! RSS of the whole process.

use crate::embedded::write_schemas;
use crate::samples::{
    CompressionArg, SampleSpec, StreamSpec, arg_name, parse_compression, parse_format,
    write_msk_event, write_sample,
};
use crate::stats::ProcessStats;
use adx_gen::{AvroCodec, Compression, Dataset, Format, GenConfig};
use clap::Args;

/// Event times of generated stream records fall in the 10 minutes before arrival.
const STREAM_EVENT_WINDOW_MS: i64 = 600_000;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `adx bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Working folder (inputs and outputs; cleared first).
    #[arg(long, default_value = "out/bench")]
    dir: PathBuf,
    /// Records per object or MSK event.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Runs per case; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Datasets (default: each in its own format: click_conversions CSV, ad_impressions JSON
    /// Lines, bid_requests Avro; with --stream: ad_impressions JSON and Glue Avro, bid_requests Glue Avro).
    #[arg(long = "dataset")]
    datasets: Vec<String>,
    /// Formats (with --dataset): csv, jsonl, json, avro, avro-deflate, avro-snappy, avro-zstd;
    /// with --stream: glue, glue-zlib, json.
    #[arg(long = "format")]
    formats: Vec<String>,
    /// Compression of the objects.
    #[arg(long, value_enum, default_value = "none")]
    compression: CompressionArg,
    /// Share of bad records.
    #[arg(long, default_value_t = 0.0)]
    bad_share: f64,
    /// Benchmark the stream handler on MSK events instead of the file handler.
    #[arg(long)]
    stream: bool,
    /// With --stream: invocations per process run; figures are per warm invocation (the first,
    /// which builds the clients and compiles the schemas, is left out), as in a warm Lambda.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Partitions of the MSK events (with --stream).
    #[arg(long, default_value_t = 3)]
    partitions: u32,
    /// Benchmark the whole local stream path on the Kafka broker at these bootstrap servers:
    /// produce, then the local event source mapping with the stream handler (ad_impressions
    /// JSON and bid_requests Glue Avro unless --dataset/--format narrow it).
    #[arg(long, conflicts_with = "stream")]
    kafka: Option<String>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Medians of `runs` runs of `adx invoke <function> --stats --event <event>`.
fn measure(
    exe: &Path,
    dir: &Path,
    schema_dir: &Path,
    function: &str,
    event: &Path,
    runs: usize,
    repeat: usize,
) -> Result<ProcessStats, String> {
    let (mut cpu, mut wall, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        for bucket in ["curated", "quarantine"] {
            let _ = std::fs::remove_dir_all(dir.join(bucket));
        }
        let output = Command::new(exe)
            .args([
                "invoke",
                function,
                "--stats",
                "--repeat",
                &repeat.to_string(),
                // Successive batches write new objects; replacing the previous invocation's
                // own (a retry's case) costs the local file system an inode eviction and a
                // forced write-back per object, which no S3 PUT pays.
                "--remove-outputs",
                "--event",
            ])
            .arg(event)
            .env("ADX_STORE_ROOT", dir)
            .env("ADX_SCHEMA_DIR", schema_dir)
            .env("CURATED_BUCKET", "curated")
            .env("QUARANTINE_BUCKET", "quarantine")
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!(
                "adx invoke {function} failed on {}: {stderr}",
                event.display()
            ));
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
    Ok(ProcessStats {
        cpu_s: median(&mut cpu),
        wall_s: median(&mut wall),
        peak_rss_mib: median(&mut rss),
    })
}

fn row(dataset: &str, format: &str, records: usize, input_bytes: u64, s: &ProcessStats) {
    let mb = input_bytes as f64 / 1e6;
    println!(
        "{:<18} {:<13} {:>9} {:>9.1} {:>14.0} {:>10.1} {:>10.3} {:>11.0} {:>9.1}",
        dataset,
        format,
        records,
        mb,
        records as f64 / s.cpu_s.max(1e-9),
        mb / s.cpu_s.max(1e-9),
        s.wall_s,
        records as f64 / s.wall_s.max(1e-9),
        s.peak_rss_mib
    );
}

fn parse_datasets(names: &[String]) -> Result<Vec<Dataset>, String> {
    names
        .iter()
        .map(|d| d.parse().map_err(|e| format!("{e}")))
        .collect()
}

/// Runs the benchmark and prints a table.
pub fn run(args: BenchArgs) -> Result<(), String> {
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .map_err(|e| format!("clearing {}: {e}", args.dir.display()))?;
    }
    let schema_dir = args.dir.join("schemas");
    write_schemas(&schema_dir)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let config = GenConfig {
        seed: 1,
        records: args.records,
        bad_share: args.bad_share,
        duplicate_share: 0.0,
        arrival_ms: 1_795_845_600_000,
    };
    #[cfg(not(feature = "kafka"))]
    if args.kafka.is_some() {
        return Err(crate::built_without("kafka", "bench --kafka"));
    }
    #[cfg(feature = "kafka")]
    if let Some(bootstrap) = &args.kafka {
        let cases: Vec<crate::bench_kafka::KafkaCase> = if args.datasets.is_empty() {
            vec![
                (Dataset::AdImpressions, "json".to_string()),
                (Dataset::BidRequests, "glue".to_string()),
            ]
        } else {
            let formats = if args.formats.is_empty() {
                vec!["json".to_string()]
            } else {
                args.formats.clone()
            };
            let mut cases = Vec::new();
            for d in &args.datasets {
                let dataset: Dataset = d.parse().map_err(|e| format!("{e}"))?;
                cases.extend(formats.iter().map(|f| (dataset, f.clone())));
            }
            cases
        }
        .into_iter()
        .map(|(dataset, encoding)| crate::bench_kafka::KafkaCase { dataset, encoding })
        .collect();
        return crate::bench_kafka::run(
            bootstrap,
            &args.dir,
            &schema_dir,
            &config,
            &cases,
            args.runs,
        );
    }
    println!(
        "{:<18} {:<13} {:>9} {:>9} {:>14} {:>10} {:>10} {:>11} {:>9}",
        "dataset",
        "format",
        "records",
        "input MB",
        "records/s/core",
        "MB/s/core",
        "wall s",
        "records/s",
        "peak MiB"
    );
    if args.stream {
        let cases: Vec<(Dataset, String)> = if args.datasets.is_empty() {
            vec![
                (Dataset::AdImpressions, "json".into()),
                (Dataset::AdImpressions, "glue".into()),
                (Dataset::BidRequests, "glue".into()),
            ]
        } else {
            let encodings = if args.formats.is_empty() {
                vec!["glue".to_string(), "json".to_string()]
            } else {
                args.formats.clone()
            };
            parse_datasets(&args.datasets)?
                .into_iter()
                .flat_map(|d| encodings.iter().map(move |e| (d, e.clone())))
                .collect()
        };
        let stream = StreamSpec {
            partitions: args.partitions,
            framing_bad_share: 0.0,
            tombstone_share: 0.0,
            event_window_ms: Some(STREAM_EVENT_WINDOW_MS),
            version_ids: Vec::new(),
            topic: None,
        };
        for (dataset, encoding) in cases {
            let event = write_msk_event(
                &args.dir.join("events"),
                &schema_dir,
                dataset,
                &encoding,
                &config,
                &stream,
            )?;
            let bytes = std::fs::metadata(&event.path).map(|m| m.len()).unwrap_or(0);
            let stats = measure(
                &exe,
                &args.dir,
                &schema_dir,
                "stream-ingest",
                &event.path,
                args.runs,
                args.repeat,
            )?;
            row(
                dataset.name(),
                &format!("msk-{encoding}"),
                args.records,
                bytes,
                &stats,
            );
        }
        return Ok(());
    }
    let compression: Compression = parse_compression(&arg_name(&args.compression))?;
    let cases: Vec<(Dataset, Format)> = if args.datasets.is_empty() {
        vec![
            (Dataset::ClickConversions, Format::Csv),
            (Dataset::AdImpressions, Format::JsonLines),
            (Dataset::BidRequests, Format::Avro(AvroCodec::Null)),
        ]
    } else {
        let formats: Vec<Format> = if args.formats.is_empty() {
            vec![
                Format::Csv,
                Format::JsonLines,
                Format::Avro(AvroCodec::Null),
            ]
        } else {
            args.formats
                .iter()
                .map(|f| parse_format(f))
                .collect::<Result<_, _>>()?
        };
        parse_datasets(&args.datasets)?
            .into_iter()
            .flat_map(|d| formats.iter().map(move |f| (d, *f)))
            .collect()
    };
    for (dataset, format) in cases {
        let landing = args.dir.join("landing");
        let events = args.dir.join("events");
        let spec = SampleSpec {
            bucket_dir: &landing,
            bucket: "landing",
            events_dir: Some(&events),
            schema_dir: &schema_dir,
            config,
        };
        let sample = write_sample(&spec, dataset, format, compression)?;
        let event = sample.event.clone().ok_or("no event")?;
        let stats = measure(
            &exe,
            &args.dir,
            &schema_dir,
            "file-ingest",
            &event,
            args.runs,
            1,
        )?;
        row(
            &sample.dataset,
            &format!("{}{}", sample.format, compression.suffix()),
            args.records,
            sample.bytes,
            &stats,
        );
        std::fs::remove_file(&sample.path).map_err(|e| e.to_string())?;
    }
    Ok(())
}
