//! Avro object container decoder (null, deflate, snappy and zstd codecs). The writer schema
//! comes from the file: if apache-avro's compatibility check says it cannot be resolved to the
//! reader schema, the file is refused as a whole. The file is read a block at a time
//! ([`super::avro_blocks`]); a writer with the reader's shape exactly has its records read
//! straight from the block's bytes ([`super::avro_direct`]), any other (and any record that
//! path declines) goes through serde_avro_fast into the reader shape with
//! [`crate::convert::seed`], which applies the resolution rules (fields by name, defaults,
//! promotions, enums by symbol).

use crate::convert::seed::{DatumSeed, SeedContext};
use crate::error::{RecordError, RecordErrorKind};
use crate::formats::avro_blocks::Blocks;
use crate::formats::avro_direct::DirectPlan;
use crate::formats::decoded::{Decoded, Emit, Position, Raw, Stop};
use crate::model::avro_compat::resolution_problem;
use crate::model::datum::Datum;
use crate::model::shape::{Kind, RecordShape, Ty};
use apache_avro::Schema;
use serde::de::DeserializeSeed;
use serde_avro_fast::de::DeserializerState;
use std::io::{BufRead, BufReader, Read};
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
    let mut blocks =
        Blocks::open(buffered).map_err(|e| object(RecordErrorKind::Object, e.to_string()))?;
    let unusable = |e: String| {
        object(
            RecordErrorKind::IncompatibleSchema,
            format!("the file's writer schema is not usable: {e}"),
        )
    };
    let writer = Schema::parse_str(blocks.schema()).map_err(|e| unusable(e.to_string()))?;
    if let Some(e) = resolution_problem(&writer, reader) {
        return Err(object(
            RecordErrorKind::IncompatibleSchema,
            format!(
                "the file's writer schema cannot be resolved to the registered {} schema: {e}",
                shape.name
            ),
        ));
    }
    let fast: serde_avro_fast::Schema = blocks
        .schema()
        .parse()
        .map_err(|e: serde_avro_fast::schema::SchemaError| unusable(e.to_string()))?;
    let ty = Ty {
        kind: Kind::Record(shape.clone()),
        nullable: false,
    };
    // A writer with the reader's shape exactly (the usual case) is read by the direct path.
    let direct = DirectPlan::compile(&writer, &ty);
    let ctx = SeedContext::for_avro();
    let corrupt = |index: u64, e: &dyn std::fmt::Display| {
        object(
            RecordErrorKind::Parse,
            format!("corrupt Avro data at record {index}: {e}"),
        )
    };
    let mut index = 0u64;
    while let Some(block) = blocks.next_block().map_err(|e| corrupt(index, &e))? {
        let mut rest = block.bytes;
        for _ in 0..block.count {
            let (datum, used) = match direct.as_ref().and_then(|plan| plan.decode_prefix(rest)) {
                Some(read) => read,
                None => general(rest, &fast, &ty, &ctx).map_err(|e| corrupt(index, &e))?,
            };
            rest = &rest[used..];
            // A record that does not fit goes to quarantine rendered as JSON (the misfit
            // field null): Avro containers keep no raw bytes per record.
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
                key_ahead: None,
            })?;
            index += 1;
        }
        if !rest.is_empty() {
            let e = format!(
                "{} bytes are left in its block after the {} records it claims",
                rest.len(),
                block.count
            );
            return Err(corrupt(index, &e));
        }
    }
    Ok(())
}

/// Reads one datum from the front of `bytes` with the general decoder (writer schema
/// resolved to `ty`): the datum and how many bytes it took.
fn general<'b, 's>(
    bytes: &'b [u8],
    writer: &serde_avro_fast::Schema,
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
) -> Result<(Datum<'b>, usize), serde_avro_fast::de::DeError> {
    let mut state = DeserializerState::from_slice(bytes, writer);
    let datum = DatumSeed { ty, ctx }.deserialize(state.deserializer())?;
    let left = state.into_reader().fill_buf().map_or(0, |rest| rest.len());
    Ok((datum, bytes.len() - left))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::decoded::collect;
    use apache_avro::types::Value;
    use apache_avro::{Codec, Writer};

    const READER: &str = r#"{"type":"record","name":"r","fields":[
        {"name":"id","type":"string"},{"name":"n","type":"long"}]}"#;
    /// The same fields in the other order: resolved by name, so not the direct path.
    const REORDERED: &str = r#"{"type":"record","name":"r","fields":[
        {"name":"n","type":"long"},{"name":"id","type":"string"}]}"#;

    fn file(schema: &str, records: i64) -> Vec<u8> {
        let schema = Schema::parse_str(schema).unwrap();
        let mut writer = Writer::builder()
            .schema(&schema)
            .writer(Vec::new())
            .codec(Codec::Null)
            .block_size(100)
            .build()
            .unwrap();
        for i in 0..records {
            let mut r = apache_avro::types::Record::new(&schema).unwrap();
            r.put("id", Value::String(format!("id-{i}")));
            r.put("n", Value::Long(i - 7));
            writer.append_value(r).unwrap();
        }
        writer.into_inner().unwrap()
    }

    fn decode(bytes: &[u8]) -> (crate::formats::decoded::Seen, Option<Stop>) {
        let reader = Schema::parse_str(READER).unwrap();
        let shape = RecordShape::from_avro(&reader).unwrap();
        collect(|emit| decode_avro(&mut &bytes[..], &reader, &shape, emit))
    }

    fn expected(i: i64) -> Datum<'static> {
        Datum::Record(vec![
            Datum::Str(format!("id-{i}").as_str().into()),
            Datum::Long(i - 7),
        ])
    }

    /// The message of the quarantine entry that stopped the object.
    fn stop_message(stop: Option<Stop>) -> String {
        match stop {
            Some(Stop::Object(e)) => e.message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_direct_and_the_general_path_read_the_same_records() {
        let reader = Schema::parse_str(READER).unwrap();
        let ty = Ty {
            kind: Kind::Record(RecordShape::from_avro(&reader).unwrap()),
            nullable: false,
        };
        for (writer, direct) in [(READER, true), (REORDERED, false)] {
            let plan = DirectPlan::compile(&Schema::parse_str(writer).unwrap(), &ty);
            assert_eq!(plan.is_some(), direct, "{writer}");
            let (seen, stop) = decode(&file(writer, 50));
            assert!(stop.is_none(), "{writer}");
            let records: Vec<_> = seen.into_iter().map(|(p, d, _)| (p, d.unwrap())).collect();
            let want: Vec<_> = (0..50)
                .map(|i| (Position::Record(i as u64), expected(i)))
                .collect();
            assert_eq!(records, want, "{writer}");
        }
    }

    /// `file`'s header (0 records) and one block of `count` records holding `data`.
    fn one_block(count: u8, data: &[u8]) -> Vec<u8> {
        let mut bytes = file(READER, 0);
        let sync = bytes[bytes.len() - 16..].to_vec();
        assert!(data.len() < 64);
        bytes.extend([count * 2, data.len() as u8 * 2]);
        bytes.extend_from_slice(data);
        bytes.extend(sync);
        bytes
    }

    #[test]
    fn a_record_the_direct_path_declines_is_read_by_the_general_one() {
        // id "a", n 1 written in two bytes (a varint that is not in its shortest form, which
        // the direct path leaves to the general decoder), then id "b", n 1 in one byte.
        let data = [2, b'a', 0x82, 0x00, 2, b'b', 0x02];
        let (seen, stop) = decode(&one_block(2, &data));
        assert!(stop.is_none());
        let records: Vec<_> = seen.into_iter().map(|(_, d, _)| d.unwrap()).collect();
        let record = |id: &str| Datum::Record(vec![Datum::Str(id.into()), Datum::Long(1)]);
        assert_eq!(records, vec![record("a"), record("b")]);
    }

    #[test]
    fn a_block_that_does_not_hold_its_records_exactly_stops_the_object() {
        let (seen, stop) = decode(&one_block(1, &[2, b'a', 0x02, 0x00]));
        assert_eq!(seen.len(), 1, "the record before the damage is kept");
        assert_eq!(
            stop_message(stop),
            "corrupt Avro data at record 1: 1 bytes are left in its block after the 1 records it claims"
        );
        let (seen, stop) = decode(&one_block(2, &[2, b'a', 0x02, 0x08, b'b']));
        assert_eq!(seen.len(), 1);
        assert!(
            stop_message(stop).starts_with("corrupt Avro data at record 1: "),
            "a record cut short"
        );
        let mut bad = file(READER, 50);
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let (seen, stop) = decode(&bad);
        let message = stop_message(stop);
        assert!(!seen.is_empty() && seen.len() < 50);
        assert!(
            message.starts_with(&format!(
                "corrupt Avro data at record {}: block ",
                seen.len()
            )) && message.ends_with("the sync marker after it is not the header's"),
            "{message}"
        );
    }
}
