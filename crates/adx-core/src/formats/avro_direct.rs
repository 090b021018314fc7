//! A fast path for single Avro datums whose writer schema has the reader's shape exactly: the
//! same fields in the same order, the same types, the same enum symbols, nullable where the
//! reader is. That is the common case of producers on the latest schema version, and it needs
//! no resolution at all, so the datum is read straight from its bytes into a [`Datum`]
//! (strings borrowed), without the general decoder's field-by-name matching.
//!
//! Any other writer gets no plan. A datum the plan cannot read (truncated, corrupt, bytes left
//! over, an encoding it does not take) yields `None`, and the caller hands it to the general
//! decoder, which decides and says why: both paths give the same result for every datum.

use crate::model::datum::{Datum, Text};
use crate::model::shape::{Kind, Ty};
use apache_avro::Schema;

/// Nesting beyond which no plan is made (the general decoder bounds its depth too).
const MAX_DEPTH: usize = 32;

/// The most items of an array reserved from its count before they are read.
const MAX_RESERVE: usize = 1024;

/// How to read one value.
#[derive(Debug)]
enum Node {
    Bool,
    Int,
    Long,
    Float,
    Double,
    Str,
    Timestamp,
    /// An enum of this many symbols, the same as the reader's.
    Enum(u32),
    /// Fields in order.
    Record(Box<[Node]>),
    Array(Box<Node>),
    /// A union of null and one type; `null_first` when null is branch 0.
    Nullable {
        null_first: bool,
        inner: Box<Node>,
    },
}

/// A compiled reading of one writer schema into one reader shape that match exactly.
#[derive(Debug)]
pub struct DirectPlan {
    root: Node,
}

impl DirectPlan {
    /// The plan for datums written with `writer` and read as `reader`, when the two match
    /// exactly (see the module doc); otherwise `None`.
    pub fn compile(writer: &Schema, reader: &Ty) -> Option<DirectPlan> {
        node(writer, reader, 0).map(|root| DirectPlan { root })
    }

    /// Reads `bytes` (exactly one datum); `None` when this path cannot, for whatever reason.
    pub fn decode<'b>(&self, bytes: &'b [u8]) -> Option<Datum<'b>> {
        let mut input = Input { bytes };
        let datum = input.value(&self.root)?;
        input.bytes.is_empty().then_some(datum)
    }

    /// Reads one datum from the front of `bytes` (a container block holds them back to back):
    /// the datum and how many bytes it took; `None` when this path cannot.
    pub fn decode_prefix<'b>(&self, bytes: &'b [u8]) -> Option<(Datum<'b>, usize)> {
        let mut input = Input { bytes };
        let datum = input.value(&self.root)?;
        Some((datum, bytes.len() - input.bytes.len()))
    }
}

fn node(writer: &Schema, reader: &Ty, depth: usize) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Schema::Union(union) = writer {
        if !reader.nullable {
            return None;
        }
        let (null_first, inner) = match union.variants() {
            [Schema::Null, Schema::Null] => return None,
            [Schema::Null, other] => (true, other),
            [other, Schema::Null] => (false, other),
            _ => return None,
        };
        let inner = kind_node(inner, &reader.kind, depth)?;
        return Some(Node::Nullable {
            null_first,
            inner: Box::new(inner),
        });
    }
    if reader.nullable {
        return None;
    }
    kind_node(writer, &reader.kind, depth)
}

fn kind_node(writer: &Schema, kind: &Kind, depth: usize) -> Option<Node> {
    Some(match (writer, kind) {
        (Schema::Boolean, Kind::Bool) => Node::Bool,
        (Schema::Int, Kind::Int) => Node::Int,
        (Schema::Long, Kind::Long) => Node::Long,
        (Schema::Float, Kind::Float) => Node::Float,
        (Schema::Double, Kind::Double) => Node::Double,
        (Schema::String, Kind::Str) => Node::Str,
        (Schema::TimestampMillis, Kind::TimestampMillis) => Node::Timestamp,
        (Schema::Enum(e), Kind::Enum(shape)) if e.symbols == shape.symbols => {
            Node::Enum(u32::try_from(e.symbols.len()).ok()?)
        }
        (Schema::Array(a), Kind::Array(item)) => {
            Node::Array(Box::new(node(&a.items, item, depth + 1)?))
        }
        // A record of no fields takes no bytes: an array of them could claim any count.
        (Schema::Record(r), Kind::Record(shape))
            if !r.fields.is_empty() && r.fields.len() == shape.fields.len() =>
        {
            let fields = r
                .fields
                .iter()
                .zip(&shape.fields)
                .map(|(w, f)| {
                    if w.name == f.name {
                        node(&w.schema, &f.ty, depth + 1)
                    } else {
                        None
                    }
                })
                .collect::<Option<Box<[Node]>>>()?;
            Node::Record(fields)
        }
        _ => return None,
    })
}

/// What is left of the datum's bytes.
struct Input<'b> {
    bytes: &'b [u8],
}

impl<'b> Input<'b> {
    /// A zig-zag varint of at most `max_bytes` bytes, in its shortest form (a longer form is
    /// left to the general decoder).
    fn varint(&mut self, max_bytes: usize) -> Option<i64> {
        let mut value: u64 = 0;
        for (i, &b) in self.bytes.iter().enumerate().take(max_bytes) {
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return None;
                }
                self.bytes = &self.bytes[i + 1..];
                return Some((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        None
    }

    fn long(&mut self) -> Option<i64> {
        self.varint(10)
    }

    fn int(&mut self) -> Option<i32> {
        i32::try_from(self.varint(5)?).ok()
    }

    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    /// A count that the bytes left can hold (every item of a plan takes at least one byte).
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.long()?).ok()?;
        (n <= self.bytes.len()).then_some(n)
    }

    fn value(&mut self, node: &Node) -> Option<Datum<'b>> {
        Some(match node {
            Node::Bool => match self.take(1)? {
                [0] => Datum::Bool(false),
                [1] => Datum::Bool(true),
                _ => return None,
            },
            Node::Int => Datum::Int(self.int()?),
            Node::Long => Datum::Long(self.long()?),
            Node::Timestamp => Datum::Timestamp(self.long()?),
            Node::Float => Datum::Float(f32::from_le_bytes(self.take(4)?.try_into().ok()?)),
            Node::Double => Datum::Double(f64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            Node::Str => {
                let n = self.count()?;
                Datum::Str(Text::Borrowed(std::str::from_utf8(self.take(n)?).ok()?))
            }
            Node::Enum(symbols) => {
                let i = u32::try_from(self.int()?).ok()?;
                (i < *symbols).then_some(Datum::Enum(i))?
            }
            Node::Record(fields) => {
                let mut values = Vec::with_capacity(fields.len());
                for field in fields {
                    values.push(self.value(field)?);
                }
                Datum::Record(values)
            }
            Node::Array(item) => {
                let mut items = Vec::new();
                loop {
                    let block = self.long()?;
                    if block == 0 {
                        break;
                    }
                    // A negative count is followed by the block's size in bytes.
                    if block < 0 {
                        self.long()?;
                    }
                    let n = usize::try_from(block.unsigned_abs()).ok()?;
                    if n > self.bytes.len() {
                        return None;
                    }
                    // Room for the claim only as far as a few items go: a block of a
                    // container file can claim millions of items it does not hold.
                    items.reserve(n.min(MAX_RESERVE));
                    for _ in 0..n {
                        items.push(self.value(item)?);
                    }
                }
                Datum::Array(items)
            }
            Node::Nullable { null_first, inner } => match (self.varint(1)?, null_first) {
                (0, true) | (1, false) => Datum::Null,
                (1, true) | (0, false) => self.value(inner)?,
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::seed::SeedContext;
    use crate::formats::avro_datum::decode_datum;
    use crate::model::shape::RecordShape;
    use apache_avro::types::Value;

    const SCHEMA: &str = r#"{"type":"record","name":"r","fields":[
        {"name":"id","type":"string"},
        {"name":"n","type":["null","long"],"default":null},
        {"name":"i","type":"int"},
        {"name":"ok","type":"boolean"},
        {"name":"f","type":"float"},
        {"name":"d","type":["double","null"]},
        {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B","C"]}},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"sub","type":["null",{"type":"record","name":"S","fields":[
            {"name":"x","type":"long"},
            {"name":"ys","type":{"type":"array","items":["null","int"]}}
        ]}],"default":null}
    ]}"#;

    fn parts(schema: &str) -> (Schema, Ty, serde_avro_fast::Schema) {
        let avro = Schema::parse_str(schema).unwrap();
        let ty = Ty {
            kind: Kind::Record(RecordShape::from_avro(&avro).unwrap()),
            nullable: false,
        };
        (avro, ty, schema.parse().unwrap())
    }

    fn encode(schema: &Schema, value: Value) -> Vec<u8> {
        apache_avro::writer::datum::GenericDatumWriter::builder(schema)
            .build()
            .unwrap()
            .write_value_to_vec(value)
            .unwrap()
    }

    fn sample(id: &str, sub: Option<(i64, Vec<Option<i32>>)>) -> Value {
        let union = |i: u32, v: Value| Value::Union(i, Box::new(v));
        Value::Record(vec![
            ("id".into(), Value::String(id.into())),
            ("n".into(), union(1, Value::Long(-7_000_000_000))),
            ("i".into(), Value::Int(i32::MIN)),
            ("ok".into(), Value::Boolean(true)),
            ("f".into(), Value::Float(1.5)),
            ("d".into(), union(1, Value::Null)),
            ("t".into(), Value::TimestampMillis(1_764_000_000_000)),
            ("kind".into(), Value::Enum(2, "C".into())),
            (
                "tags".into(),
                Value::Array(vec![Value::String("a".into()), Value::String("é".into())]),
            ),
            (
                "sub".into(),
                match sub {
                    None => union(0, Value::Null),
                    Some((x, ys)) => union(
                        1,
                        Value::Record(vec![
                            ("x".into(), Value::Long(x)),
                            (
                                "ys".into(),
                                Value::Array(
                                    ys.into_iter()
                                        .map(|y| match y {
                                            None => union(0, Value::Null),
                                            Some(y) => union(1, Value::Int(y)),
                                        })
                                        .collect(),
                                ),
                            ),
                        ]),
                    ),
                },
            ),
        ])
    }

    #[test]
    fn reads_what_the_general_decoder_reads() {
        let (avro, ty, fast) = parts(SCHEMA);
        let plan = DirectPlan::compile(&avro, &ty).expect("the schema matches itself");
        let ctx = SeedContext::for_avro();
        for value in [
            sample("x", None),
            sample("", Some((0, vec![]))),
            sample(
                &"long id ".repeat(10),
                Some((i64::MAX, vec![Some(1), None, Some(-1)])),
            ),
        ] {
            let bytes = encode(&avro, value);
            let direct = plan.decode(&bytes).expect("a well-formed datum");
            let general = decode_datum(&bytes, &fast, &ty, &ctx).unwrap();
            assert_eq!(direct, general);
        }
    }

    #[test]
    fn leaves_every_damaged_datum_to_the_general_decoder() {
        let (avro, ty, fast) = parts(SCHEMA);
        let plan = DirectPlan::compile(&avro, &ty).unwrap();
        let ctx = SeedContext::for_avro();
        let bytes = encode(&avro, sample("id", Some((5, vec![Some(3), None]))));
        // Every truncation, one byte more, and every single-byte change: where the plan still
        // reads a datum, the general decoder reads the same one.
        let mut cases: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        cases.push([&bytes[..], &[0]].concat());
        for at in 0..bytes.len() {
            for b in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = b;
                cases.push(changed);
            }
        }
        let mut refused = 0;
        for case in &cases {
            match plan.decode(case) {
                // Compared as text: a changed byte may make a float NaN in both.
                Some(direct) => assert_eq!(
                    format!("{:?}", Ok::<_, crate::error::RecordError>(direct)),
                    format!("{:?}", decode_datum(case, &fast, &ty, &ctx)),
                    "{case:?}"
                ),
                None => refused += 1,
            }
            let _ = ctx.take_error();
        }
        assert!(plan.decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(
            refused > bytes.len(),
            "{refused} of {} refused",
            cases.len()
        );
    }

    #[test]
    fn a_count_beyond_the_bytes_left_and_non_canonical_varints_are_refused() {
        let (avro, ty, _) = parts(
            r#"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":"long"}}]}"#,
        );
        let plan = DirectPlan::compile(&avro, &ty).unwrap();
        assert_eq!(
            plan.decode(&[0x04, 0x02, 0x04, 0x00]),
            Some(Datum::Record(vec![Datum::Array(vec![
                Datum::Long(1),
                Datum::Long(2)
            ])]))
        );
        // Block of -2 items, 2 bytes.
        assert_eq!(
            plan.decode(&[0x03, 0x04, 0x02, 0x04, 0x00]),
            Some(Datum::Record(vec![Datum::Array(vec![
                Datum::Long(1),
                Datum::Long(2)
            ])]))
        );
        assert_eq!(plan.decode(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02]), None);
        assert_eq!(plan.decode(&[0x84, 0x00, 0x02, 0x04, 0x00]), None);
        assert_eq!(plan.decode(&[0x02, 0x02, 0x00, 0x00]), None);
    }

    #[test]
    fn no_plan_unless_the_writer_matches_the_reader_exactly() {
        let (_, reader, _) = parts(SCHEMA);
        let other = |from: &str, to: &str| {
            assert!(SCHEMA.contains(from));
            Schema::parse_str(&SCHEMA.replacen(from, to, 1)).unwrap()
        };
        for writer in [
            other(
                r#"{"name":"i","type":"int"}"#,
                r#"{"name":"i","type":"long"}"#,
            ),
            other(r#""symbols":["A","B","C"]"#, r#""symbols":["A","C","B"]"#),
            other(
                r#"{"name":"ok","type":"boolean"}"#,
                r#"{"name":"ok2","type":"boolean"}"#,
            ),
            other(
                r#"{"name":"id","type":"string"}"#,
                r#"{"name":"id","type":["null","string"]}"#,
            ),
            other(
                r#"{"name":"n","type":["null","long"],"default":null}"#,
                r#"{"name":"n","type":"long"}"#,
            ),
            other(r#"{"name":"x","type":"long"},"#, ""),
        ] {
            assert!(
                DirectPlan::compile(&writer, &reader).is_none(),
                "{writer:?}"
            );
        }
        let reordered = other(r#"["double","null"]"#, r#"["null","double"]"#);
        assert!(DirectPlan::compile(&reordered, &reader).is_some());
    }
}
