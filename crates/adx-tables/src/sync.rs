//! Keeps the tables in step with the data contracts: a dataset without a table gets one (its
//! schema and hourly partitioning from [`crate::schema`]); a table whose contract gained
//! columns (a BACKWARD change: new optional fields, new ids) is evolved, the new columns
//! added in id order so that the table gives them the contract's ids (files written before
//! read them as null); then the table is checked against the contract, column id by column id.
//! A change the table cannot follow (a column renamed, retyped, made required, an id reused)
//! is refused with the reason, and the table is left as it was.

use crate::TableError;
use crate::schema::{partition_spec, table_schema};
use adx_core::Dataset;
use iceberg::spec::{NestedFieldRef, Schema, Type};
use iceberg::transaction::{AddColumn, ApplyTransactionAction, Transaction};
use iceberg::{Catalog, NamespaceIdent, TableCreation, TableIdent};
use std::collections::HashMap;

/// What [`sync_table`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The table was created.
    Created,
    /// The table was there, with the contract's schema.
    Unchanged,
    /// The table gained this many columns of its contract.
    Evolved(usize),
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
        let table = catalog.load_table(&ident).await?;
        let added = additions(table.metadata().current_schema(), &schema).map_err(|detail| {
            TableError::SchemaMismatch {
                table: ident.to_string(),
                detail,
            }
        })?;
        if added.is_empty() {
            Synced::Unchanged
        } else {
            let count = added.len();
            let tx = Transaction::new(&table);
            let mut update = tx.update_schema();
            for (parent, field) in added {
                let column = AddColumn::builder()
                    .name(field.name.clone())
                    .field_type((*field.field_type).clone())
                    .required(false);
                update = update.add_column(match parent {
                    Some(parent) => column.parent(parent).build(),
                    None => column.build(),
                });
            }
            update.apply(tx)?.commit(catalog).await?;
            Synced::Evolved(count)
        }
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

/// The columns of `contract` that `table` lacks, in id order, each with the name path of the
/// struct (or list) it goes into; an error when one cannot be added (required, or its id not
/// above every id the table has had).
pub(crate) fn additions(
    table: &Schema,
    contract: &Schema,
) -> Result<Vec<(Option<String>, NestedFieldRef)>, String> {
    let mut out = Vec::new();
    collect_additions(table, contract.as_struct().fields(), None, &mut out);
    out.sort_by_key(|(_, f)| f.id);
    let highest = table.highest_field_id();
    for (_, f) in &out {
        if f.required {
            return Err(format!(
                "column {} (id {}) is new and required: a table can only gain optional columns",
                f.name, f.id
            ));
        }
        if f.id <= highest {
            return Err(format!(
                "column {} (id {}) is new, but its id is not above the table's highest ({highest})",
                f.name, f.id
            ));
        }
    }
    Ok(out)
}

fn collect_additions(
    table: &Schema,
    fields: &[NestedFieldRef],
    parent: Option<&str>,
    out: &mut Vec<(Option<String>, NestedFieldRef)>,
) {
    for f in fields {
        if table.field_by_id(f.id).is_none() {
            out.push((parent.map(str::to_string), f.clone()));
            continue;
        }
        let path = table
            .name_by_field_id(f.id)
            .map(str::to_string)
            .unwrap_or_else(|| f.name.clone());
        match &*f.field_type {
            Type::Struct(s) => collect_additions(table, s.fields(), Some(&path), out),
            Type::List(l) => {
                if let Type::Struct(s) = &*l.element_field.field_type {
                    collect_additions(table, s.fields(), Some(&path), out);
                }
            }
            _ => {}
        }
    }
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
