//! How a table stands, for `adx doctor`: whether it exists, whether its schema follows its
//! contract (column by column id; columns the contract gained and the table lacks yet; a
//! change it cannot follow), and when it last received a commit.

use crate::TableError;
use crate::schema::table_schema;
use crate::sync::{additions, check_schema};
use adx_core::Dataset;
use iceberg::{Catalog, NamespaceIdent, TableIdent};

/// How a table's schema stands against its contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No table.
    Missing,
    /// The contract's columns, ids and types.
    InStep,
    /// The contract gained these columns, which the table lacks yet (`adx tables sync`, or
    /// the committer's next run, adds them).
    Behind(Vec<String>),
    /// A difference the table cannot follow: its commits stop.
    Refused(String),
}

/// How one table stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableHealth {
    /// The table (dataset) name.
    pub table: String,
    /// Its schema against its contract.
    pub schema: SchemaState,
    /// When its current snapshot was committed, epoch millis (none before a first commit).
    pub last_commit_ms: Option<i64>,
    /// Records in the table, from the current snapshot's summary.
    pub records: Option<u64>,
}

/// How `dataset`'s table in `namespace` stands.
pub async fn table_health(
    catalog: &dyn Catalog,
    namespace: &NamespaceIdent,
    dataset: &Dataset,
) -> Result<TableHealth, TableError> {
    let ident = TableIdent::new(namespace.clone(), dataset.name.clone());
    let mut health = TableHealth {
        table: dataset.name.clone(),
        schema: SchemaState::Missing,
        last_commit_ms: None,
        records: None,
    };
    if !catalog.table_exists(&ident).await? {
        return Ok(health);
    }
    let table = catalog.load_table(&ident).await?;
    let metadata = table.metadata();
    let current = metadata.current_schema();
    let contract = table_schema(dataset)?;
    health.schema = match additions(current, &contract) {
        Err(detail) => SchemaState::Refused(detail),
        Ok(added) if !added.is_empty() => {
            SchemaState::Behind(added.iter().map(|(_, f)| f.name.clone()).collect())
        }
        Ok(_) => match check_schema(&ident, current, &contract) {
            Ok(()) => SchemaState::InStep,
            Err(e) => SchemaState::Refused(e.to_string()),
        },
    };
    if let Some(snapshot) = metadata.current_snapshot() {
        health.last_commit_ms = Some(snapshot.timestamp_ms());
        health.records = snapshot
            .summary()
            .additional_properties
            .get("total-records")
            .and_then(|v| v.parse().ok());
    }
    Ok(health)
}
