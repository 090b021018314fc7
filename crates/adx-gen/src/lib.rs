//! `adx-gen`: a deterministic generator of realistic AdvertiseX sample data.
//!
//! For each dataset (`ad_impressions`, `click_conversions`, `bid_requests`) it produces a lazy,
//! seeded stream of records ([`records`], [`records_for`]) with an optional share of bad records
//! (each breaking exactly one check of the data contract) and of duplicates, and streams them
//! into CSV, JSON Lines, a JSON array or an Avro object container file, optionally gzip- or
//! zstd-compressed ([`encode`]). [`canonical`] gives the value the curated Parquet must hold for a
//! good record, so end-to-end tests can compare value by value.
//!
//! The same seed gives the same bytes, and the datasets of one seed refer to each other:
//! impression `i` belongs to bid request `i`, clicks point at earlier good impressions, and
//! conversions at earlier good clicks of the same user and campaign.

#![warn(missing_docs)]

mod avro;
mod bad;
mod canonical;
mod config;
mod encode;
mod error;
mod good;
mod ids;
mod msk;
mod plan;
mod records;
mod spec;
mod vocab;

pub use bad::BadKind;
pub use canonical::canonical;
pub use config::{AvroCodec, Compression, Dataset, Format, GenConfig};
pub use encode::{Counts, encode};
pub use error::GenError;
pub use msk::{
    MskConfig, MskCounts, StreamEncoding, StreamValue, StreamValues, msk_event, stream_values,
};
pub use records::{Expected, GenRecord, RecordValue, Records, records, records_for};

#[cfg(test)]
mod tests;
