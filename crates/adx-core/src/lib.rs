//! The pure ingestion core of AdvertiseX.
//!
//! It knows nothing of AWS: it reads bytes through the [`ObjectStore`] trait, finds
//! schemas through [`SchemaRegistry`], decodes CSV, JSON and Avro into [`Datum`]
//! records shaped by the dataset's reader schema, validates them with the rules kept next to the
//! schema, and writes curated Parquet and quarantine JSON Lines through the same store trait.
//! Adapters (local directory, S3, Glue) live in other crates and plug into these traits.

#![warn(missing_docs)]

mod catalog;
mod convert;
mod curated;
mod dedup;
mod error;
mod evolution;
mod formats;
mod ingest;
mod kafka_record;
mod model;
mod naming;
mod pattern;
mod pending;
mod pipeline;
mod ports;
mod quarantine;
mod registry_cache;
mod replay;
mod report;
mod sink;
mod stream;
#[cfg(test)]
mod test_support;

// The ports: what the adapters (local directory, S3, Glue) implement, and the registry cache
// in front of any registry.
pub use ports::{
    Completed, ObjectStore, ObjectWriter, PendingObject, Pin, RegisteredSchema, RegistryError,
    SchemaRegistry, StoreError,
};
pub use registry_cache::CachedRegistry;

// The data contract: datasets compiled from their schemas, and schema evolution.
pub use catalog::Catalog;
pub use evolution::{Change as SchemaChange, EvolutionError, compare as compare_schemas};
pub use model::dataset::Dataset;
pub use model::datum::Datum;
pub use model::shape::{EnumShape, FieldShape, Kind, RecordShape, Ty};

// The pipeline: an S3 object, a Kafka batch, a quarantine object replayed.
pub use curated::rewrite::{RewriteError, Watermarks, rewrite_without_committed};
pub use curated::{LINEAGE_COLUMNS, MAX_ENCODE_WORKERS, WriterLimits, table_columns};
pub use ingest::{ObjectSource, ingest_object};
pub use pending::{
    ColumnMetrics, KafkaRange, PENDING_PREFIX, PendingFile, PendingManifest, PendingSource,
    pending_key,
};
pub use pipeline::{IngestConfig, Ports, UNROUTED};
pub use replay::{ReplayReport, replay_object};
pub use stream::{SchemaMetadata, StreamConfig, StreamRecord, ingest_batch};

// What comes out: the handler's answer and the errors.
pub use error::{FieldError, IngestError, RecordError, RecordErrorKind};
pub use report::{DatasetReport, InvocationReport, WrittenObject};

// Pieces the adapters share with the core.
pub use convert::skip::Skip;
pub use formats::glue::uuid_text;

/// The core's inner pieces that its benchmarks and the fuzz harness drive one by one (the
/// decoders, the Parquet encoder, the key set). Not a stable interface: the handlers and
/// adapters use the items above.
#[doc(hidden)]
pub mod internals {
    pub use crate::catalog::WriterSchema;
    pub use crate::convert::seed::SeedContext;
    pub use crate::curated::encoder::{Command, PartEncoder};
    pub use crate::dedup::key_set;
    pub use crate::formats::avro::decode_avro;
    pub use crate::formats::avro_datum::decode_datum;
    pub use crate::formats::avro_direct::DirectPlan;
    pub use crate::formats::csv::decode_csv;
    pub use crate::formats::json::decode_json;
    pub use crate::formats::read_ahead::CHUNK_BYTES;
    pub use crate::formats::{Decoded, Stop};
    pub use crate::naming::PartNames;
}
