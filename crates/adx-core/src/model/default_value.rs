//! A field's default (the JSON value of the schema's `default`) → [`Datum`], when the schema
//! compiles. The model's own conversion, so that compiling a schema needs no decoder: it
//! accepts what the JSON decoder ([`crate::convert::seed`]) accepts from a JSON value, gives
//! the same datum, and the same first error with the same path.

use crate::error::{FieldError, shorten};
use crate::model::datum::Datum;
use crate::model::shape::{Kind, RecordShape, Ty};
use crate::model::text_value::from_text;
use serde_json::{Map, Number, Value};

/// Converts `value` to a datum of type `ty` (owning its strings).
pub fn default_datum(value: &Value, ty: &Ty) -> Result<Datum<'static>, FieldError> {
    match value {
        Value::Null if ty.nullable => Ok(Datum::Null),
        Value::Null => Err(mismatch(ty, "null".into())),
        Value::Bool(b) => match ty.kind {
            Kind::Bool => Ok(Datum::Bool(*b)),
            _ => Err(mismatch(ty, format!("boolean {b}"))),
        },
        Value::Number(n) => number(n, ty),
        Value::String(s) => string(s, ty),
        Value::Array(items) => {
            let Kind::Array(item) = &ty.kind else {
                return Err(mismatch(ty, "an array".into()));
            };
            items
                .iter()
                .enumerate()
                .map(|(i, v)| default_datum(v, item).map_err(|e| e.at_index(i)))
                .collect::<Result<_, _>>()
                .map(Datum::Array)
        }
        Value::Object(map) => match &ty.kind {
            Kind::Record(shape) => record(map, shape),
            _ => Err(mismatch(ty, "an object".into())),
        },
    }
}

fn mismatch(ty: &Ty, found: String) -> FieldError {
    FieldError::new("", ty.kind.describe(), found)
}

/// A JSON number: unsigned, negative or not an integer, as serde_json tells them apart.
fn number(n: &Number, ty: &Ty) -> Result<Datum<'static>, FieldError> {
    if let Some(v) = n.as_u64() {
        return match i64::try_from(v) {
            Ok(v) => integer(v, ty),
            Err(_) => Err(mismatch(ty, format!("number {v}"))),
        };
    }
    if let Some(v) = n.as_i64() {
        return integer(v, ty);
    }
    match n.as_f64() {
        Some(v) => match ty.kind {
            Kind::Double => Ok(Datum::Double(v)),
            Kind::Float => Ok(Datum::Float(v as f32)),
            _ => Err(mismatch(ty, format!("number {v:?}"))),
        },
        None => Err(mismatch(ty, format!("number {n}"))),
    }
}

fn integer(v: i64, ty: &Ty) -> Result<Datum<'static>, FieldError> {
    match ty.kind {
        Kind::Long => Ok(Datum::Long(v)),
        Kind::TimestampMillis => Ok(Datum::Timestamp(v)),
        Kind::Int => match i32::try_from(v) {
            Ok(i) => Ok(Datum::Int(i)),
            Err(_) => Err(mismatch(ty, format!("number {v}"))),
        },
        Kind::Double => Ok(Datum::Double(v as f64)),
        Kind::Float => Ok(Datum::Float(v as f32)),
        _ => Err(mismatch(ty, format!("number {v:?}"))),
    }
}

/// A JSON string: text, an enum symbol, or a number, boolean or timestamp written as text.
fn string(v: &str, ty: &Ty) -> Result<Datum<'static>, FieldError> {
    let parsed = from_text(v, &ty.kind);
    parsed.ok_or_else(|| mismatch(ty, format!("string \"{}\"", shorten(v))))
}

/// A JSON object as a record: fields by name (other members ignored), in the object's order;
/// a field it lacks takes its own default.
fn record(map: &Map<String, Value>, shape: &RecordShape) -> Result<Datum<'static>, FieldError> {
    let mut fields: Vec<Option<Datum<'static>>> = vec![None; shape.fields.len()];
    let mut matched = 0;
    for (name, value) in map {
        let Some(i) = shape.position_from(name, matched) else {
            continue;
        };
        matched += 1;
        let field = &shape.fields[i];
        fields[i] = Some(default_datum(value, &field.ty).map_err(|e| e.within(&field.name))?);
    }
    fields
        .into_iter()
        .zip(&shape.fields)
        .map(|(given, field)| match (given, &field.default) {
            (Some(datum), _) => Ok(datum),
            (None, Some(default)) => Ok(default.clone()),
            (None, None) => Err(mismatch(&field.ty, "no such field".into()).within(&field.name)),
        })
        .collect::<Result<_, _>>()
        .map(Datum::Record)
}
