//! Avro value (decoded with the writer schema) → [`Datum`] of the reader shape.
//!
//! This is where Avro schema resolution happens for the core: record fields are matched by
//! name, a reader field the writer lacks takes its default, int/long/float promote as Avro
//! allows, enums map by symbol. Doing it here, with the reader shape compiled once, avoids
//! apache-avro's per-record `Value::resolve`, which rebuilds its schema tables on every call.

use crate::datum::Datum;
use crate::error::{FieldError, shorten};
use crate::shape::{Kind, RecordShape, Ty};
use apache_avro::types::Value;

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => format!("string \"{}\"", shorten(s)),
        Value::Enum(_, s) => format!("enum symbol {s}"),
        Value::Record(_) => "a record".into(),
        Value::Array(_) => "an array".into(),
        other => shorten(&format!("{other:?}")),
    }
}

fn mismatch(ty: &Ty, value: &Value) -> FieldError {
    FieldError::new("", ty.kind.describe(), describe(value))
}

/// Converts an Avro value to a datum of type `ty`, resolving writer to reader.
pub fn avro_to_datum(value: Value, ty: &Ty) -> Result<Datum, FieldError> {
    let value = match value {
        Value::Union(_, inner) => *inner,
        other => other,
    };
    if let Value::Null = value {
        return if ty.nullable {
            Ok(Datum::Null)
        } else {
            Err(FieldError::new("", ty.kind.describe(), "null"))
        };
    }
    match (&ty.kind, value) {
        (Kind::Str, Value::String(s)) => Ok(Datum::Str(s)),
        (Kind::Str, Value::Bytes(b)) => String::from_utf8(b)
            .map(Datum::Str)
            .map_err(|_| FieldError::new("", "a string", "bytes that are not UTF-8")),
        (Kind::Long, Value::Long(v)) => Ok(Datum::Long(v)),
        (Kind::Long, Value::Int(v)) => Ok(Datum::Long(v.into())),
        (Kind::Int, Value::Int(v)) => Ok(Datum::Int(v)),
        (Kind::Double, Value::Double(v)) => Ok(Datum::Double(v)),
        (Kind::Double, Value::Float(v)) => Ok(Datum::Double(v.into())),
        (Kind::Double, Value::Long(v)) => Ok(Datum::Double(v as f64)),
        (Kind::Double, Value::Int(v)) => Ok(Datum::Double(v.into())),
        (Kind::Float, Value::Float(v)) => Ok(Datum::Float(v)),
        (Kind::Float, Value::Long(v)) => Ok(Datum::Float(v as f32)),
        (Kind::Float, Value::Int(v)) => Ok(Datum::Float(v as f32)),
        (Kind::Bool, Value::Boolean(b)) => Ok(Datum::Bool(b)),
        (Kind::TimestampMillis, Value::TimestampMillis(v) | Value::Long(v)) => {
            Ok(Datum::Timestamp(v))
        }
        (Kind::TimestampMillis, Value::TimestampMicros(v)) => {
            Ok(Datum::Timestamp(v.div_euclid(1000)))
        }
        (Kind::Enum(e), Value::Enum(_, symbol) | Value::String(symbol)) => {
            match e.index_of(&symbol) {
                Some(i) => Ok(Datum::Enum(i)),
                None => Err(FieldError::new(
                    "",
                    ty.kind.describe(),
                    format!("enum symbol {symbol}"),
                )),
            }
        }
        (Kind::Record(shape), Value::Record(fields)) => avro_to_record(fields, shape),
        (Kind::Array(item), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.into_iter().enumerate() {
                out.push(avro_to_datum(v, item).map_err(|e| e.at_index(i))?);
            }
            Ok(Datum::Array(out))
        }
        (_, value) => Err(mismatch(ty, &value)),
    }
}

/// Converts the fields of an Avro record to a record of `shape`, matching fields by name.
pub fn avro_to_record(
    mut fields: Vec<(String, Value)>,
    shape: &RecordShape,
) -> Result<Datum, FieldError> {
    let mut out = Vec::with_capacity(shape.fields.len());
    for (i, field) in shape.fields.iter().enumerate() {
        // Writers usually keep the reader's order: look at the same position first.
        let found = if fields.get(i).is_some_and(|(name, _)| *name == field.name) {
            Some(i)
        } else {
            fields.iter().position(|(name, _)| *name == field.name)
        };
        let datum = match found {
            Some(pos) => {
                let value = std::mem::replace(&mut fields[pos].1, Value::Null);
                avro_to_datum(value, &field.ty).map_err(|e| e.within(&field.name))?
            }
            None => match &field.default {
                Some(d) => d.clone(),
                None => {
                    return Err(FieldError::new(
                        &field.name,
                        field.ty.kind.describe(),
                        "no such field",
                    ));
                }
            },
        };
        out.push(datum);
    }
    Ok(Datum::Record(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::Schema;

    #[test]
    fn resolves_by_name_with_defaults_and_promotion() {
        let reader = Schema::parse_str(
            r#"{"type":"record","name":"r","fields":[
                {"name":"a","type":"long"},
                {"name":"b","type":["null","string"],"default":null},
                {"name":"c","type":"string","default":"x"},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","Z"]}}
            ]}"#,
        )
        .unwrap();
        let shape = RecordShape::from_avro(&reader).unwrap();
        let written = vec![
            ("e".to_string(), Value::Enum(0, "Z".into())),
            ("a".to_string(), Value::Int(7)),
            (
                "b".to_string(),
                Value::Union(1, Box::new(Value::String("s".into()))),
            ),
        ];
        assert_eq!(
            avro_to_record(written, &shape).unwrap(),
            Datum::Record(vec![
                Datum::Long(7),
                Datum::Str("s".into()),
                Datum::Str("x".into()),
                Datum::Enum(2)
            ])
        );
        let written = vec![
            ("a".to_string(), Value::Int(7)),
            ("e".to_string(), Value::Enum(0, "Q".into())),
        ];
        let err = avro_to_record(written, &shape).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.found.as_str()),
            ("e", "enum symbol Q")
        );
    }
}
