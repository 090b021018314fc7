//! One bare Avro datum (a Glue-framed Kafka value without its header) decoded with its writer
//! schema straight into the reader shape, through the same serde seed as container files.

use crate::convert::seed::{DatumSeed, SeedContext};
use crate::error::{RecordError, RecordErrorKind};
use crate::model::datum::Datum;
use crate::model::shape::Ty;
use serde::de::DeserializeSeed;
use serde_avro_fast::de::DeserializerState;
use std::io::BufRead;

/// Decodes `bytes` (exactly one datum) written with `writer` into a record of type `ty`.
pub fn decode_datum<'b, 's>(
    bytes: &'b [u8],
    writer: &serde_avro_fast::Schema,
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
) -> Result<Datum<'b>, RecordError> {
    // Read from the slice itself: strings are borrowed from it, not copied through a buffer.
    let mut state = DeserializerState::from_slice(bytes, writer);
    let decoded = DatumSeed { ty, ctx }.deserialize(state.deserializer());
    let left = state.into_reader().fill_buf().map_or(0, |rest| rest.len());
    match (decoded, ctx.take_error()) {
        (_, Some(e)) => Err(RecordError::from_field(RecordErrorKind::Schema, e)),
        (Err(e), None) => Err(RecordError::new(
            RecordErrorKind::Parse,
            format!("undecodable Avro datum: {e}"),
        )),
        (Ok(_), None) if left > 0 => Err(RecordError::new(
            RecordErrorKind::Parse,
            format!("undecodable Avro datum: {left} bytes left after the record"),
        )),
        (Ok(d), None) => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shape::{Kind, RecordShape};
    use apache_avro::types::{Record, Value};

    const SCHEMA: &str = r#"{"type":"record","name":"r","fields":[{"name":"id","type":"string"},{"name":"n","type":["null","long"],"default":null}]}"#;

    #[test]
    fn decodes_one_datum_and_refuses_leftovers_and_truncation() {
        let avro = apache_avro::Schema::parse_str(SCHEMA).unwrap();
        let mut r = Record::new(&avro).unwrap();
        r.put("id", "a");
        r.put("n", Value::Union(1, Box::new(Value::Long(5))));
        let bytes = apache_avro::writer::datum::GenericDatumWriter::builder(&avro)
            .build()
            .unwrap()
            .write_value_to_vec(r)
            .unwrap();
        let fast: serde_avro_fast::Schema = SCHEMA.parse().unwrap();
        let ty = Ty {
            kind: Kind::Record(RecordShape::from_avro(&avro).unwrap()),
            nullable: false,
        };
        let ctx = SeedContext::new();
        assert_eq!(
            decode_datum(&bytes, &fast, &ty, &ctx).unwrap(),
            Datum::Record(vec![Datum::Str("a".into()), Datum::Long(5)])
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            decode_datum(&longer, &fast, &ty, &ctx)
                .unwrap_err()
                .message
                .contains("1 bytes left")
        );
        let err = decode_datum(&bytes[..2], &fast, &ty, &ctx).unwrap_err();
        assert_eq!(err.kind, RecordErrorKind::Parse);
        // A huge string length prefix is an error, not an allocation.
        let err = decode_datum(
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            &fast,
            &ty,
            &ctx,
        )
        .unwrap_err();
        assert_eq!(err.kind, RecordErrorKind::Parse);
    }
}
