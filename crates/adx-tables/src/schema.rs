//! A dataset's table schema, made from its data contract: the contract's fields with their
//! `field-id`s (arrays' elements with their `element-id`s), then the lineage columns with the
//! ids of the `adx` block. Types: record → struct, array → list, `["null", T]` → optional,
//! enum → string, timestamp-millis → timestamptz. The partition spec is `hour(event_time)`.

use crate::TableError;
use adx_core::{Dataset, FieldShape, Kind, LINEAGE_COLUMNS, RecordShape, Ty};
use iceberg::spec::{
    ListType, NestedField, NestedFieldRef, PrimitiveType, Schema, StructType, Transform, Type,
    UnboundPartitionSpec,
};
use std::sync::Arc;

/// The name of the partition field: the event time's hour.
pub const HOUR_PARTITION: &str = "event_time_hour";

/// The table schema of `dataset`.
pub fn table_schema(dataset: &Dataset) -> Result<Schema, TableError> {
    let mut fields = record_fields(dataset, &dataset.shape)?;
    let ids = dataset
        .lineage_ids
        .ok_or_else(|| missing(dataset, "the lineage columns (lineage_field_ids)"))?;
    let lineage_types = [
        (PrimitiveType::String, true),
        (PrimitiveType::String, false),
        (PrimitiveType::Int, false),
        (PrimitiveType::Long, true),
        (PrimitiveType::Timestamptz, true),
    ];
    for ((name, id), (ty, required)) in LINEAGE_COLUMNS.iter().zip(ids).zip(lineage_types) {
        fields.push(Arc::new(NestedField::new(
            id,
            *name,
            Type::Primitive(ty),
            required,
        )));
    }
    Ok(Schema::builder().with_fields(fields).build()?)
}

/// The partition spec of `dataset`'s table: the hour of its event time.
pub fn partition_spec(dataset: &Dataset) -> Result<UnboundPartitionSpec, TableError> {
    let field = &dataset.shape.fields[dataset.event_time];
    let id = field
        .id
        .ok_or_else(|| missing(dataset, &format!("field {}", field.name)))?;
    Ok(UnboundPartitionSpec::builder()
        .add_partition_field(id, HOUR_PARTITION, Transform::Hour)?
        .build())
}

fn missing(dataset: &Dataset, what: &str) -> TableError {
    TableError::MissingColumnId {
        dataset: dataset.name.clone(),
        what: what.to_string(),
    }
}

fn record_fields(
    dataset: &Dataset,
    shape: &RecordShape,
) -> Result<Vec<NestedFieldRef>, TableError> {
    shape
        .fields
        .iter()
        .map(|f| field(dataset, f).map(Arc::new))
        .collect()
}

fn field(dataset: &Dataset, f: &FieldShape) -> Result<NestedField, TableError> {
    let id =
        f.id.ok_or_else(|| missing(dataset, &format!("field {}", f.name)))?;
    let ty = match &f.ty.kind {
        Kind::Array(item) => {
            let element_id = f
                .element_id
                .ok_or_else(|| missing(dataset, &format!("the elements of {}", f.name)))?;
            let element =
                NestedField::list_element(element_id, value_type(dataset, item)?, !item.nullable);
            Type::List(ListType::new(Arc::new(element)))
        }
        _ => value_type(dataset, &f.ty)?,
    };
    Ok(NestedField::new(id, &f.name, ty, !f.ty.nullable))
}

fn value_type(dataset: &Dataset, ty: &Ty) -> Result<Type, TableError> {
    Ok(match &ty.kind {
        Kind::Bool => Type::Primitive(PrimitiveType::Boolean),
        Kind::Int => Type::Primitive(PrimitiveType::Int),
        Kind::Long => Type::Primitive(PrimitiveType::Long),
        Kind::Float => Type::Primitive(PrimitiveType::Float),
        Kind::Double => Type::Primitive(PrimitiveType::Double),
        Kind::Str | Kind::Enum(_) => Type::Primitive(PrimitiveType::String),
        Kind::TimestampMillis => Type::Primitive(PrimitiveType::Timestamptz),
        Kind::Record(r) => Type::Struct(StructType::new(record_fields(dataset, r)?)),
        Kind::Array(_) => {
            return Err(missing(
                dataset,
                "an array directly inside an array (not supported)",
            ));
        }
    })
}
