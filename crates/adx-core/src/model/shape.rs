//! The shapes the decoders fill, compiled from the reader schema ([`crate::model::compile`]):
//! [`Ty`], [`RecordShape`].

use crate::model::datum::Datum;
use std::collections::HashMap;
use std::sync::Arc;

/// A type with its nullability.
#[derive(Debug, Clone)]
pub struct Ty {
    /// The value type.
    pub kind: Kind,
    /// Whether null is allowed (`["null", T]`).
    pub nullable: bool,
}

/// A value type.
#[derive(Debug, Clone)]
pub enum Kind {
    /// boolean
    Bool,
    /// int (32 bits)
    Int,
    /// long (64 bits)
    Long,
    /// float
    Float,
    /// double
    Double,
    /// string
    Str,
    /// enum
    Enum(Arc<EnumShape>),
    /// long with logicalType timestamp-millis
    TimestampMillis,
    /// record
    Record(Arc<RecordShape>),
    /// array
    Array(Box<Ty>),
}

impl Kind {
    /// How the type is named in error messages.
    pub fn describe(&self) -> String {
        match self {
            Kind::Bool => "a boolean".into(),
            Kind::Int => "an int".into(),
            Kind::Long => "a long".into(),
            Kind::Float => "a float".into(),
            Kind::Double => "a double".into(),
            Kind::Str => "a string".into(),
            Kind::Enum(e) => format!("one of {}", e.symbols.join("|")),
            Kind::TimestampMillis => "a timestamp (epoch millis or RFC 3339)".into(),
            Kind::Record(r) => format!("a {} record", r.name),
            Kind::Array(_) => "an array".into(),
        }
    }
}

/// An enum's symbols.
#[derive(Debug, Clone)]
pub struct EnumShape {
    /// Enum name.
    pub name: String,
    /// Symbols in schema order.
    pub symbols: Vec<String>,
    /// Index of the enum's `default` symbol: what a writer's unknown symbol resolves to (Avro).
    pub default: Option<u32>,
}

impl EnumShape {
    /// Index of `symbol`, if it is one.
    pub fn index_of(&self, symbol: &str) -> Option<u32> {
        self.symbols
            .iter()
            .position(|s| same_name(s, symbol))
            .map(|i| i as u32)
    }
}

/// One field of a record.
#[derive(Debug, Clone)]
pub struct FieldShape {
    /// Field name.
    pub name: String,
    /// Field type.
    pub ty: Ty,
    /// The default filled in when the input lacks the field.
    pub default: Option<Datum<'static>>,
    /// Other names a writer may give the field (Avro aliases).
    pub aliases: Vec<String>,
    /// The field's table column id (its `field-id` in the schema: stable across versions).
    pub id: Option<i32>,
    /// For an array field, the id of its elements (the array's `element-id`).
    pub element_id: Option<i32>,
}

/// A record's fields, in schema order.
#[derive(Debug, Clone)]
pub struct RecordShape {
    /// Record name.
    pub name: String,
    /// Fields in schema order.
    pub fields: Vec<FieldShape>,
    index: HashMap<String, usize>,
    signatures: Vec<u32>,
}

/// Length, first and last byte of a name, packed: a cheap filter before comparing names.
fn signature(name: &str) -> u32 {
    let b = name.as_bytes();
    let first = b.first().copied().unwrap_or(0) as u32;
    let last = b.last().copied().unwrap_or(0) as u32;
    ((b.len() as u32 & 0xffff) << 16) | (first << 8) | last
}

/// Whether two field names (or enum symbols) are equal. Names are short: up to 16 bytes they are compared as
/// two overlapping words each, inline, instead of through a `memcmp` call per key.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        _ => a == b,
    }
}

/// The 8 bytes of `s` from `at` (which the caller keeps in range) as a word.
#[inline]
fn word8(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// The 4 bytes of `s` from `at` (which the caller keeps in range) as a word.
#[inline]
fn word4(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

impl RecordShape {
    /// A record shape of `fields`, in schema order, with its lookup tables.
    pub fn new(name: String, fields: Vec<FieldShape>) -> RecordShape {
        let index = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        let signatures = fields.iter().map(|f| signature(&f.name)).collect();
        RecordShape {
            name,
            fields,
            index,
            signatures,
        }
    }

    /// Position of field `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Position of field `name`, looking first at `hint` (inputs usually keep schema order),
    /// then at fields whose length and first and last bytes match, before comparing names:
    /// cheaper than hashing every key of every record.
    pub fn position_from(&self, name: &str, hint: usize) -> Option<usize> {
        if let Some(f) = self.fields.get(hint)
            && same_name(&f.name, name)
        {
            return Some(hint);
        }
        let sig = signature(name);
        self.signatures
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == sig)
            .map(|(i, _)| i)
            .find(|&i| same_name(&self.fields[i].name, name))
    }

    /// Position of the field that has `name` as an alias (Avro writer-to-reader resolution).
    pub fn position_by_alias(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.aliases.iter().any(|a| a == name))
    }
}

#[cfg(test)]
mod tests {
    use super::same_name;

    #[test]
    fn names_compare_equal_exactly_when_their_bytes_do() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "abcdef",
            "abcdefg",
            "abcdefgh",
            "event_time",
            "impression_id",
            "win_price_micros",
            "win_price_microz",
            "xin_price_micros",
            "a_much_longer_field_name",
            "a_much_longer_field_namf",
            "pays",
            "país",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} against {b:?}");
            }
            // A difference in any single byte is seen, whatever its place.
            for i in 0..a.len() {
                let mut changed = a.as_bytes().to_vec();
                changed[i] ^= 1;
                if let Ok(c) = std::str::from_utf8(&changed) {
                    assert!(!same_name(a, c), "{a:?} against {c:?}");
                }
            }
        }
    }
}
