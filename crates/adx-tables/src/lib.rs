//! The curated datasets as Apache Iceberg tables (format v2), built on the Apache iceberg-rust
//! crates: each dataset's table schema made from its data contract, with the contract's column
//! ids ([`schema`]), partitioned by `hour(event_time)`; the catalogs that hold the tables
//! ([`local`]: an SQL catalog in a SQLite file on the embedded default, feature `sql`;
//! [`glue`]: the Glue Data Catalog with its table optimizers, feature `glue`); keeping the
//! tables in step with `schemas/` ([`sync`]); committing the handlers' pending data files,
//! exactly once ([`commit`], guarded against commits that race it by [`guard`]); and one run
//! of the committer, as the `table-commit` Lambda and `adx commit` do it ([`job`]).
//!
//! The handlers never link this crate: they write Parquet data files and pending manifests
//! (`adx_core::PendingManifest`); only the committer and the `adx` tool talk to the catalog.

#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod commit;
mod error;
#[cfg(feature = "glue")]
pub mod glue;
pub mod guard;
pub mod health;
pub mod job;
pub mod ledger;
#[cfg(feature = "sql")]
pub mod local;
mod order;
pub mod scan;
pub mod schema;
pub mod sync;

pub use error::TableError;
pub use iceberg::{Catalog, NamespaceIdent, TableIdent};

/// The namespace (Glue database) of the curated tables on the embedded default.
pub const NAMESPACE: &str = "advertisex";

/// A namespace of one level, `name`.
pub fn namespace_of(name: &str) -> NamespaceIdent {
    NamespaceIdent::new(name.to_string())
}
