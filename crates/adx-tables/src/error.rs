//! Why a table operation failed.

/// A failure of the table layer: a data contract that cannot be a table, a table whose schema
/// disagrees with its contract, or the catalog (an infrastructure fault).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A field of the contract has no column id (`field-id`, an array's `element-id`, or the
    /// `adx` block's `lineage_field_ids`).
    #[error("dataset {dataset}: {what} has no column id in its schema")]
    MissingColumnId {
        /// Dataset.
        dataset: String,
        /// Which field, or the lineage columns.
        what: String,
    },
    /// The table's schema disagrees with the dataset's contract.
    #[error("table {table}: {detail}")]
    SchemaMismatch {
        /// Table.
        table: String,
        /// What differs.
        detail: String,
    },
    /// The catalog or the table format failed.
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    /// The object store failed (reading or settling pending manifests).
    #[error("object store: {0}")]
    Store(String),
    /// The committer's configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A Glue Data Catalog call of ours (table optimizers) failed.
    #[error("glue: {0}")]
    Glue(String),
    /// The local catalog could not be set up.
    #[error("local catalog {path}: {message}")]
    Local {
        /// Its file or folder.
        path: String,
        /// What failed.
        message: String,
    },
}
