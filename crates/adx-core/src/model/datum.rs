//! [`Datum`]: one decoded value, shaped by the dataset's reader schema (records are positional,
//! in reader field order), whatever format it came from.

use compact_str::CompactString;
use std::ops::Deref;

/// The text of a string datum: borrowed from the input where the decoder can (a JSON string
/// without escapes, an Avro string read from a slice, a CSV field), otherwise owned (kept inline
/// up to 24 bytes, so most ids and codes need no allocation either way).
#[derive(Debug, Clone)]
pub enum Text<'a> {
    /// Bytes of the input, valid while the record is being handled.
    Borrowed(&'a str),
    /// A copy (unescaped, converted, or from a reader that reuses its buffer).
    Owned(CompactString),
}

impl Text<'_> {
    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s.as_str(),
        }
    }

    /// The same text, owned.
    pub fn into_owned(self) -> Text<'static> {
        match self {
            Text::Borrowed(s) => Text::Owned(CompactString::from(s)),
            Text::Owned(s) => Text::Owned(s),
        }
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<&str> for Text<'_> {
    fn from(s: &str) -> Self {
        Text::Owned(CompactString::from(s))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::Owned(CompactString::from(s))
    }
}

/// A decoded value in the reader schema's shape. String values may borrow from the input
/// (lifetime `'a`); [`Datum::into_owned`] makes one that outlives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum<'a> {
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
    /// Avro string.
    Str(Text<'a>),
    /// Enum symbol, as its index in the reader schema's symbols.
    Enum(u32),
    /// timestamp-millis: milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// Record fields in reader schema order.
    Record(Vec<Datum<'a>>),
    /// Array items.
    Array(Vec<Datum<'a>>),
}

impl Datum<'_> {
    /// The same value with every string owned, free of the input it was decoded from.
    pub fn into_owned(self) -> Datum<'static> {
        match self {
            Datum::Null => Datum::Null,
            Datum::Bool(v) => Datum::Bool(v),
            Datum::Int(v) => Datum::Int(v),
            Datum::Long(v) => Datum::Long(v),
            Datum::Float(v) => Datum::Float(v),
            Datum::Double(v) => Datum::Double(v),
            Datum::Str(s) => Datum::Str(s.into_owned()),
            Datum::Enum(i) => Datum::Enum(i),
            Datum::Timestamp(v) => Datum::Timestamp(v),
            Datum::Record(fields) => {
                Datum::Record(fields.into_iter().map(Datum::into_owned).collect())
            }
            Datum::Array(items) => Datum::Array(items.into_iter().map(Datum::into_owned).collect()),
        }
    }

    /// True for [`Datum::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}
