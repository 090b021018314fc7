//! Column builders fed straight from [`Datum`] values, one per field, nested as the schema is.

use crate::curated::arrow_schema::{data_type as arrow_type, struct_fields};
use crate::model::datum::Datum;
use crate::model::shape::{Kind, Ty};
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields};
use std::sync::Arc;

/// Builds one column of a given reader type.
pub enum ColumnBuilder {
    /// boolean
    Bool(BooleanBuilder),
    /// int
    Int(Int32Builder),
    /// long
    Long(Int64Builder),
    /// float
    Float(Float32Builder),
    /// double
    Double(Float64Builder),
    /// string
    Str(StringBuilder),
    /// enum, written as its symbol
    Enum(Arc<[String]>, StringBuilder),
    /// timestamp-millis
    Timestamp(TimestampMicrosecondBuilder),
    /// record
    Struct {
        /// Arrow fields of the children.
        fields: Fields,
        /// Child builders.
        children: Vec<ColumnBuilder>,
        /// Validity.
        nulls: NullBufferBuilder,
    },
    /// array
    List {
        /// Arrow field of the items.
        item: Arc<Field>,
        /// Item builder.
        child: Box<ColumnBuilder>,
        /// Offsets into the items.
        offsets: Vec<i32>,
        /// Validity.
        nulls: NullBufferBuilder,
    },
}

impl ColumnBuilder {
    /// A builder for values of `ty`, whose Arrow type is `data_type` (the schema's: nested
    /// fields carry their column ids).
    pub fn new(ty: &Ty, data_type: &DataType) -> ColumnBuilder {
        match &ty.kind {
            Kind::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            Kind::Int => ColumnBuilder::Int(Int32Builder::new()),
            Kind::Long => ColumnBuilder::Long(Int64Builder::new()),
            Kind::Float => ColumnBuilder::Float(Float32Builder::new()),
            Kind::Double => ColumnBuilder::Double(Float64Builder::new()),
            Kind::Str => ColumnBuilder::Str(StringBuilder::new()),
            Kind::Enum(e) => ColumnBuilder::Enum(e.symbols.clone().into(), StringBuilder::new()),
            Kind::TimestampMillis => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            Kind::Record(r) => {
                let fields = match data_type {
                    DataType::Struct(fields) => fields.clone(),
                    _ => struct_fields(r),
                };
                ColumnBuilder::Struct {
                    children: r
                        .fields
                        .iter()
                        .zip(fields.iter())
                        .map(|(f, arrow)| ColumnBuilder::new(&f.ty, arrow.data_type()))
                        .collect(),
                    fields,
                    nulls: NullBufferBuilder::new(0),
                }
            }
            Kind::Array(item) => {
                let field = match data_type {
                    DataType::List(field) => field.clone(),
                    _ => Arc::new(Field::new("item", arrow_type(item), item.nullable)),
                };
                ColumnBuilder::List {
                    child: Box::new(ColumnBuilder::new(item, field.data_type())),
                    item: field,
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(0),
                }
            }
        }
    }

    /// Appends a value; a datum of another type than the builder's is appended as null (the
    /// converters never produce one).
    pub fn append(&mut self, d: &Datum) {
        match (self, d) {
            (b, Datum::Null) => b.append_null(),
            (ColumnBuilder::Bool(b), Datum::Bool(v)) => b.append_value(*v),
            (ColumnBuilder::Int(b), Datum::Int(v)) => b.append_value(*v),
            (ColumnBuilder::Long(b), Datum::Long(v)) => b.append_value(*v),
            (ColumnBuilder::Float(b), Datum::Float(v)) => b.append_value(*v),
            (ColumnBuilder::Double(b), Datum::Double(v)) => b.append_value(*v),
            (ColumnBuilder::Str(b), Datum::Str(v)) => b.append_value(v),
            (ColumnBuilder::Enum(symbols, b), Datum::Enum(i)) => match symbols.get(*i as usize) {
                Some(s) => b.append_value(s),
                None => b.append_null(),
            },
            (ColumnBuilder::Timestamp(b), Datum::Timestamp(ms)) => {
                b.append_value(millis_to_micros(*ms))
            }
            (
                ColumnBuilder::Struct {
                    children, nulls, ..
                },
                Datum::Record(values),
            ) => {
                for (child, value) in children.iter_mut().zip(values) {
                    child.append(value);
                }
                nulls.append_non_null();
            }
            (
                ColumnBuilder::List {
                    child,
                    offsets,
                    nulls,
                    ..
                },
                Datum::Array(items),
            ) => {
                for item in items {
                    child.append(item);
                }
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last + items.len() as i32);
                nulls.append_non_null();
            }
            (b, _) => b.append_null(),
        }
    }

    /// Appends a null.
    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Long(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Double(b) => b.append_null(),
            ColumnBuilder::Str(b) | ColumnBuilder::Enum(_, b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Struct {
                children, nulls, ..
            } => {
                for child in children.iter_mut() {
                    child.append_null();
                }
                nulls.append_null();
            }
            ColumnBuilder::List { offsets, nulls, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                nulls.append_null();
            }
        }
    }

    /// Bytes of variable-length values (strings) gathered so far, children included.
    pub fn value_bytes(&self) -> usize {
        match self {
            ColumnBuilder::Str(b) | ColumnBuilder::Enum(_, b) => b.values_slice().len(),
            ColumnBuilder::Struct { children, .. } => {
                children.iter().map(ColumnBuilder::value_bytes).sum()
            }
            ColumnBuilder::List { child, .. } => child.value_bytes(),
            _ => 0,
        }
    }

    /// Finishes the column and resets the builder, with room for as many values (and string
    /// bytes) as this batch had: batches of a part are alike, and a builder that starts empty
    /// would copy its buffers at every doubling on the way back to that size.
    pub fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            ColumnBuilder::Bool(b) => renew(b, BooleanBuilder::with_capacity),
            ColumnBuilder::Int(b) => renew(b, Int32Builder::with_capacity),
            ColumnBuilder::Long(b) => renew(b, Int64Builder::with_capacity),
            ColumnBuilder::Float(b) => renew(b, Float32Builder::with_capacity),
            ColumnBuilder::Double(b) => renew(b, Float64Builder::with_capacity),
            ColumnBuilder::Str(b) | ColumnBuilder::Enum(_, b) => {
                let bytes = b.values_slice().len();
                renew(b, |n| StringBuilder::with_capacity(n, bytes))
            }
            ColumnBuilder::Timestamp(b) => renew(b, |n| {
                TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC")
            }),
            ColumnBuilder::Struct {
                fields,
                children,
                nulls,
            } => {
                let arrays = children
                    .iter_mut()
                    .map(|c| c.finish())
                    .collect::<Result<Vec<_>, _>>()?;
                let len = nulls.len();
                Arc::new(StructArray::try_new_with_length(
                    fields.clone(),
                    arrays,
                    nulls.finish(),
                    len,
                )?)
            }
            ColumnBuilder::List {
                item,
                child,
                offsets,
                nulls,
            } => {
                let values = child.finish()?;
                let mut fresh = Vec::with_capacity(offsets.len());
                fresh.push(0);
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, fresh)));
                Arc::new(ListArray::try_new(
                    item.clone(),
                    offsets,
                    values,
                    nulls.finish(),
                )?)
            }
        })
    }
}

/// Finishes `builder`, leaving in its place the one `fresh` makes for as many values.
fn renew<B: ArrayBuilder>(builder: &mut B, fresh: impl FnOnce(usize) -> B) -> ArrayRef {
    let n = builder.len();
    std::mem::replace(builder, fresh(n)).finish()
}

/// A timestamp's epoch milliseconds as the microseconds that Iceberg tables hold (the spec's
/// Parquet type of `timestamptz` is INT64 TIMESTAMP(MICROS, UTC)). Saturates past year 294,247;
/// the contracts' rules bound every timestamp they curate (event times from 2000 to now) far
/// inside.
pub(crate) fn millis_to_micros(ms: i64) -> i64 {
    ms.saturating_mul(1_000)
}
