//! Which format and compression an object key names.

use crate::formats::compression::Compression;

/// A format of landing objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// JSON Lines, or one JSON array of objects (told apart by the first byte).
    Json,
    /// Avro object container file.
    Avro,
}

/// Reads the format and compression from a key's suffix: `.csv`, `.json`, `.jsonl`,
/// `.ndjson`, `.avro`, each optionally followed by `.gz` or `.zst`.
pub fn detect(key: &str) -> Option<(Format, Compression)> {
    let lower = key.to_ascii_lowercase();
    let (rest, compression) = if let Some(rest) = lower.strip_suffix(".gz") {
        (rest, Compression::Gzip)
    } else if let Some(rest) = lower.strip_suffix(".zst") {
        (rest, Compression::Zstd)
    } else {
        (lower.as_str(), Compression::None)
    };
    let format = if rest.ends_with(".csv") {
        Format::Csv
    } else if rest.ends_with(".json") || rest.ends_with(".jsonl") || rest.ends_with(".ndjson") {
        Format::Json
    } else if rest.ends_with(".avro") {
        Format::Avro
    } else {
        return None;
    };
    Some((format, compression))
}
