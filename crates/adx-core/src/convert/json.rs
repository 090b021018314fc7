//! JSON value → [`Datum`], for schema defaults and tests: the same conversion as the
//! streaming [`crate::convert::seed`] decoder, run over an already parsed `serde_json::Value`.

use crate::convert::seed::{SeedContext, SeedFailure, decode_with};
use crate::error::FieldError;
use crate::model::datum::Datum;
use crate::model::shape::{Kind, RecordShape, Ty};
use serde_json::Value;
use std::sync::Arc;

/// Converts `value` to a datum of type `ty` (owning its strings).
pub fn json_to_datum(value: &Value, ty: &Ty) -> Result<Datum<'static>, FieldError> {
    let ctx = SeedContext::new();
    decode_with(value, ty, &ctx, || Ok(()))
        .map(Datum::into_owned)
        .map_err(|e| match e {
            SeedFailure::Field(e) => e,
            SeedFailure::Syntax(message) => FieldError::new("", ty.kind.describe(), message),
        })
}

/// Converts a JSON object to a record of `shape`.
pub fn json_to_record(
    value: &Value,
    shape: &Arc<RecordShape>,
) -> Result<Datum<'static>, FieldError> {
    json_to_datum(
        value,
        &Ty {
            kind: Kind::Record(shape.clone()),
            nullable: false,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shape::RecordShape;
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
                Datum::Array(vec![
                    Datum::Record(vec![Datum::Int(1)]),
                    Datum::Record(vec![Datum::Int(2)])
                ]),
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
        assert_eq!(
            json_to_datum(
                &json!(1.5),
                &Ty {
                    kind: Kind::Long,
                    nullable: false
                }
            )
            .unwrap_err()
            .found,
            "number 1.5"
        );
        assert_eq!(e.found, "string \"C\"");

        let v = json!({"id":"a","t":1,"e":"A","xs":[{"v":1},{"v":"x"}]});
        let e = json_to_record(&v, &shape()).unwrap_err();
        assert_eq!(e.field, "xs[1].v");

        let v = json!({"t":1,"e":"A","xs":[]});
        let e = json_to_record(&v, &shape()).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.found.as_str()),
            ("id", "no such field")
        );

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
