//! Avro object container decoder (null, deflate, snappy and zstd codecs). The writer schema
//! comes from the file: if apache-avro's compatibility check says it cannot be resolved to the
//! reader schema, the file is refused as a whole; otherwise serde_avro_fast decodes each
//! record straight into the reader shape through [`crate::convert::seed`], which applies the
//! resolution rules (fields by name, defaults, promotions, enums by symbol).

use crate::convert::seed::{DatumSeed, SeedContext};
use crate::error::{RecordError, RecordErrorKind};
use crate::formats::{Decoded, Emit, Position, Raw, Stop};
use crate::shape::{Kind, RecordShape, Ty};
use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use serde_avro_fast::object_container_file_encoding::Reader;
use std::io::{BufReader, Read};
use std::sync::Arc;

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
pub fn resolution_problem(writer: &Schema, reader: &Schema) -> Option<String> {
    if let Some(logical) = unconverted_logical_type(writer) {
        return Some(format!(
            "the writer uses logical type {logical}, which is not converted"
        ));
    }
    SchemaCompatibility::can_read(writer, reader)
        .err()
        .map(|e| e.to_string())
}

fn object(kind: RecordErrorKind, message: String) -> Stop {
    Stop::Object(RecordError::new(kind, message))
}

/// Decodes an Avro container file from `input` into records of `shape` (the compiled `reader`).
pub fn decode_avro(
    input: &mut dyn Read,
    reader: &Schema,
    shape: &Arc<RecordShape>,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    let buffered = BufReader::with_capacity(256 << 10, input);
    let mut file = Reader::from_reader(buffered).map_err(|e| {
        object(
            RecordErrorKind::Object,
            format!("not an Avro object container file: {e}"),
        )
    })?;
    let writer = Schema::parse_str(file.schema().json()).map_err(|e| {
        object(
            RecordErrorKind::IncompatibleSchema,
            format!("the file's writer schema is not usable: {e}"),
        )
    })?;
    if let Some(e) = resolution_problem(&writer, reader) {
        return Err(object(
            RecordErrorKind::IncompatibleSchema,
            format!(
                "the file's writer schema cannot be resolved to the registered {} schema: {e}",
                shape.name
            ),
        ));
    }
    let ty = Ty {
        kind: Kind::Record(shape.clone()),
        nullable: false,
    };
    let ctx = SeedContext::for_avro();
    let mut index = 0u64;
    loop {
        let datum = match file.deserialize_seed_next(DatumSeed { ty: &ty, ctx: &ctx }) {
            Ok(Some(datum)) => datum,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(object(
                    RecordErrorKind::Parse,
                    format!("corrupt Avro data at record {index}: {e}"),
                ));
            }
        };
        // A record that does not fit goes to quarantine rendered as JSON (the misfit field
        // null): Avro containers keep no raw bytes per record.
        let rendered;
        let (outcome, raw) = match ctx.take_error() {
            None => (Ok(datum), Raw::None),
            Some(e) => {
                rendered = datum.to_json(&ty).to_string();
                (
                    Err(RecordError::from_field(RecordErrorKind::Schema, e)),
                    Raw::Bytes(rendered.as_bytes()),
                )
            }
        };
        emit(Decoded {
            position: Position::Record(index),
            outcome,
            raw,
        })?;
        index += 1;
    }
}
