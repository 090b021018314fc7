//! Curated output: the Arrow shape of a dataset, column builders fed from [`crate::Datum`]
//! records, and the Parquet writer that rolls part objects per event-time hour.

pub mod arrow_schema;
pub mod columns;
pub mod dictionary_choice;
pub mod encoder;
pub mod limits;
pub mod lineage;
pub mod part_writer;
pub mod table_columns;
pub mod writer;

pub use limits::WriterLimits;
pub use lineage::Lineage;
pub use writer::{CuratedWriter, EncoderThread};
