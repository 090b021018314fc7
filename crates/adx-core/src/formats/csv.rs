//! CSV decoder: a header row names the columns (any order, extra ones ignored, a UTF-8 BOM
//! stripped), RFC 4180 quoting, CRLF or LF line ends; an empty cell is null. A required column
//! missing from the header quarantines every row with that reason.

use crate::convert::text::text_into;
use crate::error::{FieldError, RecordError, RecordErrorKind};
use crate::formats::decoded::{Decoded, Emit, Position, RECORDS_AHEAD, Raw, Stop};
use crate::model::datum::Datum;
use crate::model::shape::{Kind, RecordShape};
use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;

enum Column {
    /// The field's cell is at this index.
    At(usize),
    /// The header lacks the field: use this default.
    Default(Datum<'static>),
    /// The header lacks a required field.
    Missing,
}

/// How far the CSV reader may read ahead of the row it is parsing (its buffer is 8 KiB).
const READ_AHEAD: u64 = 64 << 10;

/// The input as the CSV reader sees it: reading fails once one row (or the header) has taken
/// more than the record bound plus the read-ahead, so that a huge row, or an unclosed quote
/// that would swallow the rest of the object, is never gathered in memory.
struct RowBound<'a> {
    inner: &'a mut dyn Read,
    since_row: Rc<Cell<u64>>,
    limit: u64,
    max_record_bytes: usize,
}

impl Read for RowBound<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let since = self.since_row.get().saturating_add(n as u64);
        if since > self.limit {
            return Err(std::io::Error::other(format!(
                "more than the bound of {} bytes (ADX_MAX_RECORD_BYTES) without a complete row (a huge row, an unclosed quote, a run of blank lines?): the rest of the object is not read",
                self.max_record_bytes
            )));
        }
        self.since_row.set(since);
        Ok(n)
    }
}

fn object_error(e: &csv::Error) -> Stop {
    Stop::Object(RecordError::new(
        RecordErrorKind::Parse,
        format!("CSV cannot be read further: {e}"),
    ))
}

/// Decodes CSV from `input` into records of `shape`; `key_field` is the dataset's key field
/// (its position in `shape`), whose text, a few rows ahead, is handed on with each record.
pub fn decode_csv(
    input: &mut dyn Read,
    shape: &RecordShape,
    key_field: Option<usize>,
    max_record_bytes: usize,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    // The csv crate counts a CRLF line end only when it reads the LF, at the start of the next
    // record: with CRLF files, a record's line is one more than it says. The first line end
    // tells which kind the file has.
    let mut input = std::io::BufReader::with_capacity(64 << 10, input);
    let crlf = {
        let head = input.fill_buf().map_err(|e| {
            Stop::Object(RecordError::new(
                RecordErrorKind::Parse,
                format!("CSV cannot be read: {e}"),
            ))
        })?;
        memchr::memchr(b'\n', head).is_some_and(|i| i > 0 && head[i - 1] == b'\r')
    };
    let line_fix = u64::from(crlf);
    let since_row = Rc::new(Cell::new(0u64));
    let bounded = RowBound {
        inner: &mut input,
        since_row: since_row.clone(),
        limit: (max_record_bytes as u64).saturating_add(READ_AHEAD),
        max_record_bytes,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bounded);
    // Where each field's column is; one pass over the header, nothing kept per column, so a
    // header of a million columns costs no more than its bytes.
    let mut found: Vec<Option<usize>> = vec![None; shape.fields.len()];
    let header = reader.byte_headers().map_err(|e| object_error(&e))?.clone();
    for (i, h) in header.iter().enumerate() {
        let h = if i == 0 {
            h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
        } else {
            h
        };
        let name = h.trim_ascii();
        if let Some(f) = shape.fields.iter().position(|f| f.name.as_bytes() == name)
            && found[f].is_none()
        {
            found[f] = Some(i);
        }
    }
    since_row.set(0);
    let columns: Vec<Column> = shape
        .fields
        .iter()
        .zip(found)
        .map(|(f, at)| match at {
            Some(i) => Column::At(i),
            None => match &f.default {
                Some(d) => Column::Default(d.clone()),
                None => Column::Missing,
            },
        })
        .collect();
    // The key's cell, when the key is a string: its text is what the key set digests.
    let key_cell = key_field.and_then(|k| match (columns.get(k), shape.fields.get(k)) {
        (Some(Column::At(i)), Some(f)) if matches!(f.ty.kind, Kind::Str) => Some(*i),
        _ => None,
    });
    // Without a hint to hand on, rows are read one at a time, as they were before.
    let mut ahead = RowsAhead::new(if key_cell.is_some() { ROWS_AHEAD } else { 1 });
    loop {
        ahead.fill(&mut reader, &since_row);
        let Some(record) = ahead.rows.pop_front() else {
            return match ahead.failed.take() {
                Some(e) => Err(object_error(&e)),
                None => Ok(()),
            };
        };
        let line = record.position().map(|p| p.line() + line_fix).unwrap_or(0);
        let outcome = if record.as_slice().len() > max_record_bytes {
            Err(RecordError::new(
                RecordErrorKind::Parse,
                format!(
                    "the row is longer than the bound of {max_record_bytes} bytes (ADX_MAX_RECORD_BYTES; an unclosed quote?)"
                ),
            ))
        } else {
            convert_row(&record, &columns, shape)
        };
        emit(Decoded {
            position: Position::Line(line),
            outcome,
            raw: Raw::Csv {
                header: &header,
                row: &record,
            },
            key_ahead: key_cell.and_then(|i| ahead.rows.back().and_then(|r| r.get(i))),
        })?;
        ahead.recycle(record);
    }
}

/// Rows held at once, the one about to be handed on included: each record carries the key of
/// the last of them, `ROWS_AHEAD - 1` rows further on ([`Decoded::key_ahead`]), so that the
/// key set has fetched its place by the time that row comes.
const ROWS_AHEAD: usize = RECORDS_AHEAD;

/// Read-ahead stops once the rows waiting weigh this many bytes ([`weight`]), so that a few
/// heavy rows are never held at once: one row of up to the record bound, as without
/// read-ahead, plus this.
const AHEAD_BYTES: usize = 64 << 10;

/// What a row read holds in memory: its cells' bytes and the csv crate's index of where each
/// ends (a word a cell), so that a row of a million empty cells weighs what it takes.
fn weight(record: &csv::ByteRecord) -> usize {
    record.as_slice().len() + record.len() * std::mem::size_of::<usize>()
}

/// The rows read and not yet handed on, the emptied rows kept for reuse, and the read error
/// that ends the object once the rows before it are handed on.
struct RowsAhead {
    /// Rows held at most (1: no read-ahead).
    most: usize,
    rows: VecDeque<csv::ByteRecord>,
    spare: Vec<csv::ByteRecord>,
    waiting_bytes: usize,
    done: bool,
    failed: Option<csv::Error>,
}

impl RowsAhead {
    fn new(most: usize) -> RowsAhead {
        RowsAhead {
            most: most.max(1),
            rows: VecDeque::with_capacity(most),
            spare: Vec::new(),
            waiting_bytes: 0,
            done: false,
            failed: None,
        }
    }

    /// Reads rows until `most` wait, or [`AHEAD_BYTES`] of them, or the end or an error.
    fn fill<R: Read>(&mut self, reader: &mut csv::Reader<R>, since_row: &Cell<u64>) {
        while !self.done
            && self.failed.is_none()
            && self.rows.len() < self.most
            && (self.rows.is_empty() || self.waiting_bytes < AHEAD_BYTES)
        {
            let mut record = self.spare.pop().unwrap_or_default();
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    since_row.set(0);
                    self.waiting_bytes += weight(&record);
                    self.rows.push_back(record);
                }
                Ok(false) => self.done = true,
                Err(e) => self.failed = Some(e),
            }
        }
    }

    /// Takes back a row handed on; a heavy one is dropped rather than kept with its buffers.
    fn recycle(&mut self, record: csv::ByteRecord) {
        let weight = weight(&record);
        self.waiting_bytes -= weight;
        if weight <= AHEAD_BYTES {
            self.spare.push(record);
        }
    }
}

fn convert_row<'r>(
    record: &'r csv::ByteRecord,
    columns: &[Column],
    shape: &RecordShape,
) -> Result<Datum<'r>, RecordError> {
    let mut fields = Vec::with_capacity(columns.len());
    for (column, field) in columns.iter().zip(&shape.fields) {
        match column {
            Column::At(i) => {
                let bytes = record.get(*i).unwrap_or(b"");
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    RecordError::from_field(
                        RecordErrorKind::Schema,
                        FieldError::new(&field.name, "UTF-8 text", "invalid UTF-8"),
                    )
                })?;
                fields.push(Datum::Null);
                if let Some(slot) = fields.last_mut() {
                    text_into(text, &field.ty, slot).map_err(|e| {
                        RecordError::from_field(RecordErrorKind::Schema, (*e).within(&field.name))
                    })?;
                }
            }
            Column::Default(d) => fields.push(d.clone()),
            Column::Missing => {
                return Err(RecordError::from_field(
                    RecordErrorKind::Schema,
                    FieldError::new(
                        &field.name,
                        "a column of that name in the header",
                        "no such column",
                    ),
                ));
            }
        }
    }
    Ok(Datum::Record(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::decoded::{Seen, collect, key_hints};

    fn shape() -> std::sync::Arc<RecordShape> {
        crate::test_support::shape(
            r#"{"name":"id","type":"string"},
               {"name":"n","type":["null","long"],"default":null},
               {"name":"note","type":["null","string"],"default":null}"#,
        )
    }

    fn run(input: &[u8]) -> (Seen, Option<Stop>) {
        let shape = shape();
        let mut input = input;
        collect(|emit| decode_csv(&mut input, &shape, Some(0), usize::MAX, emit))
    }

    fn rec(id: &str, n: Option<i64>, note: Option<&str>) -> Datum<'static> {
        Datum::Record(vec![
            Datum::Str(id.into()),
            n.map(Datum::Long).unwrap_or(Datum::Null),
            note.map(|s| Datum::Str(s.into())).unwrap_or(Datum::Null),
        ])
    }

    #[test]
    fn quoting_crlf_bom_order_extra_and_empty_cells() {
        let input =
            b"\xEF\xBB\xBFextra,note,id,n\r\nx,\"a, \"\"quoted\"\"\nnote\",A,1\r\ny,,B,\r\n";
        let (out, stop) = run(input);
        assert!(stop.is_none());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].1, Ok(rec("A", Some(1), Some("a, \"quoted\"\nnote"))));
        assert_eq!(out[1].1, Ok(rec("B", None, None)));
        assert_eq!(out[0].0, Position::Line(2));
        assert_eq!(out[1].0, Position::Line(4));
    }

    #[test]
    fn lines_are_counted_alike_with_lf_and_crlf() {
        for input in [
            &b"id,n\nA,1\nB,\"x\ny\"\nC,3\n"[..],
            b"id,n\r\nA,1\r\nB,\"x\ny\"\r\nC,3\r\n",
        ] {
            let (out, _) = run(input);
            let lines: Vec<Position> = out.iter().map(|o| o.0).collect();
            assert_eq!(
                lines,
                [Position::Line(2), Position::Line(3), Position::Line(5)],
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn bad_cells_are_record_errors_with_the_row_as_payload() {
        let (out, _) = run(b"id,n\nA,lots\nB,2\n,3\n");
        let err = out[0].1.clone().unwrap_err();
        assert_eq!(err.field.as_deref(), Some("n"));
        assert_eq!(err.message, "field `n`: expected a long, found \"lots\"");
        assert_eq!(out[0].2, "id,n\nA,lots", "the header, then the row");
        assert_eq!(out[1].1, Ok(rec("B", Some(2), None)));
        assert_eq!(out[2].1.clone().unwrap_err().field.as_deref(), Some("id"));
    }

    #[test]
    fn a_quarantined_row_carries_the_header_only_while_it_is_small() {
        use crate::formats::decoded::MAX_PAYLOAD_HEADER_BYTES as MAX;
        // `id,n,` then one column named to make the header exactly `len` bytes long.
        let header = |len: usize, quoted: bool| {
            let rest = len - "id,n,".len();
            if quoted {
                // A comma in the name: written back quoted, two bytes longer than its fields.
                format!("id,n,\"{},\"", "c".repeat(rest - 3))
            } else {
                format!("id,n,{}", "c".repeat(rest))
            }
        };
        for (text, carried) in [
            (header(MAX, false), true),
            (header(MAX + 1, false), false),
            (header(MAX, true), true),
            (header(MAX + 1, true), false),
            (header(30 * MAX, false), false),
        ] {
            let input = format!("{text}\nA,lots,x\n");
            let (out, _) = run(input.as_bytes());
            let payload = &out[0].2;
            if carried {
                assert_eq!(
                    *payload,
                    format!("{text}\nA,lots,x"),
                    "{} bytes",
                    text.len()
                );
            } else {
                assert_eq!(payload, "A,lots,x", "{} bytes", text.len());
            }
        }
    }

    #[test]
    fn a_missing_required_column_quarantines_each_row() {
        let (out, _) = run(b"n,note\n1,a\n2,b\n");
        assert_eq!(out.len(), 2);
        for (_, outcome, _) in out {
            let err = outcome.unwrap_err();
            assert_eq!(err.field.as_deref(), Some("id"));
            assert!(err.message.contains("no such column"), "{}", err.message);
        }
    }

    #[test]
    fn rows_past_the_bound_are_refused() {
        let shape = shape();
        let input = format!("id,note\nA,x\nB,\"{}\"\nC,y\n", "z".repeat(5000));
        let mut bytes = input.as_bytes();
        let (out, _) = collect(|emit| decode_csv(&mut bytes, &shape, Some(0), 100, emit));
        assert_eq!(out.len(), 3);
        assert!(
            out[1]
                .1
                .clone()
                .unwrap_err()
                .message
                .contains("bound of 100 bytes")
        );
        assert_eq!(out[2].1, Ok(rec("C", None, Some("y"))));
    }

    #[test]
    fn a_row_past_the_bound_and_the_read_ahead_stops_the_object() {
        let shape = shape();
        // An unclosed quote: the rest of the object would be one cell. The rows read ahead of
        // it are handed on, in order, before the object stops.
        let input = format!("id,note\nA,x\nB,y\nC,\"{}\nD,y\n", "z\n".repeat(200 << 10));
        let mut bytes = input.as_bytes();
        let (out, stop) = collect(|emit| decode_csv(&mut bytes, &shape, Some(0), 1000, emit));
        assert_eq!(out.len(), 2, "the rows before are kept");
        assert_eq!(out[0].1, Ok(rec("A", None, Some("x"))));
        assert_eq!(out[1].1, Ok(rec("B", None, Some("y"))));
        let Some(Stop::Object(e)) = stop else {
            panic!("expected the object to stop")
        };
        assert!(
            e.message
                .contains("bound of 1000 bytes (ADX_MAX_RECORD_BYTES) without a complete row"),
            "{}",
            e.message
        );
        // The header counts too.
        let header = format!("{}\nA\n", "c,".repeat(100 << 10));
        let mut bytes = header.as_bytes();
        let (out, stop) = collect(|emit| decode_csv(&mut bytes, &shape, Some(0), 1000, emit));
        assert!(out.is_empty());
        assert!(matches!(stop, Some(Stop::Object(_))));
    }

    /// The key hint handed on with each record of `input`, decoded with `key_field`.
    fn hints(mut input: &[u8], key_field: Option<usize>) -> Vec<Option<String>> {
        let shape = shape();
        key_hints(|emit| decode_csv(&mut input, &shape, key_field, usize::MAX, emit))
    }

    #[test]
    fn each_record_carries_the_key_of_the_last_row_read_ahead() {
        let rows: String = (0..20).map(|i| format!("\"k{i}\",{i}\n")).collect();
        let input = format!("id,n\n{rows}");
        let got = hints(input.as_bytes(), Some(0));
        // The last record has no row after it.
        let want: Vec<Option<String>> = (0..20)
            .map(|i: usize| (i < 19).then(|| format!("k{}", (i + ROWS_AHEAD - 1).min(19))))
            .collect();
        assert_eq!(
            got, want,
            "the quoted key's text, as the record will hold it"
        );
        // No key field, a key that is not a string, or a key column the header lacks: no hint.
        assert!(hints(input.as_bytes(), None).iter().all(Option::is_none));
        assert!(hints(input.as_bytes(), Some(1)).iter().all(Option::is_none));
        assert!(hints(b"n\n1\n2\n", Some(0)).iter().all(Option::is_none));
    }

    /// Rows waiting after a first fill over `input` (a header, then rows), and whether the
    /// first row's buffers are kept for reuse once handed on.
    fn first_fill(input: &str) -> (usize, bool, RowsAhead, csv::Reader<&[u8]>) {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(input.as_bytes());
        let mut ahead = RowsAhead::new(ROWS_AHEAD);
        let since_row = Cell::new(0);
        ahead.fill(&mut reader, &since_row);
        let waiting = ahead.rows.len();
        let first = ahead.rows.pop_front().unwrap();
        ahead.recycle(first);
        let kept = !ahead.spare.is_empty();
        (waiting, kept, ahead, reader)
    }

    #[test]
    fn a_heavy_row_is_not_read_ahead_of() {
        // Long cells, or many empty ones (each costs the csv crate a word of index).
        for heavy in [
            format!("A,{}", "z".repeat(AHEAD_BYTES + 1)),
            format!("A{}", ",".repeat(AHEAD_BYTES / 8 + 1)),
        ] {
            let input = format!("id,note\n{heavy}\nB,x\nC,y\n");
            let (waiting, kept, mut ahead, mut reader) = first_fill(&input);
            assert_eq!(waiting, 1, "the heavy row waits alone");
            assert!(!kept, "its buffers are not kept");
            ahead.fill(&mut reader, &Cell::new(0));
            assert_eq!(ahead.rows.len(), 2, "then the light rows are read ahead");
            assert_eq!(ahead.waiting_bytes, 2 * (2 + 2 * 8));
        }
        let (waiting, kept, ..) = first_fill("id,note\nA,x\nB,x\n");
        assert_eq!(waiting, 2);
        assert!(kept);
    }

    #[test]
    fn held_to_one_row_it_reads_none_ahead() {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&b"id,note\nA,x\nB,y\n"[..]);
        let mut ahead = RowsAhead::new(1);
        ahead.fill(&mut reader, &Cell::new(0));
        assert_eq!(ahead.rows.len(), 1);
        assert_eq!(RowsAhead::new(0).most, 1, "never fewer than one row");
    }

    #[test]
    fn short_rows_and_invalid_utf8() {
        let (out, _) = run(b"id,n,note\nA\n\xff\xfe,1,x\n");
        assert_eq!(out[0].1, Ok(rec("A", None, None)));
        let err = out[1].1.clone().unwrap_err();
        assert_eq!(err.field.as_deref(), Some("id"));
    }
}
