//! Conversions from each input representation into a [`crate::Datum`] of the reader shape:
//! JSON values, CSV text cells, and Avro values decoded with the writer schema (where the
//! conversion also performs Avro schema resolution by field name).

pub mod avro;
pub mod json;
pub mod seed;
pub mod text;
pub mod timestamp;
