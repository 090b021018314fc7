//! Avro schema compatibility: whether data written with one schema can be read with another.
//! The Avro decoder refuses a file whose writer schema fails it, the catalog checks a Glue
//! writer schema against the dataset's reader schema with it, and schema evolution decides
//! BACKWARD compatibility through it.

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;

/// Why data written with one schema cannot be read with another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatibility {
    /// The writer uses a logical type whose raw number the core would misread.
    #[error("the writer uses logical type {0}, which is not converted")]
    UnconvertedLogicalType(&'static str),
    /// apache-avro's schema resolution refuses the pair (its message).
    #[error("{0}")]
    Resolution(String),
}

/// A writer logical type whose raw number is not milliseconds (or not an instant), which the
/// core would otherwise take at face value once Avro's compatibility check lets it through.
pub fn unconverted_logical_type(schema: &Schema) -> Option<&'static str> {
    match schema {
        Schema::TimestampMicros => Some("timestamp-micros"),
        Schema::TimestampNanos => Some("timestamp-nanos"),
        Schema::LocalTimestampMillis => Some("local-timestamp-millis"),
        Schema::LocalTimestampMicros => Some("local-timestamp-micros"),
        Schema::LocalTimestampNanos => Some("local-timestamp-nanos"),
        Schema::TimeMicros => Some("time-micros"),
        Schema::Record(r) => r
            .fields
            .iter()
            .find_map(|f| unconverted_logical_type(&f.schema)),
        Schema::Array(a) => unconverted_logical_type(&a.items),
        Schema::Map(m) => unconverted_logical_type(&m.types),
        Schema::Union(u) => u.variants().iter().find_map(unconverted_logical_type),
        _ => None,
    }
}

/// Why data written with `writer` cannot be read as `reader`, if it cannot.
pub fn resolution_problem(writer: &Schema, reader: &Schema) -> Option<Incompatibility> {
    if let Some(logical) = unconverted_logical_type(writer) {
        return Some(Incompatibility::UnconvertedLogicalType(logical));
    }
    SchemaCompatibility::can_read(writer, reader)
        .err()
        .map(|e| Incompatibility::Resolution(e.to_string()))
}
