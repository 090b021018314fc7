//! Reading a table back (iceberg-rust's own scan, data files read through the catalog's
//! file IO) as JSON rows: what `adx tables show` prints and what the tests compare with their
//! inputs. Strings, numbers and booleans as they are, structs as objects, lists as arrays;
//! timestamps as epoch microseconds (Iceberg's unit).

use crate::TableError;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use futures::TryStreamExt;
use iceberg::{Catalog, TableIdent};
use serde_json::{Map, Value, json};

/// The rows of `ident` (its current snapshot), `columns` only when given, at most `limit`.
pub async fn table_rows(
    catalog: &dyn Catalog,
    ident: &TableIdent,
    columns: Option<&[&str]>,
    limit: Option<usize>,
) -> Result<Vec<Map<String, Value>>, TableError> {
    let table = catalog.load_table(ident).await?;
    let scan = match columns {
        Some(columns) => table.scan().select(columns.iter().copied()),
        None => table.scan().select_all(),
    };
    let batches: Vec<RecordBatch> = scan.build()?.to_arrow().await?.try_collect().await?;
    let mut rows = Vec::new();
    for batch in batches {
        for i in 0..batch.num_rows() {
            if limit.is_some_and(|l| rows.len() >= l) {
                return Ok(rows);
            }
            let mut row = Map::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                row.insert(field.name().clone(), cell(column.as_ref(), i));
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One cell as JSON.
fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => json!(array.as_string::<i64>().value(i)),
        DataType::Boolean => json!(array.as_boolean().value(i)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => json!(array.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => json!(array.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            json!(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut map = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                map.insert(f.name().clone(), cell(c.as_ref(), i));
            }
            Value::Object(map)
        }
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(i);
            Value::Array((0..items.len()).map(|j| cell(items.as_ref(), j)).collect())
        }
        other => json!(format!("<{other}>")),
    }
}
