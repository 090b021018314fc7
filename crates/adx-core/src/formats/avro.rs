//! Avro object container decoder (null, deflate, snappy and zstd codecs): the writer schema
//! comes from the file; if it cannot be resolved to the reader schema the file is refused as a
//! whole, otherwise each record is resolved to the reader shape.

use crate::convert::avro::avro_to_record;
use crate::error::{RecordError, RecordErrorKind};
use crate::formats::{Decoded, Emit, Position, Stop};
use crate::shape::RecordShape;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::{Reader, Schema};
use std::io::{BufReader, Read};

/// Decodes an Avro container file from `input` into records of `shape` (the compiled `reader`).
pub fn decode_avro(input: &mut dyn Read, reader: &Schema, shape: &RecordShape, emit: &mut Emit<'_>) -> Result<(), Stop> {
    let buffered = BufReader::with_capacity(256 << 10, input);
    let file = Reader::new(buffered).map_err(|e| {
        Stop::Object(RecordError::new(RecordErrorKind::Object, format!("not an Avro object container file: {e}")))
    })?;
    if let Err(e) = SchemaCompatibility::can_read(file.writer_schema(), reader) {
        return Err(Stop::Object(RecordError::new(
            RecordErrorKind::IncompatibleSchema,
            format!("the file's writer schema cannot be resolved to the registered {} schema: {e}", shape.name),
        )));
    }
    for (index, item) in file.enumerate() {
        let value = item.map_err(|e| {
            Stop::Object(RecordError::new(RecordErrorKind::Parse, format!("corrupt Avro data at record {index}: {e}")))
        })?;
        let outcome = match value {
            Value::Record(fields) => {
                avro_to_record(fields, shape).map_err(|e| RecordError::from_field(RecordErrorKind::Schema, e))
            }
            other => Err(RecordError::new(RecordErrorKind::Schema, format!("expected a record, found {other:?}"))),
        };
        emit(Decoded { position: Position::Record(index as u64), outcome, raw: &[] })?;
    }
    Ok(())
}
