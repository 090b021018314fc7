//! Curated output: the Arrow shape of a dataset, column builders fed from [`crate::Datum`]
//! records, and the Parquet writer that rolls part objects per event-time hour.

pub(crate) mod arrow_schema;
pub(crate) mod columns;
pub(crate) mod dictionary_choice;
pub(crate) mod encoder;
pub(crate) mod limits;
pub(crate) mod lineage;
pub(crate) mod metrics;
pub(crate) mod part_writer;
pub(crate) mod rewrite;
pub(crate) mod table_columns;
pub(crate) mod writer;

pub use limits::WriterLimits;
pub use lineage::LINEAGE_COLUMNS;
pub use lineage::Lineage;
pub use part_writer::MAX_ENCODE_WORKERS;
pub use table_columns::table_columns;
pub use writer::CuratedWriter;
