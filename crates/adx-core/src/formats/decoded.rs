//! What a decoder hands on: each record ([`Decoded`]) with its place in the object
//! ([`Position`]) and its raw form for the quarantine payload ([`Raw`]), the callback that
//! receives it ([`Emit`]), and why a decoder stopped early ([`Stop`]). Shared by every decoder
//! of [`crate::formats`].

use crate::error::{IngestError, RecordError};
use crate::model::datum::Datum;

/// Where a record sits in its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a text object (CSV, JSON Lines).
    Line(u64),
    /// 0-based item of a JSON array.
    Item(u64),
    /// 0-based record of an Avro file.
    Record(u64),
}

impl Position {
    /// The number, for the `_offset` lineage column.
    pub fn number(self) -> i64 {
        match self {
            Position::Line(n) | Position::Item(n) | Position::Record(n) => n as i64,
        }
    }

    /// The quarantine `source` member name for the number.
    pub fn label(self) -> &'static str {
        match self {
            Position::Line(_) => "line",
            Position::Item(_) => "item",
            Position::Record(_) => "record",
        }
    }
}

/// One record as a decoder saw it.
pub struct Decoded<'r> {
    /// Where it is.
    pub position: Position,
    /// The record in the reader shape, or why it does not fit.
    pub outcome: Result<Datum<'r>, RecordError>,
    /// Its raw form, for the quarantine payload.
    pub raw: Raw<'r>,
    /// The key of a record a few further on, as the bytes the receiver digests for its key set
    /// (a string key's text), when the decoder has read that far ahead (CSV, JSON Lines): the receiver
    /// asks for that key's place in its key set now, so that it is in cache when that record
    /// comes. A hint only: it changes no outcome.
    pub key_ahead: Option<&'r [u8]>,
}

/// The records a decoder that hands on [`Decoded::key_ahead`] holds or scans at once, the one
/// in hand included: the key it hands on is that of the record `RECORDS_AHEAD - 1` further on,
/// about as far as it takes to hide a wait on memory behind the work of the records between.
pub const RECORDS_AHEAD: usize = 8;

/// The longest CSV header carried in a quarantined row's payload.
pub const MAX_PAYLOAD_HEADER_BYTES: usize = 1024;

/// The raw form of a record, turned into bytes only when the record is quarantined.
#[derive(Clone, Copy)]
pub enum Raw<'r> {
    /// The bytes as read (a JSON line or array item).
    Bytes(&'r [u8]),
    /// A CSV row, written back on demand as a two-line CSV document: the header, then the row,
    /// so that the payload can be read again on its own (`adx quarantine replay`).
    Csv {
        /// The object's header row.
        header: &'r ::csv::ByteRecord,
        /// The row.
        row: &'r ::csv::ByteRecord,
    },
    /// Not kept (Avro: the decoded record is rendered as JSON instead).
    None,
}

impl<'r> Raw<'r> {
    /// The payload bytes, if the format keeps any.
    pub fn to_bytes(self) -> Option<std::borrow::Cow<'r, [u8]>> {
        match self {
            Raw::Bytes(b) => Some(std::borrow::Cow::Borrowed(b)),
            Raw::Csv { header, row } => {
                // The header goes with the row only while it is small: a wide header repeated
                // in every refused row would multiply a small object into a huge quarantine.
                // Its fields and their separators alone tell when it is too wide, without
                // writing it out again for every row.
                let least = header.as_slice().len() + header.len().saturating_sub(1);
                let header = (least <= MAX_PAYLOAD_HEADER_BYTES)
                    .then(|| reencode(header))
                    .filter(|h| h.len() <= MAX_PAYLOAD_HEADER_BYTES);
                let mut bytes = match header {
                    Some(mut b) => {
                        b.push(b'\n');
                        b
                    }
                    None => Vec::new(),
                };
                bytes.extend(reencode(row));
                Some(std::borrow::Cow::Owned(bytes))
            }
            Raw::None => None,
        }
    }
}

/// Why a decoder stopped before the end of the object.
#[derive(Debug)]
pub enum Stop {
    /// The rest of the object cannot be read: one quarantine entry says why.
    Object(RecordError),
    /// The callback failed (writing output): the invocation fails.
    Infra(IngestError),
}

impl From<IngestError> for Stop {
    fn from(e: IngestError) -> Self {
        Stop::Infra(e)
    }
}

/// The callback that receives each record.
pub type Emit<'e> = dyn FnMut(Decoded<'_>) -> Result<(), IngestError> + 'e;

/// What a decoder emitted, for the decoders' unit tests: position, outcome and raw text.
#[cfg(test)]
pub(crate) type Seen = Vec<(Position, Result<Datum<'static>, RecordError>, String)>;

/// Runs `decode` and collects what it emits and how it stopped.
#[cfg(test)]
pub(crate) fn collect(
    decode: impl FnOnce(&mut Emit<'_>) -> Result<(), Stop>,
) -> (Seen, Option<Stop>) {
    let mut out = Vec::new();
    let stop = decode(&mut |d: Decoded<'_>| {
        let raw = d
            .raw
            .to_bytes()
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        out.push((d.position, d.outcome.map(Datum::into_owned), raw));
        Ok(())
    })
    .err();
    (out, stop)
}

/// A row written back as one CSV record (no line end), for the quarantine payload.
/// The key hint ([`Decoded::key_ahead`]) each record of a decode carries, as text; the decode
/// must succeed.
#[cfg(test)]
pub(crate) fn key_hints(
    decode: impl FnOnce(&mut Emit<'_>) -> Result<(), Stop>,
) -> Vec<Option<String>> {
    let mut seen = Vec::new();
    let result = decode(&mut |d: Decoded<'_>| {
        seen.push(d.key_ahead.map(|k| String::from_utf8_lossy(k).into_owned()));
        Ok(())
    });
    assert!(result.is_ok(), "the decode succeeds");
    seen
}

fn reencode(record: &csv::ByteRecord) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    if writer.write_byte_record(record).is_err() {
        return Vec::new();
    }
    let mut bytes = writer.into_inner().unwrap_or_default();
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}
