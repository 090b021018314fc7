//! Writing sample landing objects (and the S3 events that announce them) with `adx-gen`:
//! shared by `adx gen`, `adx demo` and `adx bench`.

use adx_gen::{AvroCodec, Compression, Dataset, Format, GenConfig};
use adx_handlers::s3_event::object_created_event;
use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A format as named on the command line.
/// The generator's formats, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON Lines: one object per line.
    Jsonl,
    /// One JSON array of objects.
    Json,
    /// An Avro container file, uncompressed blocks.
    Avro,
    /// An Avro container file, deflate blocks.
    AvroDeflate,
    /// An Avro container file, snappy blocks.
    AvroSnappy,
    /// An Avro container file, zstd blocks.
    AvroZstd,
}

/// Whole-object compressions, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    /// Not compressed.
    None,
    /// gzip (`.gz`).
    Gz,
    /// Zstandard (`.zst`).
    Zst,
}

/// Encodings of MSK record values, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamEncodingArg {
    /// Avro framed by the Glue Schema Registry serializer.
    Glue,
    /// The same, zlib-compressed.
    GlueZlib,
    /// Plain JSON values.
    Json,
}

/// The name a value of a clap value enum has on the command line.
pub fn arg_name(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Parses a format name (as [`FormatArg`] names them).
pub fn parse_format(text: &str) -> Result<Format, String> {
    Ok(match text {
        "csv" => Format::Csv,
        "jsonl" => Format::JsonLines,
        "json" => Format::JsonArray,
        "avro" => Format::Avro(AvroCodec::Null),
        "avro-deflate" => Format::Avro(AvroCodec::Deflate),
        "avro-snappy" => Format::Avro(AvroCodec::Snappy),
        "avro-zstd" => Format::Avro(AvroCodec::Zstd),
        other => {
            return Err(format!(
                "unknown format {other}: csv, jsonl, json, avro, avro-deflate, avro-snappy, avro-zstd"
            ));
        }
    })
}

/// The command-line name of a format.
pub fn format_label(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
        Format::JsonArray => "json",
        Format::Avro(AvroCodec::Null) => "avro",
        Format::Avro(AvroCodec::Deflate) => "avro-deflate",
        Format::Avro(AvroCodec::Snappy) => "avro-snappy",
        Format::Avro(AvroCodec::Zstd) => "avro-zstd",
    }
}

/// A compression as named on the command line.
pub fn parse_compression(text: &str) -> Result<Compression, String> {
    Ok(match text {
        "none" => Compression::None,
        "gz" | "gzip" => Compression::Gzip,
        "zst" | "zstd" => Compression::Zstd,
        other => return Err(format!("unknown compression {other}: none, gz, zst")),
    })
}

/// One written sample object.
#[derive(Debug, Clone, Serialize)]
pub struct SampleFile {
    /// Dataset.
    pub dataset: String,
    /// Format label.
    pub format: String,
    /// Compression suffix.
    pub compression: String,
    /// Bucket the object is in.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its file.
    pub path: PathBuf,
    /// The S3 event file announcing it, if events were asked for.
    pub event: Option<PathBuf>,
    /// Size in bytes.
    pub bytes: u64,
    /// What the generator put in it.
    pub counts: adx_gen::Counts,
}

/// What to write.
pub struct SampleSpec<'a> {
    /// Folder of the landing bucket (objects go to `<dataset>/<file>` below it).
    pub bucket_dir: &'a Path,
    /// Bucket name used in the events.
    pub bucket: &'a str,
    /// Folder for the S3 event files, if wanted.
    pub events_dir: Option<&'a Path>,
    /// Folder of the `.avsc` files.
    pub schema_dir: &'a Path,
    /// Generator settings (records per file).
    pub config: GenConfig,
}

/// Writes one object of `dataset` in `format` and `compression`.
pub fn write_sample(
    spec: &SampleSpec<'_>,
    dataset: Dataset,
    format: Format,
    compression: Compression,
) -> Result<SampleFile, String> {
    let schema_path = spec.schema_dir.join(format!("{}.avsc", dataset.name()));
    let schema = std::fs::read_to_string(&schema_path)
        .map_err(|e| format!("reading {}: {e}", schema_path.display()))?;
    let label = format_label(format);
    let key = format!(
        "{}/{}-{label}.{}{}",
        dataset.name(),
        dataset.name(),
        format.extension(),
        compression.suffix()
    );
    let path = spec.bucket_dir.join(&key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    let file = File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let counts = adx_gen::encode(
        dataset,
        format,
        compression,
        &spec.config,
        &schema,
        BufWriter::with_capacity(1 << 20, file),
    )
    .map_err(|e| format!("generating {key}: {e}"))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let event = match spec.events_dir {
        None => None,
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            let time = DateTime::from_timestamp_millis(spec.config.arrival_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            let etag = format!("{:x}-{}-{}", spec.config.seed, bytes, spec.config.records);
            let event = object_created_event(spec.bucket, &key, bytes, &etag, &time);
            let event_path = dir.join(format!(
                "{}-{label}{}.json",
                dataset.name(),
                compression.suffix()
            ));
            std::fs::write(
                &event_path,
                serde_json::to_vec_pretty(&event).map_err(|e| e.to_string())?,
            )
            .map_err(|e| format!("writing {}: {e}", event_path.display()))?;
            Some(event_path)
        }
    };
    Ok(SampleFile {
        dataset: dataset.name().to_string(),
        format: label.to_string(),
        compression: compression.suffix().trim_start_matches('.').to_string(),
        bucket: spec.bucket.to_string(),
        key,
        path,
        event,
        bytes,
        counts,
    })
}

/// One written MSK event file.
#[derive(Debug, Clone, Serialize)]
pub struct SampleEvent {
    /// Dataset.
    pub dataset: String,
    /// `glue`, `glue-zlib` or `json`.
    pub encoding: String,
    /// Topic.
    pub topic: String,
    /// The event file.
    pub path: PathBuf,
    /// What it holds.
    pub counts: adx_gen::MskCounts,
}

/// The stream encodings by command-line name.
pub fn stream_encodings(version_id: &str) -> [(&'static str, adx_gen::StreamEncoding); 3] {
    [
        (
            "glue",
            adx_gen::StreamEncoding::GlueAvro {
                version_id: version_id.to_string(),
                zlib: false,
            },
        ),
        (
            "glue-zlib",
            adx_gen::StreamEncoding::GlueAvro {
                version_id: version_id.to_string(),
                zlib: true,
            },
        ),
        ("json", adx_gen::StreamEncoding::Json),
    ]
}

/// How MSK events are laid out.
pub struct StreamSpec {
    /// Partitions the records are spread over.
    pub partitions: u32,
    /// Share of values broken at the framing level.
    pub framing_bad_share: f64,
    /// Share of tombstones.
    pub tombstone_share: f64,
    /// Event times squeezed into this window before arrival (live-stream-like), if set.
    pub event_window_ms: Option<i64>,
    /// Schema version ids to frame with, by dataset (those a Glue registry gave); otherwise the
    /// local schema folder's id of the dataset's `.avsc`.
    pub version_ids: Vec<(String, String)>,
    /// The topic of the records; none, the dataset's name.
    pub topic: Option<String>,
}

/// The writer schema of `dataset` (from `schema_dir`) and the stream encoding named
/// `encoding` (`glue`, `glue-zlib`, `json`), framed with the version id given for the dataset in
/// `version_ids`, else the local schema folder's id of the schema.
pub fn stream_encoding(
    schema_dir: &Path,
    dataset: Dataset,
    encoding: &str,
    version_ids: &[(String, String)],
) -> Result<(String, adx_gen::StreamEncoding), String> {
    let schema_path = schema_dir.join(format!("{}.avsc", dataset.name()));
    let schema = std::fs::read_to_string(&schema_path)
        .map_err(|e| format!("reading {}: {e}", schema_path.display()))?;
    let version_id = match version_ids.iter().find(|(d, _)| d == dataset.name()) {
        Some((_, id)) => id.clone(),
        None => adx_local::schema_folder::version_id_of(&schema),
    };
    let (_, chosen) = stream_encodings(&version_id)
        .into_iter()
        .find(|(name, _)| *name == encoding)
        .ok_or_else(|| format!("unknown stream encoding {encoding}: glue, glue-zlib, json"))?;
    Ok((schema, chosen))
}

/// Writes an MSK event of `dataset` in `encoding` (a name of [`stream_encodings`]) into `dir`.
pub fn write_msk_event(
    dir: &Path,
    schema_dir: &Path,
    dataset: Dataset,
    encoding: &str,
    config: &GenConfig,
    stream: &StreamSpec,
) -> Result<SampleEvent, String> {
    let (schema, chosen) = stream_encoding(schema_dir, dataset, encoding, &stream.version_ids)?;
    let msk = adx_gen::MskConfig {
        topic: stream
            .topic
            .clone()
            .unwrap_or_else(|| dataset.name().to_string()),
        partitions: stream.partitions,
        encoding: chosen,
        framing_bad_share: stream.framing_bad_share,
        tombstone_share: stream.tombstone_share,
        event_window_ms: stream.event_window_ms,
    };
    let (event, counts) = adx_gen::msk_event(dataset, config, &msk, &schema)
        .map_err(|e| format!("generating an MSK event: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}-{encoding}.json", dataset.name()));
    std::fs::write(
        &path,
        serde_json::to_vec(&event).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(SampleEvent {
        dataset: dataset.name().to_string(),
        encoding: encoding.to_string(),
        topic: msk.topic,
        path,
        counts,
    })
}
