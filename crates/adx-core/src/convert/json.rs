//! JSON value → [`Datum`], for tests: the same conversion as the streaming
//! [`crate::convert::seed`] decoder, run over an already parsed `serde_json::Value`. (Schema
//! defaults are converted by the model itself, [`crate::model::default_value`].)

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
        crate::test_support::shape(crate::test_support::SAMPLE_FIELDS)
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

    /// The model compiles schema defaults with its own conversion: it gives what the decoder
    /// gives, datum or first error, for every default of the repo's schemas and for values of
    /// every JSON kind against every type.
    #[test]
    fn defaults_convert_as_the_decoder_converts_them() {
        use crate::model::default_value::default_datum;

        fn defaults(schema: &Schema, ty: &Ty, out: &mut Vec<(Value, Ty)>) {
            match (schema, &ty.kind) {
                (Schema::Record(r), Kind::Record(shape)) => {
                    for (f, shaped) in r.fields.iter().zip(&shape.fields) {
                        if let Some(d) = &f.default {
                            out.push((d.clone(), shaped.ty.clone()));
                        }
                        defaults(&f.schema, &shaped.ty, out);
                    }
                }
                (Schema::Array(a), Kind::Array(item)) => defaults(&a.items, item, out),
                (Schema::Union(u), _) => {
                    for v in u.variants() {
                        defaults(v, ty, out);
                    }
                }
                _ => {}
            }
        }

        let same = |value: &Value, ty: &Ty| {
            assert_eq!(
                default_datum(value, ty),
                json_to_datum(value, ty),
                "{value} as {}",
                ty.kind.describe()
            );
        };

        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "avsc") {
                continue;
            }
            let schema = Schema::parse_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let ty = Ty {
                kind: Kind::Record(RecordShape::from_avro(&schema).unwrap()),
                nullable: false,
            };
            let mut found = Vec::new();
            defaults(&schema, &ty, &mut found);
            for (value, ty) in &found {
                same(value, ty);
            }
            seen += found.len();
        }
        assert!(seen > 0);

        let schema = Schema::parse_str(
            r#"{"type":"record","name":"T","fields":[
                {"name":"b","type":"boolean"},
                {"name":"i","type":"int"},
                {"name":"l","type":"long"},
                {"name":"f","type":"float"},
                {"name":"d","type":"double"},
                {"name":"s","type":"string"},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}},
                {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"r","type":{"type":"record","name":"R","fields":[
                    {"name":"v","type":"int"},
                    {"name":"w","type":["null","string"],"default":null},
                    {"name":"x","type":"long","default":5}]}},
                {"name":"a","type":{"type":"array","items":"R"}},
                {"name":"ss","type":{"type":"array","items":"string"}},
                {"name":"ns","type":["null","string"],"default":null},
                {"name":"nr","type":["null","R"],"default":null}
            ]}"#,
        )
        .unwrap();
        let shape = RecordShape::from_avro(&schema).unwrap();
        let mut types: Vec<Ty> = shape.fields.iter().map(|f| f.ty.clone()).collect();
        types.push(Ty {
            kind: Kind::Record(shape.clone()),
            nullable: false,
        });
        let long_text = "x".repeat(200);
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(1),
            json!(-1),
            json!(42),
            json!(3_000_000_000i64),
            json!(-3_000_000_000i64),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!(""),
            json!("x"),
            json!(" 42 "),
            json!("42"),
            json!("1.5"),
            json!("true"),
            json!(" false"),
            json!("A"),
            json!("B"),
            json!("C"),
            json!("2000-01-01T00:00:00Z"),
            json!("946684800000"),
            json!(long_text),
            json!([]),
            json!([1, 2]),
            json!(["x"]),
            json!([{"v": 1}]),
            json!([{"v": 1}, {"v": "x"}, {"v": true}]),
            json!([{"w": "no v"}]),
            json!({}),
            json!({"v": 1}),
            json!({"v": 1, "w": "s", "x": 7, "zz": 0}),
            json!({"w": "s"}),
            json!({"v": "x", "w": 1}),
            json!({"zz": 1, "v": null}),
            json!({"b": true, "i": 1, "l": 2, "f": 1.5, "d": 2, "s": "s", "e": "B", "t": 5,
                   "r": {"v": 1}, "a": [{"v": 2, "x": 9}], "ss": ["a", "b"]}),
            json!({"b": "true", "i": "1", "l": " 2", "f": "1.5", "d": "2", "s": "s", "e": "B",
                   "t": "2000-01-01T00:00:00Z", "r": {"v": 1}, "a": [], "ss": [], "ns": "n",
                   "nr": {"v": 3, "w": null}}),
            json!({"b": true, "i": 1, "l": 2, "f": 1.5, "d": 2, "s": "s", "e": "B", "t": 5,
                   "r": {"v": 1}, "a": [{"v": 2}, {"v": 2.5}], "ss": [1]}),
        ];
        for ty in &types {
            for nullable in [false, true] {
                let ty = Ty {
                    kind: ty.kind.clone(),
                    nullable,
                };
                for value in &values {
                    same(value, &ty);
                }
            }
        }
    }
}
