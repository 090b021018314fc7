//! The pure ingestion core of AdvertiseX.
//!
//! It knows nothing of AWS: it reads bytes through the [`ports::ObjectStore`] trait, finds
//! schemas through [`ports::SchemaRegistry`], decodes CSV, JSON and Avro into [`model::datum::Datum`]
//! records shaped by the dataset's reader schema, validates them with the rules kept next to the
//! schema, and writes curated Parquet and quarantine JSON Lines through the same store trait.
//! Adapters (local directory, S3, Glue) live in other crates and plug into these traits.

#![warn(missing_docs)]

pub mod catalog;
pub mod convert;
pub mod curated;
pub mod dedup;
pub mod error;
pub mod evolution;
pub mod formats;
pub mod ingest;
pub mod model;
pub mod naming;
pub mod pattern;
pub mod pipeline;
pub mod ports;
pub mod quarantine;
pub mod registry_cache;
pub mod replay;
pub mod report;
pub mod sink;
pub mod stream;
#[cfg(test)]
mod test_support;

pub use catalog::Catalog;
pub use error::{FieldError, IngestError, RecordError, RecordErrorKind};
pub use ingest::{IngestConfig, ObjectSource, ingest_object};
pub use model::dataset::Dataset;
pub use model::datum::Datum;
pub use ports::{ObjectStore, ObjectWriter, RegisteredSchema, SchemaRegistry};
pub use report::{DatasetReport, InvocationReport, WrittenObject};
