//! The AWS Glue Schema Registry wire framing of one Kafka value: byte 0 = 3 (header version),
//! byte 1 = 0 (no compression) or 5 (zlib), bytes 2..18 = the schema version UUID, then the
//! Avro datum. A value without the header is a plain payload; Confluent framing (byte 0 = 0
//! and a 4-byte id) is recognised so that it can be refused with a clear reason.

use crate::error::{RecordError, RecordErrorKind};
use std::borrow::Cow;
use std::io::Read;

/// Glue header version byte.
pub const GLUE_HEADER_VERSION: u8 = 3;
/// Compression byte: none.
pub const GLUE_NO_COMPRESSION: u8 = 0;
/// Compression byte: zlib.
pub const GLUE_ZLIB: u8 = 5;
/// Header length: version, compression, 16-byte UUID.
pub const GLUE_HEADER_LEN: usize = 18;

/// What a value holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing<'a> {
    /// A Glue-framed Avro datum.
    Glue {
        /// The schema version id's 16 bytes (as text: [`uuid_text`]).
        version: [u8; 16],
        /// Whether the datum is zlib-compressed.
        zlib: bool,
        /// The (possibly compressed) datum.
        datum: &'a [u8],
    },
    /// No header: a plain payload (JSON).
    Plain(&'a [u8]),
}

/// Formats 16 bytes as a hyphenated lower-case UUID (other lengths: plain hex).
pub fn uuid_text(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if bytes.len() == 16 && matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

fn framing_error(message: String) -> RecordError {
    RecordError::new(RecordErrorKind::Parse, message)
}

/// Reads the framing of a value.
pub fn parse_framing(value: &[u8]) -> Result<Framing<'_>, RecordError> {
    match value.first() {
        Some(&GLUE_HEADER_VERSION) => {
            if value.len() < GLUE_HEADER_LEN {
                return Err(framing_error(format!(
                    "truncated Glue Schema Registry header: {} bytes, expected at least {GLUE_HEADER_LEN}",
                    value.len()
                )));
            }
            let zlib = match value[1] {
                GLUE_NO_COMPRESSION => false,
                GLUE_ZLIB => true,
                other => {
                    return Err(framing_error(format!(
                        "Glue Schema Registry header with unknown compression byte {other} (expected 0 or 5)"
                    )));
                }
            };
            let mut version = [0u8; 16];
            version.copy_from_slice(&value[2..GLUE_HEADER_LEN]);
            Ok(Framing::Glue {
                version,
                zlib,
                datum: &value[GLUE_HEADER_LEN..],
            })
        }
        Some(0) if value.len() >= 5 => Err(framing_error(format!(
            "Confluent Schema Registry framing (magic byte 0, schema id {}) is not supported: producers must use the Glue Schema Registry serializer",
            u32::from_be_bytes([value[1], value[2], value[3], value[4]])
        ))),
        _ => Ok(Framing::Plain(value)),
    }
}

/// Inflates a zlib datum, refusing to produce more than `max_bytes`.
pub fn inflate(datum: &[u8], max_bytes: u64) -> Result<Cow<'_, [u8]>, RecordError> {
    let mut out = Vec::with_capacity(datum.len() * 4);
    let mut decoder = flate2::read::ZlibDecoder::new(datum).take(max_bytes + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| framing_error(format!("corrupt zlib in a Glue-framed value: {e}")))?;
    if out.len() as u64 > max_bytes {
        return Err(framing_error(format!(
            "a zlib datum inflates past the bound of {max_bytes} bytes"
        )));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const ID: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        0x88,
    ];

    fn framed(compression: u8, datum: &[u8]) -> Vec<u8> {
        let mut v = vec![GLUE_HEADER_VERSION, compression];
        v.extend_from_slice(&ID);
        v.extend_from_slice(datum);
        v
    }

    #[test]
    fn uuids_are_formatted_like_glue_version_ids() {
        assert_eq!(uuid_text(&ID), "12345678-9abc-def0-1122-334455667788");
        assert_eq!(uuid_text(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn reads_glue_headers() {
        let v = framed(0, b"\x02ab");
        assert_eq!(
            parse_framing(&v).unwrap(),
            Framing::Glue {
                version: ID,
                zlib: false,
                datum: b"\x02ab"
            }
        );
        assert!(matches!(
            parse_framing(&framed(5, b"x")).unwrap(),
            Framing::Glue { zlib: true, .. }
        ));
    }

    #[test]
    fn plain_confluent_truncated_and_unknown_compression() {
        assert_eq!(
            parse_framing(b"{\"a\":1}").unwrap(),
            Framing::Plain(b"{\"a\":1}")
        );
        assert_eq!(parse_framing(b"").unwrap(), Framing::Plain(b""));
        let e = parse_framing(&[0, 0, 0, 0, 7, 2, 0]).unwrap_err();
        assert!(
            e.message.contains("Confluent") && e.message.contains("schema id 7"),
            "{}",
            e.message
        );
        let e = parse_framing(&[3, 0, 1, 2]).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
        let e = parse_framing(&framed(9, b"")).unwrap_err();
        assert!(e.message.contains("compression byte 9"), "{}", e.message);
    }

    #[test]
    fn inflates_and_refuses_corrupt_or_oversized_zlib() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&[7u8; 1000]).unwrap();
        let z = enc.finish().unwrap();
        assert_eq!(inflate(&z, 1000).unwrap().len(), 1000);
        assert!(inflate(&z, 999).unwrap_err().message.contains("bound"));
        assert!(
            inflate(b"not zlib", 1000)
                .unwrap_err()
                .message
                .contains("corrupt zlib")
        );
    }
}
