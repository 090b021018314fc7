//! [`Datum`]: one decoded value, shaped by the dataset's reader schema (records are positional,
//! in reader field order), whatever format it came from.

use crate::shape::{Kind, Ty};
use chrono::{DateTime, SecondsFormat};
use compact_str::CompactString;
use serde_json::{Map, Value, json};

/// A decoded value in the reader schema's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// Absent value of a nullable field.
    Null,
    /// Avro boolean.
    Bool(bool),
    /// Avro int.
    Int(i32),
    /// Avro long.
    Long(i64),
    /// Avro float.
    Float(f32),
    /// Avro double.
    Double(f64),
    /// Avro string (kept inline up to 24 bytes: most ids and codes need no allocation).
    Str(CompactString),
    /// Enum symbol, as its index in the reader schema's symbols.
    Enum(u32),
    /// timestamp-millis: milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// Record fields in reader schema order.
    Record(Vec<Datum>),
    /// Array items.
    Array(Vec<Datum>),
}

impl Datum {
    /// True for [`Datum::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// Renders the datum as JSON (enums by symbol, timestamps as RFC 3339), for quarantine payloads.
    pub fn to_json(&self, ty: &Ty) -> Value {
        match (self, &ty.kind) {
            (Datum::Null, _) => Value::Null,
            (Datum::Bool(b), _) => json!(b),
            (Datum::Int(v), _) => json!(v),
            (Datum::Long(v), _) => json!(v),
            (Datum::Float(v), _) => json!(v),
            (Datum::Double(v), _) => json!(v),
            (Datum::Str(s), _) => json!(s.as_str()),
            (Datum::Enum(i), Kind::Enum(e)) => {
                json!(e.symbols.get(*i as usize).cloned().unwrap_or_default())
            }
            (Datum::Timestamp(ms), _) => match DateTime::from_timestamp_millis(*ms) {
                Some(t) => json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                None => json!(ms),
            },
            (Datum::Record(fields), Kind::Record(r)) => {
                let mut map = Map::new();
                for (field, value) in r.fields.iter().zip(fields) {
                    map.insert(field.name.clone(), value.to_json(&field.ty));
                }
                Value::Object(map)
            }
            (Datum::Array(items), Kind::Array(item_ty)) => {
                Value::Array(items.iter().map(|d| d.to_json(item_ty)).collect())
            }
            // A datum that does not match its type cannot be built by the converters; render
            // it plainly rather than fail while reporting another error.
            (other, _) => json!(format!("{other:?}")),
        }
    }
}
