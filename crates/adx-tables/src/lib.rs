//! The curated datasets as Apache Iceberg tables (format v2), built on the Apache iceberg-rust
//! crates: each dataset's table schema made from its data contract, with the contract's column
//! ids ([`schema`]), partitioned by `hour(event_time)`; the catalogs that hold the tables
//! ([`local`]: an SQL catalog in a SQLite file on the embedded default); keeping the tables in
//! step with `schemas/` ([`sync`]); and committing the handlers' pending data files, exactly
//! once ([`commit`]).
//!
//! The handlers never link this crate: they write Parquet data files and pending manifests
//! (`adx_core::PendingManifest`); only the committer and the `adx` tool talk to the catalog.

#![warn(missing_docs)]

pub mod commit;
mod error;
pub mod local;
pub mod schema;
pub mod sync;

pub use error::TableError;
pub use iceberg::{Catalog, NamespaceIdent, TableIdent};
