//! `adx gen`: sample landing objects for every dataset, format and compression asked for, each
//! with the S3 event that announces it, and a JSON manifest of what each holds.

use crate::samples::{
    CompressionArg, FormatArg, SampleSpec, StreamEncodingArg, StreamSpec, arg_name,
    parse_compression, parse_format, write_msk_event, write_sample,
};
use adx_gen::{Compression, Dataset, Format, GenConfig};
use chrono::DateTime;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `adx gen`.
#[derive(Args)]
#[command(
    after_help = "Example: 10,000 clicks as gzipped CSV with 5% bad records, their S3 event, and an MSK event:\n  \
    adx gen --out /tmp/landing --events /tmp/events --records 10000 --dataset click_conversions \\\n    --format csv --compression gz --bad-share 0.05 --msk-events /tmp/msk --stream-encoding json"
)]
pub struct GenArgs {
    /// Folder of the landing bucket: objects go to `<out>/<dataset>/...`.
    #[arg(long)]
    pub out: PathBuf,
    /// Folder for one S3 event file per object (bucket named by --bucket).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Bucket name in the events; default: the name of the --out folder.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Records per object.
    #[arg(long, default_value_t = 1000)]
    pub records: usize,
    /// Share of bad records of every kind the rules catch (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub bad_share: f64,
    /// Share of records that repeat an earlier key (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_share: f64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Arrival time (RFC 3339) of the objects: event times fall in the 6 hours before it. Default: now.
    #[arg(long)]
    pub arrival: Option<String>,
    /// Datasets (default: all).
    #[arg(long = "dataset")]
    pub datasets: Vec<String>,
    /// Formats (repeatable; default: all).
    #[arg(long = "format", value_enum)]
    pub formats: Vec<FormatArg>,
    /// Compressions (repeatable; default: all three, for every format).
    #[arg(long = "compression", value_enum)]
    pub compressions: Vec<CompressionArg>,
    /// Also write MSK events (what the stream function receives) into this folder: one per
    /// dataset and stream encoding (glue, glue-zlib, json), of --records records each.
    #[arg(long)]
    pub msk_events: Option<PathBuf>,
    /// Stream encodings of the MSK events (repeatable; default: all three).
    #[arg(long = "stream-encoding", value_enum)]
    pub stream_encodings: Vec<StreamEncodingArg>,
    /// Partitions the MSK event's records are spread over.
    #[arg(long, default_value_t = 3)]
    pub partitions: u32,
    /// Share of MSK values broken at the framing level (unknown version id, Confluent framing, ...).
    #[arg(long, default_value_t = 0.0)]
    pub framing_bad_share: f64,
    /// Squeeze MSK records' event times into this many seconds before arrival (default: the
    /// same 6-hour spread as files).
    #[arg(long)]
    pub event_window_seconds: Option<i64>,
    /// Share of tombstones (null values) in MSK events.
    #[arg(long, default_value_t = 0.0)]
    pub tombstone_share: f64,
    /// Frame Glue records of a dataset with this schema version id (`dataset=uuid`, as the
    /// Glue registry gave it; repeatable). By default, the local schema folder's id.
    #[arg(long = "version-id", value_parser = parse_version_id)]
    pub version_ids: Vec<(String, String)>,
    /// Folder of the `.avsc` schemas.
    #[arg(long, env = "ADX_SCHEMA_DIR", default_value = "schemas")]
    pub schema_dir: PathBuf,
}

pub fn parse_version_id(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(d, id)| (d.trim().to_string(), id.trim().to_string()))
        .ok_or_else(|| format!("`{text}` is not dataset=uuid"))
}

/// Parses an RFC 3339 arrival time, or takes the current second.
pub fn arrival_ms(arrival: Option<&str>) -> Result<i64, String> {
    match arrival {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_millis())
            .map_err(|e| format!("--arrival {t}: {e}")),
        None => Ok(chrono::Utc::now().timestamp() * 1000),
    }
}

/// Writes the objects and prints the manifest.
pub fn run(args: GenArgs) -> Result<(), String> {
    let datasets: Vec<Dataset> = if args.datasets.is_empty() {
        Dataset::all().to_vec()
    } else {
        args.datasets
            .iter()
            .map(|d| d.parse().map_err(|e| format!("{e}")))
            .collect::<Result<_, _>>()?
    };
    let formats: Vec<Format> = if args.formats.is_empty() {
        Format::all().to_vec()
    } else {
        args.formats
            .iter()
            .map(|f| parse_format(&arg_name(f)))
            .collect::<Result<_, _>>()?
    };
    let compressions: Vec<Compression> = if args.compressions.is_empty() {
        Compression::all().to_vec()
    } else {
        args.compressions
            .iter()
            .map(|c| parse_compression(&arg_name(c)))
            .collect::<Result<_, _>>()?
    };
    let bucket = match &args.bucket {
        Some(b) => b.clone(),
        None => args
            .out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "landing".into()),
    };
    let spec = SampleSpec {
        bucket_dir: &args.out,
        bucket: &bucket,
        events_dir: args.events.as_deref(),
        schema_dir: &args.schema_dir,
        config: GenConfig {
            seed: args.seed,
            records: args.records,
            bad_share: args.bad_share,
            duplicate_share: args.duplicate_share,
            arrival_ms: arrival_ms(args.arrival.as_deref())?,
        },
    };
    let mut written = Vec::new();
    for dataset in &datasets {
        for format in &formats {
            for compression in &compressions {
                written.push(write_sample(&spec, *dataset, *format, *compression)?);
            }
        }
    }
    let mut events = Vec::new();
    if let Some(dir) = &args.msk_events {
        let encodings: Vec<String> = if args.stream_encodings.is_empty() {
            vec!["glue".into(), "glue-zlib".into(), "json".into()]
        } else {
            args.stream_encodings.iter().map(arg_name).collect()
        };
        for dataset in &datasets {
            for encoding in &encodings {
                let stream = StreamSpec {
                    partitions: args.partitions,
                    framing_bad_share: args.framing_bad_share,
                    tombstone_share: args.tombstone_share,
                    event_window_ms: args.event_window_seconds.map(|s| s * 1000),
                    version_ids: args.version_ids.clone(),
                    topic: None,
                };
                events.push(write_msk_event(
                    dir,
                    &args.schema_dir,
                    *dataset,
                    encoding,
                    &spec.config,
                    &stream,
                )?);
            }
        }
    }
    let manifest = if args.msk_events.is_some() {
        serde_json::json!({"files": written, "msk_events": events})
    } else {
        serde_json::to_value(&written).map_err(|e| e.to_string())?
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?
    );
    Ok(())
}
