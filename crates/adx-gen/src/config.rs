//! What to generate: datasets, output formats, compressions and the generator settings.

use std::str::FromStr;

use crate::GenError;

/// One of the three AdvertiseX datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// `ad_impressions`: impressions served by the ad servers.
    AdImpressions,
    /// `click_conversions`: clicks and the conversions that follow them.
    ClickConversions,
    /// `bid_requests`: OpenRTB-style bid requests seen by the exchange.
    BidRequests,
}

impl Dataset {
    /// The dataset (= schema = topic) name, e.g. `ad_impressions`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AdImpressions => "ad_impressions",
            Self::ClickConversions => "click_conversions",
            Self::BidRequests => "bid_requests",
        }
    }

    /// All datasets, in a fixed order.
    pub fn all() -> [Dataset; 3] {
        [
            Self::AdImpressions,
            Self::ClickConversions,
            Self::BidRequests,
        ]
    }

    /// The name of the key field.
    pub fn key_field(&self) -> &'static str {
        match self {
            Self::AdImpressions => "impression_id",
            Self::ClickConversions => "event_id",
            Self::BidRequests => "request_id",
        }
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = GenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::all()
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| GenError::UnknownDataset(s.to_string()))
    }
}

/// The codec of the blocks of an Avro object container file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvroCodec {
    /// Uncompressed blocks.
    Null,
    /// Deflate (RFC 1951) blocks.
    Deflate,
    /// Snappy blocks with a CRC32 trailer.
    Snappy,
    /// Zstandard blocks.
    Zstd,
}

impl AvroCodec {
    /// The codec as apache_avro knows it.
    pub(crate) fn to_avro(self) -> apache_avro::Codec {
        match self {
            Self::Null => apache_avro::Codec::Null,
            Self::Deflate => apache_avro::Codec::Deflate(apache_avro::DeflateSettings::default()),
            Self::Snappy => apache_avro::Codec::Snappy,
            Self::Zstd => apache_avro::Codec::Zstandard(apache_avro::ZstandardSettings::default()),
        }
    }
}

/// The wire format of a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 4180 CSV with a header row of the schema's top-level field names.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// One JSON array of objects, one object per line.
    JsonArray,
    /// An Avro object container file with the given block codec.
    Avro(AvroCodec),
}

impl Format {
    /// The file extension, without the dot: `csv`, `jsonl`, `json` or `avro`.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
            Self::JsonArray => "json",
            Self::Avro(_) => "avro",
        }
    }

    /// Every format, every Avro codec included.
    pub fn all() -> [Format; 7] {
        [
            Self::Csv,
            Self::JsonLines,
            Self::JsonArray,
            Self::Avro(AvroCodec::Null),
            Self::Avro(AvroCodec::Deflate),
            Self::Avro(AvroCodec::Snappy),
            Self::Avro(AvroCodec::Zstd),
        ]
    }
}

/// A compression wrapped around the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard frame (`.zst`).
    Zstd,
}

impl Compression {
    /// The file name suffix, with the dot: `""`, `".gz"` or `".zst"`.
    pub fn suffix(&self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gzip => ".gz",
            Self::Zstd => ".zst",
        }
    }

    /// Every compression.
    pub fn all() -> [Compression; 3] {
        [Self::None, Self::Gzip, Self::Zstd]
    }
}

/// Settings of one generation run; the same settings always give the same records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of records to generate (bad and duplicate ones included).
    pub records: usize,
    /// Share of bad records, 0.0 ..= 1.0.
    pub bad_share: f64,
    /// Share of duplicates of earlier good records, 0.0 ..= 1.0.
    pub duplicate_share: f64,
    /// Arrival time of the data in epoch milliseconds: event times fall in the 6 hours before it.
    pub arrival_ms: i64,
}

impl Default for GenConfig {
    /// Seed 42, 1000 records, no bad records nor duplicates, arrival 2026-11-28T06:00:00Z.
    fn default() -> Self {
        Self {
            seed: 42,
            records: 1000,
            bad_share: 0.0,
            duplicate_share: 0.0,
            arrival_ms: 1_795_845_600_000,
        }
    }
}
