//! Conversion of generated JSON records to Avro values of the dataset schema.

use apache_avro::types::Value as Avro;
use serde_json::Value;

use crate::canonical::millis;
use crate::spec::{self, Field, Ty};
use crate::{Dataset, GenError};

/// The Avro value of the JSON record `value` of `dataset`, fields in schema order.
pub(crate) fn to_avro(dataset: Dataset, value: &Value) -> Result<Avro, GenError> {
    record(spec::fields(dataset), Some(value), "")
}

fn error(path: &str, message: impl Into<String>) -> GenError {
    GenError::Convert {
        field: path.to_string(),
        message: message.into(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn record(fields: &[Field], value: Option<&Value>, path: &str) -> Result<Avro, GenError> {
    let Some(Value::Object(m)) = value else {
        return Err(error(path, "expected an object"));
    };
    let values = fields
        .iter()
        .map(|f| {
            Ok((
                f.name.to_string(),
                convert(&f.ty, m.get(f.name), &join(path, f.name))?,
            ))
        })
        .collect::<Result<Vec<_>, GenError>>()?;
    Ok(Avro::Record(values))
}

fn convert(ty: &Ty, value: Option<&Value>, path: &str) -> Result<Avro, GenError> {
    let value = value.filter(|v| !v.is_null());
    if let Ty::Opt(inner) = ty {
        return Ok(match value {
            None => Avro::Union(0, Box::new(Avro::Null)),
            Some(v) => Avro::Union(1, Box::new(convert(inner, Some(v), path)?)),
        });
    }
    let Some(v) = value else {
        return Err(error(path, "required field is missing"));
    };
    let wrong = || error(path, format!("cannot write {v} as {ty:?}"));
    Ok(match ty {
        Ty::Str => Avro::String(v.as_str().ok_or_else(wrong)?.to_string()),
        Ty::Int => Avro::Int(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(wrong)?,
        ),
        Ty::Long => Avro::Long(v.as_i64().ok_or_else(wrong)?),
        Ty::Ts => Avro::TimestampMillis(millis(v).ok_or_else(wrong)?),
        Ty::Enum(symbols) => {
            let symbol = v.as_str().ok_or_else(wrong)?;
            let index = symbols
                .iter()
                .position(|s| *s == symbol)
                .ok_or_else(wrong)?;
            Avro::Enum(index as u32, symbol.to_string())
        }
        Ty::Array(items) => Avro::Array(
            v.as_array()
                .ok_or_else(wrong)?
                .iter()
                .map(|x| convert(items, Some(x), path))
                .collect::<Result<_, _>>()?,
        ),
        Ty::Record(fields) => record(fields, Some(v), path)?,
        Ty::Opt(_) => return Err(wrong()),
    })
}

/// Appends `n` as an Avro long (zig-zag varint).
fn put_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7F) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends Avro `bytes` (or `string`): length then content.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// The header of an object container file with its metadata in a fixed order.
///
/// apache_avro writes the metadata map from a `HashMap`, whose order changes from run to run;
/// writing the header here keeps the same configuration giving the same bytes.
pub(crate) fn container_header(
    schema: &apache_avro::Schema,
    codec: apache_avro::Codec,
    marker: &[u8; 16],
) -> Result<Vec<u8>, GenError> {
    let schema_text = serde_json::to_string(schema)?;
    let codec_name: &'static str = codec.into();
    let mut out = b"Obj\x01".to_vec();
    let mut entries = vec![("avro.schema", schema_text.as_bytes())];
    if codec != apache_avro::Codec::Null {
        entries.push(("avro.codec", codec_name.as_bytes()));
    }
    put_long(&mut out, entries.len() as i64);
    for (key, value) in entries {
        put_bytes(&mut out, key.as_bytes());
        put_bytes(&mut out, value);
    }
    put_long(&mut out, 0);
    out.extend_from_slice(marker);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_are_zigzag_varints() {
        let mut out = Vec::new();
        for n in [0, -1, 1, 64, -65, 300] {
            put_long(&mut out, n);
        }
        assert_eq!(out, [0, 1, 2, 0x80, 1, 0x81, 1, 0xD8, 4]);
    }
}
