//! Conversions from each input representation into a [`crate::Datum`] of the reader shape:
//! the serde seed (JSON texts and values, Avro data decoded with its writer schema, where it
//! also performs Avro schema resolution), and CSV text cells.

pub mod json;
pub mod seed;
pub mod skip;
pub mod text;
