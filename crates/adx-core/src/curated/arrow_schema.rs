//! Avro reader shape → Arrow schema: record → struct, array → list, `["null", T]` → nullable,
//! enum → string, timestamp-millis → Timestamp(ms, UTC); then the lineage columns. A field
//! with a column id (`field-id`, an array's `element-id`) carries it as `PARQUET:field_id`,
//! which the Parquet writer stores in the file's schema: the table's column ids.

use crate::curated::lineage::lineage_fields;
use crate::model::shape::{FieldShape, Kind, RecordShape, Ty};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::collections::HashMap;
use std::sync::Arc;

/// The Arrow field metadata key that the Parquet writer turns into a column's field id.
pub const FIELD_ID_KEY: &str = "PARQUET:field_id";

/// `field`, carrying `id` as its Parquet field id when there is one.
pub fn with_field_id(field: Field, id: Option<i32>) -> Field {
    match id {
        Some(id) => {
            field.with_metadata(HashMap::from([(FIELD_ID_KEY.to_string(), id.to_string())]))
        }
        None => field,
    }
}

/// The Arrow field of a record field, with its column ids.
pub fn field_of(f: &FieldShape) -> Field {
    let data_type = match (&f.ty.kind, f.element_id) {
        (Kind::Array(item), Some(id)) => DataType::List(Arc::new(with_field_id(
            Field::new("item", data_type(item), item.nullable),
            Some(id),
        ))),
        _ => data_type(&f.ty),
    };
    with_field_id(Field::new(&f.name, data_type, f.ty.nullable), f.id)
}

/// Arrow type of a reader type.
pub fn data_type(ty: &Ty) -> DataType {
    match &ty.kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int32,
        Kind::Long => DataType::Int64,
        Kind::Float => DataType::Float32,
        Kind::Double => DataType::Float64,
        Kind::Str | Kind::Enum(_) => DataType::Utf8,
        Kind::TimestampMillis => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::Record(r) => DataType::Struct(struct_fields(r)),
        Kind::Array(item) => {
            DataType::List(Arc::new(Field::new("item", data_type(item), item.nullable)))
        }
    }
}

/// Arrow fields of a record's fields.
pub fn struct_fields(shape: &RecordShape) -> Fields {
    shape.fields.iter().map(field_of).collect()
}

/// The curated schema of a dataset: its fields, then the lineage columns (with `lineage_ids`).
pub fn arrow_schema(shape: &RecordShape, lineage_ids: Option<[i32; 5]>) -> SchemaRef {
    let mut fields: Vec<Field> = struct_fields(shape)
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(lineage_fields(lineage_ids));
    Arc::new(Schema::new(fields))
}
