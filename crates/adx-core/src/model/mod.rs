//! The model layer: the compiled data contract of a dataset. A reader schema compiled into the
//! shapes the decoders fill ([`shape`]), the values they produce ([`datum`]), the dataset read
//! from a schema's `adx` block ([`dataset`]) and its rules beyond types ([`rules`]); with what
//! compiling them needs: Avro schema → shape ([`compile`]), field defaults → datum
//! ([`default_value`]), timestamp text ([`timestamp`]), scalars written as text ([`text_value`]), writer-to-reader compatibility
//! ([`avro_compat`]), and a datum rendered as JSON ([`datum_json`]).
//!
//! The model depends on nothing of the formats, the conversions, the curated writer or the
//! ingestion pipeline: they all depend on it.

pub(crate) mod avro_compat;
pub(crate) mod compile;
pub(crate) mod dataset;
pub(crate) mod datum;
pub(crate) mod datum_json;
pub(crate) mod default_value;
pub(crate) mod rules;
pub(crate) mod shape;
pub(crate) mod text_value;
pub(crate) mod timestamp;
