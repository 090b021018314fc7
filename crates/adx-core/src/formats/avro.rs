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
    if let Err(e) = SchemaCompatibility::can_read(&writer, reader) {
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
    let ctx = SeedContext::new();
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
        let outcome = match ctx.take_error() {
            None => Ok(datum),
            Some(e) => Err(RecordError::from_field(RecordErrorKind::Schema, e)),
        };
        emit(Decoded {
            position: Position::Record(index),
            outcome,
            raw: Raw::None,
        })?;
        index += 1;
    }
}
