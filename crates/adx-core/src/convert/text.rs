//! Text cell → [`Datum`], for CSV: an empty cell is null; numbers, booleans, enums and
//! timestamps are parsed from text; a record or array cell holds JSON text.

use crate::convert::seed::{SeedContext, SeedFailure, from_json_slice};
use crate::error::{FieldError, shorten};
use crate::model::datum::{Datum, Text};
use crate::model::shape::{Kind, Ty};
use crate::model::timestamp::parse_timestamp_millis;

fn mismatch(ty: &Ty, text: &str) -> FieldError {
    FieldError::new("", ty.kind.describe(), format!("\"{}\"", shorten(text)))
}

/// Converts the text of one CSV cell to a datum of type `ty`, written into `slot` (left as it
/// was on error). The record's slot is written in place and only a pointer comes back, where a
/// returned `Result<Datum, FieldError>` would go through memory and be copied once more: this
/// runs for every cell.
#[inline]
pub fn text_into<'t>(text: &'t str, ty: &Ty, slot: &mut Datum<'t>) -> Result<(), Box<FieldError>> {
    if text.is_empty() {
        return if ty.nullable {
            *slot = Datum::Null;
            Ok(())
        } else {
            Err(Box::new(FieldError::new(
                "",
                ty.kind.describe(),
                "an empty cell",
            )))
        };
    }
    let bad = || Box::new(mismatch(ty, text));
    *slot = match &ty.kind {
        Kind::Str => Datum::Str(Text::Borrowed(text)),
        Kind::Long => Datum::Long(text.trim().parse().map_err(|_| bad())?),
        Kind::Int => Datum::Int(text.trim().parse().map_err(|_| bad())?),
        Kind::Double => Datum::Double(text.trim().parse().map_err(|_| bad())?),
        Kind::Float => Datum::Float(text.trim().parse().map_err(|_| bad())?),
        Kind::Bool => match text.trim() {
            "true" | "TRUE" | "True" | "1" => Datum::Bool(true),
            "false" | "FALSE" | "False" | "0" => Datum::Bool(false),
            _ => return Err(bad()),
        },
        Kind::Enum(e) => Datum::Enum(e.index_of(text.trim()).ok_or_else(bad)?),
        Kind::TimestampMillis => Datum::Timestamp(parse_timestamp_millis(text).ok_or_else(bad)?),
        Kind::Record(_) | Kind::Array(_) => {
            let ctx = SeedContext::new();
            from_json_slice(text.as_bytes(), ty, &ctx).map_err(|e| match e {
                SeedFailure::Field(e) => Box::new(e),
                SeedFailure::Syntax(_) => Box::new(FieldError::new(
                    "",
                    format!("{} as JSON text", ty.kind.describe()),
                    format!("\"{}\"", shorten(text)),
                )),
            })?
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shape::EnumShape;
    use std::sync::Arc;

    fn text_to_datum<'t>(text: &'t str, ty: &Ty) -> Result<Datum<'t>, FieldError> {
        let mut datum = Datum::Null;
        text_into(text, ty, &mut datum).map_err(|e| *e)?;
        Ok(datum)
    }

    fn ty(kind: Kind, nullable: bool) -> Ty {
        Ty { kind, nullable }
    }

    #[test]
    fn parses_scalars_from_text() {
        assert_eq!(
            text_to_datum("42", &ty(Kind::Long, false)),
            Ok(Datum::Long(42))
        );
        assert_eq!(
            text_to_datum("-7", &ty(Kind::Int, false)),
            Ok(Datum::Int(-7))
        );
        assert_eq!(
            text_to_datum("2.5", &ty(Kind::Double, false)),
            Ok(Datum::Double(2.5))
        );
        assert_eq!(
            text_to_datum("true", &ty(Kind::Bool, false)),
            Ok(Datum::Bool(true))
        );
        assert_eq!(
            text_to_datum("0", &ty(Kind::Bool, false)),
            Ok(Datum::Bool(false))
        );
        assert_eq!(text_to_datum("", &ty(Kind::Long, true)), Ok(Datum::Null));
        assert_eq!(
            text_to_datum("a,b", &ty(Kind::Str, false)),
            Ok(Datum::Str("a,b".into()))
        );
        assert_eq!(
            text_to_datum(
                "2000-01-01T00:00:00.001Z",
                &ty(Kind::TimestampMillis, false)
            ),
            Ok(Datum::Timestamp(946_684_800_001))
        );
        let e = Arc::new(EnumShape {
            name: "E".into(),
            symbols: vec!["A".into(), "B".into()],
            default: None,
        });
        assert_eq!(
            text_to_datum("B", &ty(Kind::Enum(e), false)),
            Ok(Datum::Enum(1))
        );
    }

    #[test]
    fn writes_the_slot_in_place_and_leaves_it_alone_on_error() {
        let mut slot = Datum::Long(1);
        text_into("7", &ty(Kind::Int, false), &mut slot).unwrap();
        assert_eq!(slot, Datum::Int(7));
        text_into("", &ty(Kind::Int, true), &mut slot).unwrap();
        assert_eq!(slot, Datum::Null);
        let mut slot = Datum::Long(1);
        for (text, kind) in [("x", Kind::Int), ("", Kind::Long), ("maybe", Kind::Bool)] {
            let err = text_into(text, &ty(kind, false), &mut slot).unwrap_err();
            assert!(!err.expected.is_empty());
            assert_eq!(slot, Datum::Long(1), "{text:?} left the slot alone");
        }
    }

    #[test]
    fn reports_what_was_found() {
        let err = text_to_datum("lots", &ty(Kind::Long, true)).unwrap_err();
        assert_eq!(
            (err.expected.as_str(), err.found.as_str()),
            ("a long", "\"lots\"")
        );
        let err = text_to_datum("", &ty(Kind::Str, false)).unwrap_err();
        assert_eq!(err.found, "an empty cell");
        let err = text_to_datum("99999999999", &ty(Kind::Int, false)).unwrap_err();
        assert_eq!(err.expected, "an int");
        let err = text_to_datum(
            "[1,",
            &ty(Kind::Array(Box::new(ty(Kind::Int, false))), false),
        )
        .unwrap_err();
        assert_eq!(err.expected, "an array as JSON text");
    }
}
