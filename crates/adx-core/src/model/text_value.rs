//! A value written as text, read as a scalar type: the text itself, an enum symbol, or a
//! number, boolean or timestamp written as text. JSON records and schema defaults read their
//! strings this way.

use crate::model::datum::Datum;
use crate::model::shape::Kind;
use crate::model::timestamp::parse_timestamp_millis;

/// `text` read as a value of `kind`, if it reads as one (never for records and arrays).
pub(crate) fn from_text<'a>(text: &str, kind: &Kind) -> Option<Datum<'a>> {
    match kind {
        Kind::Str => Some(Datum::Str(text.into())),
        Kind::Enum(e) => e.index_of(text).map(Datum::Enum),
        Kind::TimestampMillis => parse_timestamp_millis(text).map(Datum::Timestamp),
        Kind::Long => text.trim().parse().ok().map(Datum::Long),
        Kind::Int => text.trim().parse().ok().map(Datum::Int),
        Kind::Double => text.trim().parse().ok().map(Datum::Double),
        Kind::Float => text.trim().parse().ok().map(Datum::Float),
        Kind::Bool => match text.trim() {
            "true" => Some(Datum::Bool(true)),
            "false" => Some(Datum::Bool(false)),
            _ => None,
        },
        Kind::Record(_) | Kind::Array(_) => None,
    }
}
