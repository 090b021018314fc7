//! Conversions from each input representation into a [`crate::Datum`] of the reader shape:
//! the serde seed (JSON texts and values, Avro data decoded with its writer schema, where it
//! also performs Avro schema resolution), and CSV text cells.

#[cfg(test)]
pub(crate) mod json;
pub(crate) mod seed;
pub(crate) mod skip;
pub(crate) mod text;
