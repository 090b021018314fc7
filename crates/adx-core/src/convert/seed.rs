//! A serde `DeserializeSeed` that builds a [`Datum`] of the reader shape straight from any
//! self-describing serde source: JSON (sonic-rs, SIMD) and Avro (serde_avro_fast). No value tree
//! in between, one allocation per string.
//!
//! A value that does not fit never aborts the deserializer: the first mismatch is recorded
//! (with its field path) in the [`SeedContext`], a null stands in for it, and the rest of the
//! record is still consumed. That keeps an Avro block in step after a bad record, and makes
//! the caller's check simple: the record is good when the context holds no error.
//!
//! Record fields are matched by name, a missing field takes its default, ints widen to longs
//! and floats, enums map by symbol: the Avro resolution rules for the types the core supports.

use crate::convert::skip::Skip;
use crate::error::{FieldError, shorten};
use crate::model::datum::{Datum, Text};
use crate::model::shape::{Kind, RecordShape, Ty};
use crate::model::text_value::from_text;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

/// The first error of the record being decoded. Its field path is built only when there is
/// one: each record or array that sees an error appear while visiting a child prefixes the
/// child's name or index, so the happy path does no bookkeeping at all.
#[derive(Default)]
pub struct SeedContext<'s> {
    error: RefCell<Option<FieldError>>,
    /// Avro input: apply the writer-to-reader rules that only Avro has (field aliases, the
    /// enum default for a symbol the reader lacks).
    avro: bool,
    /// Per record shape (by address), the order in which the last record gave its fields:
    /// the prediction for the next record's keys, so each key costs one comparison whatever
    /// order the producer writes (alphabetical, schema, anything stable).
    orders: RefCell<Vec<(usize, Vec<u16>)>>,
    _shape: PhantomData<&'s ()>,
}

impl SeedContext<'_> {
    /// A fresh context.
    pub fn new() -> Self {
        SeedContext {
            error: RefCell::new(None),
            avro: false,
            orders: RefCell::new(Vec::new()),
            _shape: PhantomData,
        }
    }

    /// A fresh context for Avro input (resolution by aliases and enum defaults).
    pub fn for_avro() -> Self {
        SeedContext {
            avro: true,
            ..Self::new()
        }
    }

    /// Takes the recorded error before the next record.
    pub fn take_error(&self) -> Option<FieldError> {
        self.error.borrow_mut().take()
    }

    fn take_order(&self, shape: &RecordShape) -> Vec<u16> {
        let id = shape as *const RecordShape as usize;
        let mut orders = self.orders.borrow_mut();
        match orders.iter_mut().find(|(k, _)| *k == id) {
            Some((_, order)) => std::mem::take(order),
            None => Vec::new(),
        }
    }

    fn put_order(&self, shape: &RecordShape, order: Vec<u16>) {
        let id = shape as *const RecordShape as usize;
        let mut orders = self.orders.borrow_mut();
        match orders.iter_mut().find(|(k, _)| *k == id) {
            Some((_, slot)) => *slot = order,
            None => orders.push((id, order)),
        }
    }

    fn has_error(&self) -> bool {
        self.error.borrow().is_some()
    }

    fn fail(&self, expected: String, found: String) {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(FieldError {
                field: String::new(),
                expected,
                found,
            });
        }
    }

    /// Prefixes the error that appeared while visiting a child with the child's place.
    fn prefix(&self, f: impl FnOnce(FieldError) -> FieldError) {
        let mut slot = self.error.borrow_mut();
        if let Some(e) = slot.take() {
            *slot = Some(f(e));
        }
    }

    fn mismatch<'d>(&self, ty: &Ty, found: String) -> Datum<'d> {
        self.fail(ty.kind.describe(), found);
        Datum::Null
    }
}

/// Why a seeded decode failed.
#[derive(Debug)]
pub enum SeedFailure {
    /// The input is well-formed but a value does not fit the reader shape.
    Field(FieldError),
    /// The input is not well-formed (the deserializer's own message).
    Syntax(String),
}

#[cfg(test)]
/// Runs the seed for `ty` over `deserializer`; `finish` then checks what the deserializer
/// left (trailing input).
pub fn decode_with<'de, 's, D: Deserializer<'de>>(
    deserializer: D,
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
    finish: impl FnOnce() -> Result<(), String>,
) -> Result<Datum<'de>, SeedFailure> {
    let parsed = DatumSeed { ty, ctx }
        .deserialize(deserializer)
        .map_err(|e| e.to_string());
    let parsed = parsed.and_then(|d| finish().map(|()| d));
    match (parsed, ctx.take_error()) {
        (_, Some(e)) => Err(SeedFailure::Field(e)),
        (Ok(d), None) => Ok(d),
        (Err(e), None) => Err(SeedFailure::Syntax(e)),
    }
}

/// Decodes one JSON text into a datum of type `ty`.
pub fn from_json_slice<'b, 's>(
    bytes: &'b [u8],
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
) -> Result<Datum<'b>, SeedFailure> {
    let mut de = sonic_rs::Deserializer::from_slice(bytes);
    let parsed = DatumSeed { ty, ctx }
        .deserialize(&mut de)
        .and_then(|d| de.end().map(|()| d));
    match (parsed, ctx.take_error()) {
        (_, Some(e)) => Err(SeedFailure::Field(e)),
        (Ok(d), None) => Ok(d),
        (Err(e), None) => Err(SeedFailure::Syntax(first_line(&e.to_string()))),
    }
}

/// The first line of a parser message: sonic-rs follows it with a snippet of the input
/// around the fault, which the payload already carries whole.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}

/// Deserializes one value of type `ty`.
#[derive(Clone, Copy)]
pub struct DatumSeed<'s, 'c> {
    /// The expected type.
    pub ty: &'s Ty,
    /// Where errors go.
    pub ctx: &'c SeedContext<'s>,
}

impl<'de> DeserializeSeed<'de> for DatumSeed<'_, '_> {
    type Value = Datum<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Datum<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DatumSeed<'_, '_> {
    type Value = Datum<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ty.kind.describe())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Datum<'de>, E> {
        if self.ty.nullable {
            Ok(Datum::Null)
        } else {
            Ok(self.ctx.mismatch(self.ty, "null".into()))
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Datum<'de>, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Datum<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Datum<'de>, E> {
        Ok(match self.ty.kind {
            Kind::Bool => Datum::Bool(v),
            _ => self.ctx.mismatch(self.ty, format!("boolean {v}")),
        })
    }

    fn visit_i32<E: serde::de::Error>(self, v: i32) -> Result<Datum<'de>, E> {
        Ok(match self.ty.kind {
            Kind::Int => Datum::Int(v),
            _ => return self.visit_i64(i64::from(v)),
        })
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Datum<'de>, E> {
        Ok(match self.ty.kind {
            Kind::Long => Datum::Long(v),
            Kind::TimestampMillis => Datum::Timestamp(v),
            Kind::Int => match i32::try_from(v) {
                Ok(i) => Datum::Int(i),
                Err(_) => self.ctx.mismatch(self.ty, format!("number {v}")),
            },
            Kind::Double => Datum::Double(v as f64),
            Kind::Float => Datum::Float(v as f32),
            _ => self.ctx.mismatch(self.ty, format!("number {v:?}")),
        })
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Datum<'de>, E> {
        match i64::try_from(v) {
            Ok(i) => self.visit_i64(i),
            Err(_) => Ok(self.ctx.mismatch(self.ty, format!("number {v}"))),
        }
    }

    fn visit_f32<E: serde::de::Error>(self, v: f32) -> Result<Datum<'de>, E> {
        Ok(match self.ty.kind {
            Kind::Float => Datum::Float(v),
            Kind::Double => Datum::Double(f64::from(v)),
            _ => self.ctx.mismatch(self.ty, format!("number {v:?}")),
        })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Datum<'de>, E> {
        Ok(match self.ty.kind {
            Kind::Double => Datum::Double(v),
            Kind::Float => Datum::Float(v as f32),
            _ => self.ctx.mismatch(self.ty, format!("number {v:?}")),
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Datum<'de>, E> {
        let parsed = match &self.ty.kind {
            // Avro reads an unknown symbol as the enum's default, when it has one.
            Kind::Enum(e) if self.ctx.avro => e.index_of(v).or(e.default).map(Datum::Enum),
            kind => from_text(v, kind),
        };
        Ok(parsed.unwrap_or_else(|| {
            self.ctx
                .mismatch(self.ty, format!("string \"{}\"", shorten(v)))
        }))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Datum<'de>, E> {
        // Strings and known enum symbols, the common cases, are settled here, inline in the
        // record's loop; the rest (conversions, mismatches) go through `visit_str`.
        match &self.ty.kind {
            Kind::Str => Ok(Datum::Str(Text::Borrowed(v))),
            Kind::Enum(e) => match e.index_of(v) {
                Some(i) => Ok(Datum::Enum(i)),
                None => self.visit_str(v),
            },
            _ => self.visit_str(v),
        }
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Datum<'de>, E> {
        match self.ty.kind {
            Kind::Str => Ok(Datum::Str(v.into())),
            _ => self.visit_str(&v),
        }
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Datum<'de>, E> {
        match std::str::from_utf8(v) {
            Ok(s) => self.visit_str(s),
            Err(_) => Ok(self
                .ctx
                .mismatch(self.ty, "bytes that are not UTF-8".into())),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Datum<'de>, A::Error> {
        let Kind::Array(item) = &self.ty.kind else {
            while seq.next_element::<Skip>()?.is_some() {}
            return Ok(self.ctx.mismatch(self.ty, "an array".into()));
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(1024));
        let mut i = 0;
        loop {
            let before = self.ctx.has_error();
            let next = seq.next_element_seed(DatumSeed {
                ty: item,
                ctx: self.ctx,
            });
            if !before && self.ctx.has_error() {
                self.ctx.prefix(|e| e.at_index(i));
            }
            match next? {
                Some(d) => items.push(d),
                None => break,
            }
            i += 1;
        }
        Ok(Datum::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Datum<'de>, A::Error> {
        let Kind::Record(shape) = &self.ty.kind else {
            while map.next_entry::<IgnoredAny, Skip>()?.is_some() {}
            return Ok(self.ctx.mismatch(self.ty, "an object".into()));
        };
        visit_record(shape, self.ctx, map)
    }
}

/// A [`DatumSeed`] that writes its datum straight into a record's field slot: the parser then
/// returns a bare `Result<(), E>` in registers, instead of a `Result<Datum, E>` through memory
/// that the record would copy once more.
struct SlotSeed<'s, 'c, 'a, 'de> {
    seed: DatumSeed<'s, 'c>,
    slot: &'a mut Datum<'de>,
}

impl<'de> DeserializeSeed<'de> for SlotSeed<'_, '_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Each visit of [`SlotSeed`] is [`DatumSeed`]'s, its datum stored in the slot.
macro_rules! into_slot {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $name<E2: serde::de::Error>(self, $($arg: $ty),*) -> Result<(), E2> {
            *self.slot = self.seed.$name::<E2>($($arg),*)?;
            Ok(())
        }
    )*};
}

impl<'de> Visitor<'de> for SlotSeed<'_, '_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.seed.expecting(f)
    }

    into_slot! {
        visit_unit();
        visit_none();
        visit_bool(v: bool);
        visit_i32(v: i32);
        visit_i64(v: i64);
        visit_u64(v: u64);
        visit_f32(v: f32);
        visit_f64(v: f64);
        visit_str(v: &str);
        visit_borrowed_str(v: &'de str);
        visit_string(v: String);
        visit_bytes(v: &[u8]);
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        *self.slot = self.seed.visit_seq(seq)?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        *self.slot = self.seed.visit_map(map)?;
        Ok(())
    }
}

/// Which field of the record a key names (`None` for unknown keys); the second member is the
/// position expected next, the third whether aliases count (Avro).
struct KeySeed<'s>(&'s RecordShape, usize, bool);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.position_from(v, self.1).or_else(|| {
            if self.2 {
                self.0.position_by_alias(v)
            } else {
                None
            }
        }))
    }
}

fn visit_record<'de, 's, A: MapAccess<'de>>(
    shape: &'s RecordShape,
    ctx: &SeedContext<'s>,
    mut map: A,
) -> Result<Datum<'de>, A::Error> {
    let n = shape.fields.len();
    // Every field starts null and is marked when the input sets it; unmarked ones take their
    // default afterwards. One allocation per record, whatever order the keys come in.
    let mut fields: Vec<Datum> = vec![Datum::Null; n];
    // Which fields the input gave: a bit mask (no allocation) up to 64 fields.
    let mut mask: u64 = 0;
    let mut wide: Vec<bool> = if n > 64 { vec![false; n] } else { Vec::new() };
    let mut order = ctx.take_order(shape);
    let mut k = 0;
    loop {
        let hint = order.get(k).map(|&i| usize::from(i)).unwrap_or(k);
        let Some(key) = map.next_key_seed(KeySeed(shape, hint, ctx.avro))? else {
            break;
        };
        let Some(i) = key else {
            map.next_value::<Skip>()?;
            continue;
        };
        match order.get_mut(k) {
            Some(slot) => *slot = i as u16,
            None => order.push(i as u16),
        }
        k += 1;
        let field = &shape.fields[i];
        let before = ctx.has_error();
        let value = map.next_value_seed(SlotSeed {
            seed: DatumSeed { ty: &field.ty, ctx },
            slot: &mut fields[i],
        });
        if !before && ctx.has_error() {
            ctx.prefix(|e| e.within(&field.name));
        }
        value?;
        if n > 64 {
            wide[i] = true;
        } else {
            mask |= 1 << i;
        }
    }
    order.truncate(k);
    ctx.put_order(shape, order);
    for (i, (datum, field)) in fields.iter_mut().zip(&shape.fields).enumerate() {
        let given = if n > 64 { wide[i] } else { mask >> i & 1 == 1 };
        if given {
            continue;
        }
        match &field.default {
            Some(default) => *datum = default.clone(),
            None => {
                if !ctx.has_error() {
                    ctx.fail(field.ty.kind.describe(), "no such field".into());
                    ctx.prefix(|e| e.within(&field.name));
                }
            }
        }
    }
    Ok(Datum::Record(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> std::sync::Arc<RecordShape> {
        crate::test_support::shape(crate::test_support::SAMPLE_FIELDS)
    }

    fn decode(json: &str) -> Result<Datum<'_>, FieldError> {
        let shape = shape();
        let ty = Ty {
            kind: Kind::Record(shape.clone()),
            nullable: false,
        };
        let ctx = SeedContext::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let d = DatumSeed { ty: &ty, ctx: &ctx }
            .deserialize(&mut de)
            .unwrap();
        de.end().unwrap();
        match ctx.take_error() {
            Some(e) => Err(e),
            None => Ok(d),
        }
    }

    #[test]
    fn builds_records_with_defaults_and_lenient_text() {
        let d = decode(r#"{"zz":{"a":[1,{"b":2}]},"id":"a\"b","n":"42","t":"2000-01-01T00:00:00Z","e":"B","xs":[{"v":1},{"v":2}]}"#).unwrap();
        assert_eq!(
            d,
            Datum::Record(vec![
                Datum::Str("a\"b".into()),
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
    fn first_error_has_its_path_and_the_rest_is_consumed() {
        let e =
            decode(r#"{"id":"a","t":1,"e":"A","xs":[{"v":1},{"v":"x"},{"v":true}]}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.expected.as_str(), e.found.as_str()),
            ("xs[1].v", "an int", "string \"x\"")
        );
        let e = decode(r#"{"id":"a","t":1,"e":"C","xs":[]}"#).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("e", "string \"C\""));
        let e = decode(r#"{"t":1,"e":"A","xs":[]}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.found.as_str()),
            ("id", "no such field")
        );
        let e = decode(r#"{"id":null,"t":1,"e":"A","xs":[]}"#).unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("id", "null"));
        let e = decode(r#"{"id":"a","t":1.5,"e":"A","xs":{"v":1}}"#).unwrap_err();
        assert_eq!(e.field, "t");
        let e = decode(r#"{"id":"a","t":1,"e":"A","xs":[{"v":3000000000}]}"#).unwrap_err();
        assert_eq!(e.field, "xs[0].v");
        let e = decode("[1,2]").unwrap_err();
        assert_eq!((e.field.as_str(), e.found.as_str()), ("", "an array"));
    }
}
