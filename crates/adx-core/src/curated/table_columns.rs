//! The curated Parquet's columns in the type names of Glue tables and Athena (Hive DDL), so
//! that the Glue tables over the curated prefixes can be checked against the schemas.

use super::arrow_schema::arrow_schema;
use crate::model::shape::RecordShape;
use arrow_schema::DataType;

/// The Glue / Athena type of an Arrow type of the curated schema.
pub fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 => "string".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::List(item) => format!("array<{}>", hive_type(item.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(","))
        }
        other => other.to_string().to_lowercase(),
    }
}

/// Every column of a dataset's curated Parquet (its fields, then the lineage columns), with
/// its Glue type, in order.
pub fn table_columns(shape: &RecordShape) -> Vec<(String, String)> {
    arrow_schema(shape, None)
        .fields()
        .iter()
        .map(|f| (f.name().clone(), hive_type(f.data_type())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dataset::Dataset;
    use crate::ports::RegisteredSchema;

    #[test]
    fn nested_records_and_arrays_become_structs_and_arrays() {
        let definition = r#"{"type":"record","name":"r","fields":[
            {"name":"id","type":"string"},
            {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"n","type":["null","int"],"default":null},
            {"name":"tags","type":{"type":"array","items":"string"}},
            {"name":"site","type":{"type":"record","name":"S","fields":[{"name":"d","type":"string"},{"name":"w","type":"double"}]}},
            {"name":"kind","type":{"type":"enum","name":"K","symbols":["A"]}}],
            "adx":{"key":"id","event_time":"at"}}"#;
        let dataset = Dataset::from_registered(&RegisteredSchema {
            name: "r".into(),
            version_id: String::new(),
            version_number: 1,
            data_format: "AVRO".into(),
            definition: definition.into(),
        });
        let Ok(dataset) = dataset else {
            panic!("{dataset:?}");
        };
        let columns = table_columns(&dataset.shape);
        let got: Vec<(&str, &str)> = columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("id", "string"),
                ("at", "timestamp"),
                ("n", "int"),
                ("tags", "array<string>"),
                ("site", "struct<d:string,w:double>"),
                ("kind", "string"),
                ("_source", "string"),
                ("_source_version", "string"),
                ("_source_partition", "int"),
                ("_offset", "bigint"),
                ("_arrival_time", "timestamp"),
            ]
        );
    }
}
