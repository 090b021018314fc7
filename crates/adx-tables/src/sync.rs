//! Keeps the tables in step with the data contracts: a dataset without a table gets one (its
//! schema and hourly partitioning from [`crate::schema`]); a table that exists is checked
//! against the contract, column id by column id.

use crate::TableError;
use crate::schema::{partition_spec, table_schema};
use adx_core::Dataset;
use iceberg::spec::{NestedFieldRef, Schema, Type};
use iceberg::{Catalog, NamespaceIdent, TableCreation, TableIdent};
use std::collections::HashMap;

/// What [`sync_table`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The table was created.
    Created,
    /// The table was there, with the contract's schema.
    Unchanged,
}

/// Makes sure `dataset` has its table in `namespace`, at `location` when it is created.
pub async fn sync_table(
    catalog: &dyn Catalog,
    namespace: &NamespaceIdent,
    dataset: &Dataset,
    location: String,
) -> Result<Synced, TableError> {
    if !catalog.namespace_exists(namespace).await? {
        catalog.create_namespace(namespace, HashMap::new()).await?;
    }
    let ident = TableIdent::new(namespace.clone(), dataset.name.clone());
    let schema = table_schema(dataset)?;
    let outcome = if catalog.table_exists(&ident).await? {
        Synced::Unchanged
    } else {
        let creation = TableCreation::builder()
            .name(dataset.name.clone())
            .location(location)
            .schema(schema.clone())
            .partition_spec(partition_spec(dataset)?)
            .properties([
                ("write.format.default".to_string(), "parquet".to_string()),
                (
                    "write.parquet.compression-codec".to_string(),
                    "zstd".to_string(),
                ),
            ])
            .build();
        catalog.create_table(namespace, creation).await?;
        Synced::Created
    };
    let table = catalog.load_table(&ident).await?;
    check_schema(&ident, table.metadata().current_schema(), &schema)?;
    Ok(outcome)
}

/// Checks that every column of `contract` is in `table` under the same id, name, type and
/// requiredness (nested columns included).
pub fn check_schema(
    ident: &TableIdent,
    table: &Schema,
    contract: &Schema,
) -> Result<(), TableError> {
    let mismatch = |detail: String| TableError::SchemaMismatch {
        table: ident.to_string(),
        detail,
    };
    for field in contract.as_struct().fields() {
        check_field(table, field).map_err(mismatch)?;
    }
    Ok(())
}

fn check_field(table: &Schema, field: &NestedFieldRef) -> Result<(), String> {
    let Some(found) = table.field_by_id(field.id) else {
        return Err(format!(
            "column {} (id {}) of the contract is not in the table",
            field.name, field.id
        ));
    };
    if found.name != field.name || found.required != field.required {
        return Err(format!(
            "column id {} is {} ({}) in the table, {} ({}) in the contract",
            field.id,
            found.name,
            if found.required {
                "required"
            } else {
                "optional"
            },
            field.name,
            if field.required {
                "required"
            } else {
                "optional"
            },
        ));
    }
    match (&*found.field_type, &*field.field_type) {
        (Type::Primitive(a), Type::Primitive(b)) if a == b => Ok(()),
        (Type::Struct(_), Type::Struct(s)) => {
            s.fields().iter().try_for_each(|f| check_field(table, f))
        }
        (Type::List(_), Type::List(l)) => check_field(table, &l.element_field),
        (a, b) => Err(format!(
            "column {} (id {}) is {a} in the table, {b} in the contract",
            field.name, field.id
        )),
    }
}
