//! The model layer: the compiled data contract of a dataset. A reader schema compiled into the
//! shapes the decoders fill ([`shape`]), the values they produce ([`datum`]), the dataset read
//! from a schema's `adx` block ([`dataset`]) and its rules beyond types ([`rules`]); with what
//! compiling them needs: Avro schema → shape ([`compile`]), field defaults → datum
//! ([`default_value`]), timestamp text ([`timestamp`]), writer-to-reader compatibility
//! ([`avro_compat`]), and a datum rendered as JSON ([`datum_json`]).
//!
//! The model depends on nothing of the formats, the conversions, the curated writer or the
//! ingestion pipeline: they all depend on it.

pub mod avro_compat;
pub mod compile;
pub mod dataset;
pub mod datum;
pub mod datum_json;
pub mod default_value;
pub mod rules;
pub mod shape;
pub mod timestamp;
