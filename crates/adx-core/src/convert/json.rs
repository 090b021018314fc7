//! JSON value → [`Datum`], for JSON Lines, JSON arrays, CSV cells of complex type and defaults.
//!
//! Numbers may also arrive as text (`"42"`), timestamps as epoch millis or RFC 3339, enums by
//! symbol. Unknown object members are ignored; a missing member takes the field's default.

use crate::convert::timestamp::parse_timestamp_millis;
use crate::datum::Datum;
use crate::error::{FieldError, shorten};
use crate::shape::{Kind, RecordShape, Ty};
use serde_json::Value;

/// Describes a JSON value for an error message.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{}\"", shorten(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn mismatch(ty: &Ty, value: &Value) -> FieldError {
    FieldError::new("", ty.kind.describe(), describe(value))
}

/// Converts `value` to a datum of type `ty`.
pub fn json_to_datum(value: &Value, ty: &Ty) -> Result<Datum, FieldError> {
    if value.is_null() {
        return if ty.nullable {
            Ok(Datum::Null)
        } else {
            Err(FieldError::new("", ty.kind.describe(), "null"))
        };
    }
    match (&ty.kind, value) {
        (Kind::Str, Value::String(s)) => Ok(Datum::Str(s.clone())),
        (Kind::Long, Value::Number(n)) => n.as_i64().map(Datum::Long).ok_or_else(|| mismatch(ty, value)),
        (Kind::Long, Value::String(s)) => s.trim().parse().map(Datum::Long).map_err(|_| mismatch(ty, value)),
        (Kind::Int, Value::Number(n)) => n
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .map(Datum::Int)
            .ok_or_else(|| mismatch(ty, value)),
        (Kind::Int, Value::String(s)) => s.trim().parse().map(Datum::Int).map_err(|_| mismatch(ty, value)),
        (Kind::Double, Value::Number(n)) => n.as_f64().map(Datum::Double).ok_or_else(|| mismatch(ty, value)),
        (Kind::Double, Value::String(s)) => s.trim().parse().map(Datum::Double).map_err(|_| mismatch(ty, value)),
        (Kind::Float, Value::Number(n)) => {
            n.as_f64().map(|v| Datum::Float(v as f32)).ok_or_else(|| mismatch(ty, value))
        }
        (Kind::Float, Value::String(s)) => s.trim().parse().map(Datum::Float).map_err(|_| mismatch(ty, value)),
        (Kind::Bool, Value::Bool(b)) => Ok(Datum::Bool(*b)),
        (Kind::Bool, Value::String(s)) => match s.trim() {
            "true" => Ok(Datum::Bool(true)),
            "false" => Ok(Datum::Bool(false)),
            _ => Err(mismatch(ty, value)),
        },
        (Kind::Enum(e), Value::String(s)) => e.index_of(s).map(Datum::Enum).ok_or_else(|| mismatch(ty, value)),
        (Kind::TimestampMillis, Value::Number(n)) => {
            n.as_i64().map(Datum::Timestamp).ok_or_else(|| mismatch(ty, value))
        }
        (Kind::TimestampMillis, Value::String(s)) => {
            parse_timestamp_millis(s).map(Datum::Timestamp).ok_or_else(|| mismatch(ty, value))
        }
        (Kind::Record(shape), Value::Object(_)) => json_to_record(value, shape),
        (Kind::Array(item), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                out.push(json_to_datum(v, item).map_err(|e| e.at_index(i))?);
            }
            Ok(Datum::Array(out))
        }
        _ => Err(mismatch(ty, value)),
    }
}

/// Converts a JSON object to a record of `shape`; anything but an object is an error.
pub fn json_to_record(value: &Value, shape: &RecordShape) -> Result<Datum, FieldError> {
    let Value::Object(map) = value else {
        return Err(FieldError::new("", format!("a {} object", shape.name), describe(value)));
    };
    let mut fields = Vec::with_capacity(shape.fields.len());
    for field in &shape.fields {
        let datum = match map.get(&field.name) {
            Some(v) => json_to_datum(v, &field.ty).map_err(|e| e.within(&field.name))?,
            None => match &field.default {
                Some(d) => d.clone(),
                None => {
                    return Err(FieldError::new(&field.name, field.ty.kind.describe(), "no such field"));
                }
            },
        };
        fields.push(datum);
    }
    Ok(Datum::Record(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::RecordShape;
    use apache_avro::Schema;
    use serde_json::json;

    fn shape() -> std::sync::Arc<RecordShape> {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"r","fields":[
                {"name":"id","type":"string"},
                {"name":"n","type":["null","long"],"default":null},
                {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
                {"name":"xs","type":{"type":"array","items":{"type":"record","name":"X","fields":[{"name":"v","type":"int"}]}}},
                {"name":"d","type":"double","default":1.5}
            ]}"#,
        )
        .unwrap();
        RecordShape::from_avro(&schema).unwrap()
    }

    #[test]
    fn converts_a_full_record_and_fills_defaults() {
        let v = json!({"id":"a","n":"42","t":"2000-01-01T00:00:00Z","e":"B","xs":[{"v":1},{"v":2}],"extra":true});
        let d = json_to_record(&v, &shape()).unwrap();
        assert_eq!(
            d,
            Datum::Record(vec![
                Datum::Str("a".into()),
                Datum::Long(42),
                Datum::Timestamp(946_684_800_000),
                Datum::Enum(1),
                Datum::Array(vec![Datum::Record(vec![Datum::Int(1)]), Datum::Record(vec![Datum::Int(2)])]),
                Datum::Double(1.5),
            ])
        );
    }

    #[test]
    fn errors_name_field_expected_and_found() {
        let v = json!({"id":"a","t":1,"e":"C","xs":[]});
        let e = json_to_record(&v, &shape()).unwrap_err();
        assert_eq!(e.field, "e");
        assert_eq!(e.expected, "one of A|B");
        assert_eq!(e.found, "string \"C\"");

        let v = json!({"id":"a","t":1,"e":"A","xs":[{"v":1},{"v":"x"}]});
        let e = json_to_record(&v, &shape()).unwrap_err();
        assert_eq!(e.field, "xs[1].v");

        let v = json!({"t":1,"e":"A","xs":[]});
        let e = json_to_record(&v, &shape()).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("id", "no such field"));

        let v = json!({"id":null,"t":1,"e":"A","xs":[]});
        assert_eq!(json_to_record(&v, &shape()).unwrap_err().found, "null");

        let v = json!({"id":"a","t":1.5,"e":"A","xs":[]});
        assert_eq!(json_to_record(&v, &shape()).unwrap_err().field, "t");

        let v = json!([1]);
        assert_eq!(json_to_record(&v, &shape()).unwrap_err().found, "an array");
    }

    #[test]
    fn int_overflow_is_an_error() {
        let v = json!({"id":"a","t":1,"e":"A","xs":[{"v": 3_000_000_000i64}]});
        assert_eq!(json_to_record(&v, &shape()).unwrap_err().field, "xs[0].v");
    }
}
