//! Avro reader shape → Arrow schema: record → struct, array → list, `["null", T]` → nullable,
//! enum → string, timestamp-millis → Timestamp(ms, UTC); then the lineage columns.

use crate::curated::lineage::lineage_fields;
use crate::model::shape::{Kind, RecordShape, Ty};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// Arrow type of a reader type.
pub fn data_type(ty: &Ty) -> DataType {
    match &ty.kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int32,
        Kind::Long => DataType::Int64,
        Kind::Float => DataType::Float32,
        Kind::Double => DataType::Float64,
        Kind::Str | Kind::Enum(_) => DataType::Utf8,
        Kind::TimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Kind::Record(r) => DataType::Struct(struct_fields(r)),
        Kind::Array(item) => {
            DataType::List(Arc::new(Field::new("item", data_type(item), item.nullable)))
        }
    }
}

/// Arrow fields of a record's fields.
pub fn struct_fields(shape: &RecordShape) -> Fields {
    shape
        .fields
        .iter()
        .map(|f| Field::new(&f.name, data_type(&f.ty), f.ty.nullable))
        .collect()
}

/// The curated schema of a dataset: its fields, then the lineage columns.
pub fn arrow_schema(shape: &RecordShape) -> SchemaRef {
    let mut fields: Vec<Field> = struct_fields(shape)
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(lineage_fields());
    Arc::new(Schema::new(fields))
}
