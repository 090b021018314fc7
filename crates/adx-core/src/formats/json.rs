//! JSON decoder: JSON Lines (one object per line, blank lines skipped) or a file holding one
//! JSON array of objects, told apart by the first non-blank byte. The array is split into its
//! items as a stream (never read whole), so each item is decoded, and fails, on its own.

use crate::convert::seed::{SeedContext, SeedFailure, from_json_slice};
use crate::error::{RecordError, RecordErrorKind};
use crate::formats::decoded::{Decoded, Emit, Position, RECORDS_AHEAD, Raw, Stop};
use crate::model::shape::RecordShape;
use crate::model::shape::{Kind, Ty};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

fn read_error(e: &std::io::Error) -> Stop {
    Stop::Object(RecordError::new(
        RecordErrorKind::Object,
        format!("the object cannot be read further: {e}"),
    ))
}

/// Decodes JSON Lines or a JSON array from `input` into records of `shape`; with JSON Lines,
/// `key_field` (the dataset's key field, its position in `shape`) is looked for a few lines
/// ahead and handed on with each record ([`Decoded::key_ahead`]).
pub fn decode_json(
    input: &mut dyn Read,
    shape: &Arc<RecordShape>,
    key_field: Option<usize>,
    max_record_bytes: usize,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    let mut reader = BufReader::with_capacity(256 << 10, input);
    // Skip a UTF-8 BOM and leading white space to see the first byte.
    let first = loop {
        let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Ok(());
        }
        let skip = if buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            buf.iter().take_while(|b| b.is_ascii_whitespace()).count()
        };
        if skip == 0 {
            break buf[0];
        }
        reader.consume(skip);
    };
    let ty = Ty {
        kind: Kind::Record(shape.clone()),
        nullable: false,
    };
    if first == b'[' {
        reader.consume(1);
        decode_array(&mut reader, &ty, max_record_bytes, emit)
    } else {
        let key = key_field
            .and_then(|k| shape.fields.get(k))
            .filter(|f| matches!(f.ty.kind, Kind::Str))
            .map(|f| KeyAhead::new(&f.name));
        decode_lines(&mut reader, &ty, key, max_record_bytes, emit)
    }
}

/// Decodes one JSON text straight into a record (no value tree in between).
pub fn decode_one<'b, 's>(
    bytes: &'b [u8],
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
) -> Result<crate::model::datum::Datum<'b>, RecordError> {
    from_json_slice(bytes, ty, ctx).map_err(|e| match e {
        SeedFailure::Field(e) => RecordError::from_field(RecordErrorKind::Schema, e),
        SeedFailure::Syntax(e) => {
            RecordError::new(RecordErrorKind::Parse, format!("not valid JSON: {e}"))
        }
    })
}

fn decode_lines(
    reader: &mut dyn BufRead,
    ty: &Ty,
    mut key: Option<KeyAhead>,
    max: usize,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    let ctx = SeedContext::new();
    let mut long_line = Vec::new();
    let mut number = 0u64;
    loop {
        let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Ok(());
        }
        number += 1;
        // A line wholly inside the buffer is decoded in place; a longer one is gathered first.
        let consumed = match memchr_newline(buf) {
            Some(end) if end <= max => {
                let key_ahead = key.as_mut().and_then(|k| k.scan(buf));
                decode_line(&buf[..end], number, ty, &ctx, key_ahead, emit)?;
                if let Some(k) = key.as_mut() {
                    k.consumed(end + 1);
                }
                end + 1
            }
            _ => {
                if let Some(k) = key.as_mut() {
                    k.reset();
                }
                long_line.clear();
                if read_line_bounded(reader, &mut long_line, max)? {
                    emit(too_long(Position::Line(number), max, &long_line))?;
                } else {
                    decode_line(&long_line, number, ty, &ctx, None, emit)?;
                }
                0
            }
        };
        reader.consume(consumed);
    }
}

/// Bytes of an oversized record kept as its quarantine payload.
const OVERSIZED_PAYLOAD_BYTES: usize = 64 << 10;

/// The quarantine outcome of a record longer than the bound (its start as payload).
fn too_long(position: Position, max: usize, start: &[u8]) -> Decoded<'_> {
    Decoded {
        position,
        outcome: Err(RecordError::new(
            RecordErrorKind::Parse,
            format!(
                "the record is longer than the bound of {max} bytes (ADX_MAX_RECORD_BYTES); the payload holds its start"
            ),
        )),
        raw: Raw::Bytes(&start[..start.len().min(OVERSIZED_PAYLOAD_BYTES)]),
        key_ahead: None,
    }
}

/// Reads the rest of a line (newline consumed) into `out`, keeping at most `max` bytes;
/// true when the line was longer (the rest is skipped without being kept).
fn read_line_bounded(
    reader: &mut dyn BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> Result<bool, Stop> {
    let mut over = false;
    loop {
        let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Ok(over);
        }
        let (chunk, used, done) = match memchr_newline(buf) {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        over |= chunk.len() > room;
        reader.consume(used);
        if done {
            return Ok(over);
        }
    }
}

/// Where a key field's text is in a line `RECORDS_AHEAD - 1` lines after the one being decoded,
/// found without parsing: the first `"name"` followed by `:` and a string without escapes. A
/// line that says it otherwise (another place, an escape, no such key) gives no hint, or a
/// wrong one, which costs a needless fetch and changes nothing else.
struct KeyAhead {
    finder: memchr::memmem::Finder<'static>,
    /// End (past its newline) of the lines scanned, counted from the current line's start.
    scanned: usize,
    /// Start of the last line scanned.
    last: usize,
    /// Lines scanned, the current one included.
    lines: usize,
}

impl KeyAhead {
    fn new(name: &str) -> KeyAhead {
        KeyAhead {
            finder: memchr::memmem::Finder::new(format!("\"{name}\"").as_bytes()).into_owned(),
            scanned: 0,
            last: 0,
            lines: 0,
        }
    }

    /// Scans `buf` (starting with the current line) up to the line [`RECORDS_AHEAD`] - 1
    /// after it, and returns its key's text.
    fn scan<'b>(&mut self, buf: &'b [u8]) -> Option<&'b [u8]> {
        while self.lines < RECORDS_AHEAD {
            let end = memchr_newline(buf.get(self.scanned..)?)?;
            self.last = self.scanned;
            self.scanned += end + 1;
            self.lines += 1;
        }
        let line = buf.get(self.last..self.scanned - 1)?;
        let at = self.finder.find(line)? + self.finder.needle().len();
        let rest = line.get(at..)?.trim_ascii_start().strip_prefix(b":")?;
        let value = rest.trim_ascii_start().strip_prefix(b"\"")?;
        let end = memchr::memchr2(b'"', b'\\', value)?;
        (value[end] == b'"').then(|| &value[..end])
    }

    /// The current line (`n` bytes with its newline) is done: the next one is current.
    fn consumed(&mut self, n: usize) {
        if self.lines > 1 {
            self.scanned -= n;
            self.last -= n;
            self.lines -= 1;
        } else {
            self.reset();
        }
    }

    /// The buffer is read anew: nothing is scanned.
    fn reset(&mut self) {
        self.scanned = 0;
        self.last = 0;
        self.lines = 0;
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', buf)
}

fn decode_line<'s>(
    line: &[u8],
    number: u64,
    ty: &'s Ty,
    ctx: &SeedContext<'s>,
    key_ahead: Option<&[u8]>,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return Ok(());
    }
    let outcome = decode_one(text, ty, ctx);
    emit(Decoded {
        position: Position::Line(number),
        outcome,
        raw: Raw::Bytes(text),
        key_ahead,
    })?;
    Ok(())
}

/// Splits the items of a JSON array (the `[` already consumed) and decodes each.
fn decode_array(
    reader: &mut dyn BufRead,
    ty: &Ty,
    max: usize,
    emit: &mut Emit<'_>,
) -> Result<(), Stop> {
    let ctx = SeedContext::new();
    let mut item = Vec::with_capacity(4096);
    let mut index = 0u64;
    let mut expect_item = true;
    loop {
        let Some(b) = next_non_space(reader)? else {
            return Err(malformed("the array is not closed"));
        };
        match b {
            b']' => {
                if index > 0 && expect_item {
                    return Err(malformed("a comma before the closing bracket"));
                }
                return match next_non_space(reader)? {
                    None => Ok(()),
                    Some(_) => Err(malformed("data after the closing bracket")),
                };
            }
            b',' if !expect_item => expect_item = true,
            _ if expect_item => {
                item.clear();
                if read_item(reader, b, &mut item, max)? {
                    emit(too_long(Position::Item(index), max, &item))?;
                } else {
                    let outcome = decode_one(&item, ty, &ctx);
                    emit(Decoded {
                        position: Position::Item(index),
                        outcome,
                        raw: Raw::Bytes(&item),
                        key_ahead: None,
                    })?;
                }
                index += 1;
                expect_item = false;
            }
            other => {
                return Err(malformed(&format!(
                    "expected `,` or `]` after item {index}, found `{}`",
                    other as char
                )));
            }
        }
    }
}

fn malformed(what: &str) -> Stop {
    Stop::Object(RecordError::new(
        RecordErrorKind::Parse,
        format!("malformed JSON array: {what}"),
    ))
}

fn next_non_space(reader: &mut dyn BufRead) -> Result<Option<u8>, Stop> {
    loop {
        let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                reader.consume(i + 1);
                return Ok(Some(b));
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// Copies one array item, starting with `first`, into `out`: up to its matching close for an
/// object, array or string, or up to the next `,` / `]` for a scalar (left unread).
fn read_item(
    reader: &mut dyn BufRead,
    first: u8,
    out: &mut Vec<u8>,
    max: usize,
) -> Result<bool, Stop> {
    let mut over = false;
    out.push(first);
    let mut depth: usize = match first {
        b'{' | b'[' => 1,
        _ => 0,
    };
    let mut in_string = first == b'"';
    let mut escaped = false;
    if depth == 0 && !in_string {
        // A scalar: up to the next separator.
        loop {
            let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
            if buf.is_empty() {
                return Ok(over);
            }
            match buf
                .iter()
                .position(|b| matches!(b, b',' | b']') || b.is_ascii_whitespace())
            {
                Some(i) => {
                    keep(out, max, &mut over, &buf[..i]);
                    reader.consume(i);
                    return Ok(over);
                }
                None => {
                    keep(out, max, &mut over, buf);
                    let n = buf.len();
                    reader.consume(n);
                }
            }
        }
    }
    loop {
        let buf = reader.fill_buf().map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Err(malformed("the last item is not closed"));
        }
        let mut end = None;
        for (i, &b) in buf.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match end {
            Some(i) => {
                keep(out, max, &mut over, &buf[..=i]);
                reader.consume(i + 1);
                return Ok(over);
            }
            None => {
                keep(out, max, &mut over, buf);
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// Appends `bytes` to `out` up to `max` bytes in all; notes in `over` what did not fit.
fn keep(out: &mut Vec<u8>, max: usize, over: &mut bool, bytes: &[u8]) {
    let room = max.saturating_sub(out.len());
    out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    *over |= bytes.len() > room;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Datum;
    use crate::formats::decoded::{Seen, collect, key_hints};

    fn shape() -> std::sync::Arc<RecordShape> {
        crate::test_support::shape(
            r#"{"name":"id","type":"string"},{"name":"n","type":["null","long"],"default":null}"#,
        )
    }

    fn run(input: &[u8]) -> (Seen, Option<Stop>) {
        let shape = shape();
        let mut input = input;
        collect(|emit| decode_json(&mut input, &shape, Some(0), usize::MAX, emit))
    }

    /// The key hint handed on with each record of `input`, decoded with `key_field`.
    fn hints(mut input: &[u8], key_field: Option<usize>) -> Vec<Option<String>> {
        let shape = shape();
        key_hints(|emit| decode_json(&mut input, &shape, key_field, usize::MAX, emit))
    }

    #[test]
    fn each_line_carries_the_key_of_a_line_further_on() {
        let lines: String = (0..20)
            .map(|i| match i {
                // An escape, the key elsewhere in the line, spaces, no key at all.
                10 => "{\"id\":\"k\\u0031\"}\n".to_string(),
                11 => format!("{{\"n\":{i},\"id\":\"k{i}\"}}\n"),
                12 => format!("{{ \"id\" : \"k{i}\" }}\n"),
                13 => format!("{{\"n\":{i}}}\n"),
                _ => format!("{{\"id\":\"k{i}\",\"n\":{i}}}\n"),
            })
            .collect();
        let got = hints(lines.as_bytes(), Some(0));
        assert_eq!(got.len(), 20);
        for (i, hint) in got.iter().enumerate() {
            let ahead = i + RECORDS_AHEAD - 1;
            let want = match ahead {
                10 | 13 => None,
                a if a < 20 => Some(format!("k{a}")),
                _ => None,
            };
            assert_eq!(*hint, want, "line {i}");
        }
        // Not a string key, or none: no hint.
        assert!(hints(lines.as_bytes(), Some(1)).iter().all(Option::is_none));
        assert!(hints(lines.as_bytes(), None).iter().all(Option::is_none));
    }

    #[test]
    fn hints_across_buffer_refills_and_a_long_line_are_never_wrong() {
        // A buffer of 160 bytes holds about 11 lines: the scan runs out of buffer, starts
        // anew after each refill and after the long line (gathered on its own).
        let keys: Vec<String> = (0..60).map(|i| format!("k{i}")).collect();
        let lines: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match i {
                30 => format!("{{\"id\":\"{k}\",\"pad\":\"{}\"}}", "p".repeat(200)),
                _ => format!("{{\"id\":\"{k}\"}}"),
            })
            .collect();
        let input = lines.join("\n") + "\n";
        let shape = shape();
        let ty = Ty {
            kind: Kind::Record(shape.clone()),
            nullable: false,
        };
        // The hints of a decode of the lines through a buffer of `capacity` bytes.
        let lines_hints = |capacity: usize| {
            let mut reader = std::io::BufReader::with_capacity(capacity, input.as_bytes());
            let key = Some(KeyAhead::new("id"));
            key_hints(|emit| decode_lines(&mut reader, &ty, key, usize::MAX, emit))
        };
        let got = lines_hints(160);
        assert_eq!(got.len(), 60);
        let hinted = got.iter().filter(|h| h.is_some()).count();
        assert!(hinted > 0 && hinted < 50, "{hinted} hints: some, not all");
        for (i, hint) in got.iter().enumerate() {
            if let Some(hint) = hint {
                assert_eq!(*hint, keys[i + RECORDS_AHEAD - 1], "line {i}");
            }
        }
        // With a buffer that holds them all, every line but the last few has its hint.
        let all = lines_hints(64 << 10);
        assert_eq!(
            all.iter().filter(|h| h.is_some()).count(),
            60 - (RECORDS_AHEAD - 1)
        );
    }

    #[test]
    fn the_hint_changes_no_record() {
        let input = b"{\"id\":\"a\"}\n\n{\"id\":\"b\",\"n\":2}\n{\"id\":\"a\"}\n";
        let shape = shape();
        let with = collect(|emit| decode_json(&mut &input[..], &shape, Some(0), usize::MAX, emit));
        let without = collect(|emit| decode_json(&mut &input[..], &shape, None, usize::MAX, emit));
        assert_eq!(with.0, without.0);
        assert_eq!(with.0.len(), 3);
    }

    fn rec(id: &str, n: Option<i64>) -> Datum<'_> {
        Datum::Record(vec![
            Datum::Str(id.into()),
            n.map(Datum::Long).unwrap_or(Datum::Null),
        ])
    }

    #[test]
    fn json_lines_skip_blanks_and_isolate_bad_lines() {
        let (out, stop) = run(b"{\"id\":\"a\",\"n\":1,\"zzz\":[1]}\n\n   \n{\"id\":\"b\",\"n\n{\"id\":\"c\"}\r\n[1]\n");
        assert!(stop.is_none());
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].1, Ok(rec("a", Some(1))));
        assert_eq!(out[1].0, Position::Line(4));
        assert_eq!(out[1].1.clone().unwrap_err().kind, RecordErrorKind::Parse);
        assert_eq!(out[1].2, "{\"id\":\"b\",\"n");
        assert_eq!(out[2].1, Ok(rec("c", None)));
        assert_eq!(out[3].1.clone().unwrap_err().kind, RecordErrorKind::Schema);
    }

    #[test]
    fn arrays_are_split_into_items() {
        let (out, stop) = run(b"\xEF\xBB\xBF [ {\"id\":\"a]}\\\"\"} , {\"id\":\"b\",\"n\":\"x\"},\n 7, {\"id\":\"c\",\"n\":[1,{\"q\":\"}\"}]} ] \n");
        assert!(stop.is_none());
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].1, Ok(rec("a]}\"", None)));
        assert_eq!(out[1].1.clone().unwrap_err().field.as_deref(), Some("n"));
        assert_eq!((out[2].0, out[2].2.as_str()), (Position::Item(2), "7"));
        assert_eq!(out[3].1.clone().unwrap_err().field.as_deref(), Some("n"));
    }

    #[test]
    fn records_past_the_bound_are_refused_and_the_rest_goes_on() {
        let shape = shape();
        let long = format!("{{\"id\":\"{}\"}}", "x".repeat(300_000));
        let input = format!("{{\"id\":\"a\"}}\n{long}\n{{\"id\":\"b\"}}\n");
        let mut bytes = input.as_bytes();
        let (out, stop) = collect(|emit| decode_json(&mut bytes, &shape, Some(0), 1000, emit));
        assert!(stop.is_none());
        assert_eq!(out.len(), 3);
        let err = out[1].1.clone().unwrap_err();
        assert!(
            err.message.contains("bound of 1000 bytes"),
            "{}",
            err.message
        );
        assert_eq!(out[1].2.len(), 1000);
        assert_eq!(out[2].1, Ok(rec("b", None)));

        let input = format!("[{{\"id\":\"a\"}}, {long}, {{\"id\":\"b\"}}]");
        let mut bytes = input.as_bytes();
        let (out, stop) = collect(|emit| decode_json(&mut bytes, &shape, Some(0), 1000, emit));
        assert!(stop.is_none());
        assert!(out[1].1.clone().unwrap_err().message.contains("bound"));
        assert_eq!(out[2].1, Ok(rec("b", None)));
    }

    #[test]
    fn a_broken_array_stops_with_a_reason() {
        let (out, stop) = run(b"[{\"id\":\"a\"} {\"id\":\"b\"}]");
        assert_eq!(out.len(), 1);
        assert!(matches!(stop, Some(Stop::Object(e)) if e.message.contains("expected `,` or `]`")));
        let (_, stop) = run(b"[{\"id\":\"a\"},");
        assert!(matches!(stop, Some(Stop::Object(_))));
        let (out, stop) = run(b"[]");
        assert!(out.is_empty() && stop.is_none());
        let (out, stop) = run(b"  \n");
        assert!(out.is_empty() && stop.is_none());
    }
}
