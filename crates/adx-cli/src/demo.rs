//! `adx demo`: the main job on the embedded default. Generates a sample of every dataset in
//! every format, drops it into a local landing bucket, runs the file-ingest handler on the S3
//! event of each object, and prints a summary per dataset and where the Parquet lies.

use crate::embedded::write_schemas;
use crate::gen_cmd::arrival_ms;
use crate::samples::{SampleFile, SampleSpec, StreamSpec, write_msk_event, write_sample};
use adx_core::DatasetReport;
use adx_gen::{Compression, Dataset, Format, GenConfig};
use adx_handlers::s3_event::parse_event;
use adx_handlers::{Adapters, HandlerConfig, handle_kafka_event, handle_s3_event};
use clap::Args;

/// Event times of generated stream records fall in the 10 minutes before arrival.
const STREAM_EVENT_WINDOW_MS: i64 = 600_000;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `adx demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Working folder: the local buckets (landing, curated, quarantine) and events go below it.
    #[arg(long, default_value = "out/demo")]
    dir: PathBuf,
    /// Records per object (one object per dataset and format).
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Share of bad records.
    #[arg(long, default_value_t = 0.02)]
    bad_share: f64,
    /// Records per MSK batch in the stream part.
    #[arg(long, default_value_t = 10_000)]
    stream_records: usize,
    /// Share of duplicate keys.
    #[arg(long, default_value_t = 0.01)]
    duplicate_share: f64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<(), String> {
    let started = Instant::now();
    for sub in [
        "landing",
        "curated",
        "quarantine",
        "events",
        "schemas",
        "_tables",
    ] {
        let path = args.dir.join(sub);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| format!("clearing {}: {e}", path.display()))?;
        }
    }
    let schema_dir = args.dir.join("schemas");
    write_schemas(&schema_dir)?;
    // The curated tables (Iceberg, in the local SQL catalog), made from the contracts.
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    crate::tables_cmd::sync_local(&args.dir, &schema_dir, "curated")?;
    let landing = args.dir.join("landing");
    let events = args.dir.join("events");
    let spec = SampleSpec {
        bucket_dir: &landing,
        bucket: "landing",
        events_dir: Some(&events),
        schema_dir: &schema_dir,
        config: GenConfig {
            seed: args.seed,
            records: args.records,
            bad_share: args.bad_share,
            duplicate_share: args.duplicate_share,
            arrival_ms: arrival_ms(None)?,
        },
    };
    println!(
        "Generating {} records per object into {} ...",
        args.records,
        landing.display()
    );
    let compressions = Compression::all();
    let mut samples = Vec::new();
    for dataset in Dataset::all() {
        for (i, format) in Format::all().into_iter().enumerate() {
            samples.push(write_sample(
                &spec,
                dataset,
                format,
                compressions[i % compressions.len()],
            )?);
        }
    }

    let config = HandlerConfig::from_lookup(&|name| match name {
        "CURATED_BUCKET" => Some("curated".into()),
        "QUARANTINE_BUCKET" => Some("quarantine".into()),
        "ADX_STORE_ROOT" => Some(args.dir.to_string_lossy().to_string()),
        "ADX_SCHEMA_DIR" => Some(schema_dir.to_string_lossy().to_string()),
        // The JSON batches come on topics of their own (`<dataset>.json`, offsets from 0):
        // on the dataset's topic they would repeat the Avro batch's offsets, which Kafka and
        // the tables take for the same records.
        "TOPIC_DATASETS" => Some(
            Dataset::all()
                .iter()
                .map(|d| format!("{}={}", json_topic(*d), d.name()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;

    let mut totals: Totals = BTreeMap::new();
    let mut mismatches = Vec::new();
    println!(
        "Ingesting {} objects with the file-ingest handler ...\n",
        samples.len()
    );
    for sample in &samples {
        let event_path = sample.event.as_ref().ok_or("no event was written")?;
        let bytes = std::fs::read(event_path)
            .map_err(|e| format!("reading {}: {e}", event_path.display()))?;
        let event = parse_event(&bytes)?;
        let t = Instant::now();
        let report = handle_s3_event(&adapters, &config, &event)
            .map_err(|e| format!("handler failed on {}: {e}", sample.key))?;
        let elapsed = t.elapsed();
        for (dataset, r) in report.datasets {
            check_against_generator(sample, &r, &mut mismatches);
            let entry = totals.entry(dataset).or_default();
            entry.0.merge(r);
            entry.1 += elapsed;
            entry.2 += sample.bytes;
            entry.3.push(format!(
                "{}{}",
                sample.format,
                if sample.compression.is_empty() {
                    String::new()
                } else {
                    format!("+{}", sample.compression)
                }
            ));
        }
    }
    println!("File ingestion (one S3 event per object):");
    print_summary(&totals);

    // The stream part: one MSK batch per dataset and encoding, through the stream handler.
    let msk_dir = args.dir.join("events").join("msk");
    let stream_config = GenConfig {
        records: args.stream_records,
        ..spec.config
    };
    let mut stream_spec = StreamSpec {
        partitions: 3,
        framing_bad_share: args.bad_share / 2.0,
        tombstone_share: 0.01,
        event_window_ms: Some(STREAM_EVENT_WINDOW_MS),
        version_ids: Vec::new(),
        topic: None,
    };
    let mut stream_totals: Totals = BTreeMap::new();
    for dataset in Dataset::all() {
        for encoding in ["glue", "json"] {
            stream_spec.topic = (encoding == "json").then(|| json_topic(dataset));
            let written = write_msk_event(
                &msk_dir,
                &schema_dir,
                dataset,
                encoding,
                &stream_config,
                &stream_spec,
            )?;
            let bytes = std::fs::read(&written.path)
                .map_err(|e| format!("reading {}: {e}", written.path.display()))?;
            let event = adx_handlers::kafka_event::parse_event(&bytes)?;
            let t = Instant::now();
            let report = handle_kafka_event(&adapters, &config, &event)
                .map_err(|e| format!("stream handler failed on {}: {e}", written.path.display()))?;
            let elapsed = t.elapsed();
            for (name, r) in report.datasets {
                let c = &written.counts;
                if (r.curated, r.quarantined, r.duplicates, r.tombstones)
                    != (
                        c.records.good,
                        c.records.bad,
                        c.records.duplicates,
                        c.tombstones,
                    )
                {
                    mismatches.push(format!(
                        "{}: {:?} against generated {:?}",
                        written.path.display(),
                        (r.curated, r.quarantined, r.duplicates, r.tombstones),
                        c
                    ));
                }
                let entry = stream_totals.entry(name).or_default();
                entry.0.merge(r);
                entry.1 += elapsed;
                entry.2 += bytes.len() as u64;
                entry.3.push(format!("{encoding} x{}", args.stream_records));
            }
        }
    }
    println!("\nStream ingestion (one MSK batch per dataset and encoding, 3 partitions):");
    print_summary(&stream_totals);

    // The committer: the handlers' pending data files into the tables.
    let run = crate::tables_cmd::commit_local(
        &args.dir,
        "curated",
        &schema_dir,
        std::time::Duration::ZERO,
    )?;
    let committed = &run.commit;
    println!(
        "\nIceberg tables ({}, namespace advertisex), after `adx commit`:",
        adx_tables::local::catalog_file(&args.dir).display()
    );
    for (table, c) in &committed.tables {
        println!(
            "  {table:<18} {:>8} records in {:>3} data files committed ({} manifests; {} already in)",
            c.records, c.files, c.committed, c.already_committed
        );
    }
    for (manifest, reason) in &committed.set_aside {
        println!("  set aside: {manifest}: {reason}");
    }
    for (manifest, reason) in &committed.waiting {
        println!("  waiting: {manifest}: {reason}");
    }
    // The self-check: each table holds what the handlers reported curating, files and streams.
    for (dataset, (file, ..)) in &totals {
        let reported = file.curated + stream_totals.get(dataset).map_or(0, |s| s.0.curated);
        let in_table = committed.tables.get(dataset).map_or(0, |t| t.records);
        if reported != in_table {
            mismatches.push(format!(
                "table {dataset}: {in_table} records committed, {reported} reported curated"
            ));
        }
    }
    if mismatches.is_empty() {
        println!(
            "\nChecked: every object's curated, quarantined and duplicate counts equal what the \
             generator wrote, and each table holds every record the handlers curated."
        );
    }
    println!();
    for dataset in totals.keys() {
        println!(
            "  curated Parquet:  {}",
            args.dir.join("curated").join(dataset).display()
        );
    }
    println!(
        "  quarantine:       {}",
        args.dir.join("quarantine").display()
    );
    println!(
        "  events replayable with: ADX_STORE_ROOT={} ADX_SCHEMA_DIR={} CURATED_BUCKET=curated QUARANTINE_BUCKET=quarantine adx invoke file-ingest --event {}/<file>.json",
        args.dir.display(),
        schema_dir.display(),
        events.display()
    );
    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    if !mismatches.is_empty() {
        return Err(format!(
            "the outcome differs from what was generated:\n  {}",
            mismatches.join("\n  ")
        ));
    }
    Ok(())
}

fn check_against_generator(sample: &SampleFile, r: &DatasetReport, mismatches: &mut Vec<String>) {
    let c = &sample.counts;
    if (r.curated, r.quarantined, r.duplicates) != (c.good, c.bad, c.duplicates) {
        mismatches.push(format!(
            "{}: curated/quarantined/duplicates {}/{}/{}, generated good/bad/duplicates {}/{}/{}",
            sample.key, r.curated, r.quarantined, r.duplicates, c.good, c.bad, c.duplicates
        ));
    }
}

/// Per dataset: the merged report, handler time, input bytes and what was ingested.
type Totals = BTreeMap<String, (DatasetReport, Duration, u64, Vec<String>)>;

fn print_summary(totals: &Totals) {
    println!(
        "{:<18} {:>9} {:>9} {:>11} {:>10} {:>8} {:>12} {:>12}  formats",
        "dataset",
        "received",
        "curated",
        "quarantined",
        "duplicates",
        "objects",
        "bytes out",
        "records/s"
    );
    for (dataset, (r, elapsed, _input, formats)) in totals {
        let rate = r.received as f64 / elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<18} {:>9} {:>9} {:>11} {:>10} {:>8} {:>12} {:>12.0}  {}",
            dataset,
            r.received,
            r.curated,
            r.quarantined,
            r.duplicates,
            r.objects.len(),
            r.bytes_written(),
            rate,
            formats.join(", ")
        );
    }
}

/// The topic of the demo's JSON batches of `dataset`.
fn json_topic(dataset: Dataset) -> String {
    format!("{}.json", dataset.name())
}
