//! A [`Datum`] rendered as JSON in the shape of its type (enums by symbol, timestamps as
//! RFC 3339), for quarantine payloads.

use crate::model::datum::Datum;
use crate::model::shape::{Kind, Ty};
use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value, json};

impl Datum<'_> {
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
