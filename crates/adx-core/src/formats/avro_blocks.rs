//! The framing of an Avro object container file: its header (writer schema, codec, sync
//! marker), then one block at a time, the block's bytes decompressed into a buffer reused from
//! block to block. Holding a block whole is what lets its records be read straight from its
//! bytes, strings borrowed ([`super::avro_direct`]), instead of through a streaming reader.
//!
//! The header map and the varints are read with serde_avro_fast; the codecs are flate2 (raw
//! deflate), snap (with the CRC-32 Avro appends) and zstd.

use serde::Deserialize;
use serde_avro_fast::de::read::{Read as _, ReaderRead};
use serde_avro_fast::de::{DeserializerConfig, DeserializerState};
use std::io::{BufRead, Read};

/// The most bytes one block may take, compressed or not. Writers cut blocks at tens of
/// kilobytes (Java's default sync interval is 64,000 bytes); a larger claim is taken as
/// damage, so that a hostile length costs nothing.
pub const MAX_BLOCK_BYTES: usize = 32 << 20;

/// The most entries the header's metadata map may have.
const MAX_METADATA_ENTRIES: usize = 1_000;

/// The longest value of the header's metadata map (the writer schema is its largest value).
pub const MAX_METADATA_VALUE_BYTES: usize = 8 << 20;

/// The first bytes of every container file.
const MAGIC: [u8; 4] = *b"Obj\x01";

/// The compression of a file's blocks (`avro.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `null`: stored as is.
    Null,
    /// `deflate`: raw deflate (RFC 1951).
    Deflate,
    /// `snappy`: snappy, then the CRC-32 of the uncompressed bytes, big-endian.
    Snappy,
    /// `zstandard`.
    Zstandard,
}

impl Codec {
    fn parse(name: &str) -> Option<Codec> {
        Some(match name {
            "" | "null" => Codec::Null,
            "deflate" => Codec::Deflate,
            "snappy" => Codec::Snappy,
            "zstandard" => Codec::Zstandard,
            _ => return None,
        })
    }
}

/// Why a container file cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The header is missing or unreadable.
    #[error("not an Avro object container file: {0}")]
    NotAvro(String),
    /// The header names a codec this reader does not have.
    #[error("the file's codec {0:?} is not supported (null, deflate, snappy and zstandard are)")]
    Codec(String),
    /// A block is damaged; nothing after it can be trusted.
    #[error("block {block}: {message}")]
    Corrupt {
        /// 0-based block number.
        block: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// The two header entries the reader needs (the others are skipped).
#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "avro.schema")]
    schema: String,
    #[serde(rename = "avro.codec", default)]
    codec: String,
}

/// One block: its record count and its (decompressed) bytes.
#[derive(Debug)]
pub struct Block<'a> {
    /// How many records the block says it holds.
    pub count: usize,
    /// The records' bytes, back to back.
    pub bytes: &'a [u8],
}

/// Reads a container file block by block.
pub struct Blocks<R: BufRead> {
    reader: ReaderRead<R>,
    schema: String,
    codec: Codec,
    sync: [u8; 16],
    /// The block as stored.
    stored: Vec<u8>,
    /// The block decompressed (unused for the null codec).
    inflated: Vec<u8>,
    next: u64,
}

impl<R: BufRead> Blocks<R> {
    /// Reads the header of the file `reader` starts with.
    pub fn open(reader: R) -> Result<Self, BlockError> {
        let mut reader = ReaderRead::new(reader);
        // A value's claimed length is allocated (and zeroed) before it is read.
        reader.max_alloc_size = MAX_METADATA_VALUE_BYTES;
        let magic = reader
            .read_const_size_buf::<4>()
            .map_err(|e| BlockError::NotAvro(format!("no header: {e}")))?;
        if magic != MAGIC {
            return Err(BlockError::NotAvro(
                "it does not start with the bytes Obj\\x01".into(),
            ));
        }
        let map: serde_avro_fast::Schema = r#"{"type":"map","values":"bytes"}"#
            .parse()
            .map_err(|e| BlockError::NotAvro(format!("header schema: {e}")))?;
        let mut config = DeserializerConfig::new(&map);
        config.max_seq_size = MAX_METADATA_ENTRIES;
        let mut state = DeserializerState::with_config(reader, config);
        let metadata = Metadata::deserialize(state.deserializer())
            .map_err(|e| BlockError::NotAvro(format!("unreadable header metadata: {e}")))?;
        let mut reader = state.into_reader();
        let codec = Codec::parse(&metadata.codec)
            .ok_or_else(|| BlockError::Codec(metadata.codec.clone()))?;
        let sync = reader
            .read_const_size_buf::<16>()
            .map_err(|e| BlockError::NotAvro(format!("no sync marker: {e}")))?;
        Ok(Blocks {
            reader,
            schema: metadata.schema,
            codec,
            sync,
            stored: Vec::new(),
            inflated: Vec::new(),
            next: 0,
        })
    }

    /// The writer schema, as the header holds it (JSON).
    pub fn schema(&self) -> &str {
        &self.schema
    }

    #[cfg(test)]
    /// The codec of the blocks.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The next block, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, BlockError> {
        let block = self.next;
        let corrupt = |message: String| BlockError::Corrupt { block, message };
        if self
            .reader
            .fill_buf()
            .map_err(|e| corrupt(format!("unreadable: {e}")))?
            .is_empty()
        {
            return Ok(None);
        }
        self.next += 1;
        let count: i64 = self
            .reader
            .read_varint()
            .map_err(|e| corrupt(format!("no record count: {e}")))?;
        let size: i64 = self
            .reader
            .read_varint()
            .map_err(|e| corrupt(format!("no size: {e}")))?;
        let count =
            usize::try_from(count).map_err(|_| corrupt(format!("a record count of {count}")))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_BLOCK_BYTES)
            .ok_or_else(|| {
                corrupt(format!(
                    "a size of {size} bytes, beyond the bound of {MAX_BLOCK_BYTES} bytes a block"
                ))
            })?;
        self.stored.clear();
        (&mut self.reader)
            .take(size as u64)
            .read_to_end(&mut self.stored)
            .map_err(|e| corrupt(format!("unreadable: {e}")))?;
        if self.stored.len() < size {
            return Err(corrupt(format!(
                "truncated: it claims {size} bytes, {} are left",
                self.stored.len()
            )));
        }
        let sync = self
            .reader
            .read_const_size_buf::<16>()
            .map_err(|_| corrupt("truncated: no sync marker after it".into()))?;
        if sync != self.sync {
            return Err(corrupt(
                "the sync marker after it is not the header's".into(),
            ));
        }
        let bytes = match self.codec {
            Codec::Null => &self.stored[..],
            codec => {
                inflate(codec, &self.stored, &mut self.inflated)
                    .map_err(|e| corrupt(format!("not {codec:?}-compressed: {e}")))?;
                &self.inflated[..]
            }
        };
        // A record takes at least one byte unless every field of the writer schema is of type
        // null (no producer writes such a file for a dataset, whose reader has a non-null event
        // time); bounding the count by the bytes keeps a hostile count from running for ever.
        if count > bytes.len() {
            return Err(corrupt(format!(
                "it claims {count} records in {} bytes",
                bytes.len()
            )));
        }
        Ok(Some(Block { count, bytes }))
    }
}

/// Why a block's bytes do not inflate.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    /// The codec's decoder failed.
    #[error("{0}")]
    Codec(#[from] std::io::Error),
    /// The Snappy decoder failed.
    #[error("{0}")]
    Snappy(#[from] snap::Error),
    /// A Snappy block too short to hold its CRC-32.
    #[error("shorter than its checksum")]
    ShorterThanChecksum,
    /// A Snappy block whose header announces more than [`MAX_BLOCK_BYTES`].
    #[error("it inflates to {0} bytes, beyond the bound of {MAX_BLOCK_BYTES}")]
    Announced(usize),
    /// A Snappy block whose CRC-32 is not its inflated bytes'.
    #[error("its CRC-32 does not match")]
    Checksum,
    /// The inflated bytes exceed [`MAX_BLOCK_BYTES`].
    #[error("it inflates to more than the bound of {MAX_BLOCK_BYTES} bytes")]
    TooLarge,
}

/// Decompresses `stored` into `out` (cleared first), refusing more than [`MAX_BLOCK_BYTES`].
fn inflate(codec: Codec, stored: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
    out.clear();
    let limit = MAX_BLOCK_BYTES as u64 + 1;
    match codec {
        Codec::Null => out.extend_from_slice(stored),
        Codec::Deflate => {
            flate2::read::DeflateDecoder::new(stored)
                .take(limit)
                .read_to_end(out)?;
        }
        Codec::Zstandard => {
            zstd::stream::read::Decoder::with_buffer(stored)?
                .take(limit)
                .read_to_end(out)?;
        }
        Codec::Snappy => {
            let (body, crc) = stored
                .split_last_chunk::<4>()
                .ok_or(InflateError::ShorterThanChecksum)?;
            let len = snap::raw::decompress_len(body)?;
            if len > MAX_BLOCK_BYTES {
                return Err(InflateError::Announced(len));
            }
            out.resize(len, 0);
            let n = snap::raw::Decoder::new().decompress(body, out)?;
            out.truncate(n);
            if crc32fast::hash(out) != u32::from_be_bytes(*crc) {
                return Err(InflateError::Checksum);
            }
        }
    }
    if out.len() > MAX_BLOCK_BYTES {
        return Err(InflateError::TooLarge);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Value;
    use apache_avro::{Codec as AvroCodec, Schema, Writer};

    const SCHEMA: &str = r#"{"type":"record","name":"r","fields":[
        {"name":"id","type":"string"},{"name":"n","type":"long"}]}"#;

    fn record(i: i64) -> Value {
        Value::Record(vec![
            ("id".into(), Value::String(format!("id-{i}"))),
            ("n".into(), Value::Long(i * 1_000_003)),
        ])
    }

    /// A file of `records` records in blocks of about `block_size` bytes.
    fn file(codec: AvroCodec, records: i64, block_size: usize) -> Vec<u8> {
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let mut writer = Writer::builder()
            .schema(&schema)
            .writer(Vec::new())
            .codec(codec)
            .block_size(block_size)
            .build()
            .unwrap();
        for i in 0..records {
            writer.append_value(record(i)).unwrap();
        }
        writer.into_inner().unwrap()
    }

    /// Every block's records, decoded with apache-avro, and the number of blocks.
    fn read_all(bytes: &[u8]) -> Result<(Vec<Value>, usize), BlockError> {
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let mut blocks = Blocks::open(bytes)?;
        assert_eq!(
            Schema::parse_str(blocks.schema()).unwrap(),
            schema,
            "the header's schema"
        );
        let datums = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
            .build()
            .unwrap();
        let (mut values, mut n) = (Vec::new(), 0);
        while let Some(block) = blocks.next_block()? {
            n += 1;
            let mut rest = block.bytes;
            for _ in 0..block.count {
                values.push(datums.read_value(&mut rest).unwrap());
            }
            assert!(rest.is_empty(), "the block holds its records exactly");
        }
        Ok((values, n))
    }

    #[test]
    fn reads_every_codec_block_by_block() {
        let expected: Vec<Value> = (0..300).map(record).collect();
        for (codec, name) in [
            (AvroCodec::Null, Codec::Null),
            (AvroCodec::Deflate(Default::default()), Codec::Deflate),
            (AvroCodec::Snappy, Codec::Snappy),
            (AvroCodec::Zstandard(Default::default()), Codec::Zstandard),
        ] {
            let bytes = file(codec, 300, 256);
            assert_eq!(Blocks::open(&bytes[..]).unwrap().codec(), name);
            let (values, blocks) = read_all(&bytes).unwrap();
            assert_eq!(values, expected, "{name:?}");
            assert!(blocks > 5, "{name:?}: {blocks} blocks");
        }
        let (values, blocks) = read_all(&file(AvroCodec::Null, 0, 256)).unwrap();
        assert_eq!((values.len(), blocks), (0, 0), "a file of no records");
    }

    /// The error reading `bytes` ends with, as text.
    fn failure(bytes: &[u8]) -> String {
        read_all(bytes).unwrap_err().to_string()
    }

    #[test]
    fn refuses_what_is_not_a_container_file_or_has_an_unknown_codec() {
        assert!(failure(b"").starts_with("not an Avro object container file: no header"));
        assert!(failure(b"PAR1....").contains("does not start with the bytes Obj"));
        let good = file(AvroCodec::Deflate(Default::default()), 3, 1 << 10);
        let renamed = {
            let at = good
                .windows(7)
                .position(|w| w == b"deflate")
                .expect("the codec entry");
            let mut b = good.clone();
            b[at..at + 7].copy_from_slice(b"inflate");
            b
        };
        assert_eq!(
            failure(&renamed),
            "the file's codec \"inflate\" is not supported (null, deflate, snappy and zstandard are)"
        );
    }

    #[test]
    fn damaged_blocks_say_which_and_how() {
        let good = file(AvroCodec::Null, 40, 64);
        let (_, blocks) = read_all(&good).unwrap();
        assert!(blocks >= 3);
        // The last sync marker changed.
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let message = failure(&bad);
        assert!(
            message.starts_with(&format!("block {}: ", blocks - 1))
                && message.ends_with("the sync marker after it is not the header's"),
            "{message}"
        );
        // Cut short inside the last block.
        let message = failure(&good[..good.len() - 20]);
        assert!(message.contains("truncated"), "{message}");
        // Snappy's checksum no longer matches its bytes.
        let snappy = file(AvroCodec::Snappy, 40, 1 << 20);
        let mut bad = snappy.clone();
        let crc = bad.len() - 16 - 1;
        bad[crc] ^= 0x01;
        assert_eq!(
            failure(&bad),
            "block 0: not Snappy-compressed: its CRC-32 does not match"
        );
    }

    /// A file with the header of `good` and one block claiming `count` records in `size`
    /// bytes, holding `data`.
    fn one_block(count: i64, size: i64, data: &[u8]) -> Vec<u8> {
        let good = file(AvroCodec::Null, 0, 64);
        let sync = good[good.len() - 16..].to_vec();
        let mut bytes = good;
        for n in [count, size] {
            let mut v = ((n << 1) ^ (n >> 63)) as u64;
            while v >= 0x80 {
                bytes.push((v as u8 & 0x7f) | 0x80);
                v >>= 7;
            }
            bytes.push(v as u8);
        }
        bytes.extend_from_slice(data);
        bytes.extend(sync);
        bytes
    }

    #[test]
    fn a_block_cut_short_says_how_many_bytes_are_left() {
        let bytes = one_block(1, 10, b"abc");
        assert_eq!(
            failure(&bytes[..bytes.len() - 16]),
            "block 0: truncated: it claims 10 bytes, 3 are left"
        );
    }

    #[test]
    fn a_header_value_claiming_hundreds_of_megabytes_is_refused_unread() {
        // Magic, a map block of one entry: key "avro.schema", value claiming 400 MB.
        let mut bytes = b"Obj\x01\x02\x16avro.schema".to_vec();
        let mut v = 400_000_000u64 << 1;
        while v >= 0x80 {
            bytes.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        bytes.push(v as u8);
        bytes.extend_from_slice(b"{}");
        let message = failure(&bytes);
        assert!(
            message.starts_with("not an Avro object container file: unreadable header metadata")
                && message.contains("400000000"),
            "{message}"
        );
    }

    #[test]
    fn hostile_counts_and_sizes_are_refused_before_anything_is_allocated() {
        assert!(read_all(&one_block(0, 0, b"")).is_ok());
        for (count, size, data, says) in [
            (
                1,
                1 << 62,
                &b"abc"[..],
                "a size of 4611686018427387904 bytes, beyond the bound",
            ),
            (1, -2, b"", "a size of -2 bytes"),
            (-1, 3, b"abc", "a record count of -1"),
            (
                1 << 62,
                3,
                b"abc",
                "it claims 4611686018427387904 records in 3 bytes",
            ),
            (1, 3, b"ab", "truncated: no sync marker after it"),
        ] {
            let message = failure(&one_block(count, size, data));
            assert!(
                message.starts_with("block 0: ") && message.contains(says),
                "{message}"
            );
        }
    }
}
