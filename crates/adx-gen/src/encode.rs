//! Streaming the generated records of a dataset into a file of any format and compression.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use serde_json::Value;

use crate::ids::{self, Tag};
use crate::records::{Expected, GenRecord, RecordValue, records_for};
use crate::{AvroCodec, Compression, Dataset, Format, GenConfig, GenError, spec};

/// How many records of each kind a file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Records that must be curated.
    pub good: u64,
    /// Records that must be quarantined.
    pub bad: u64,
    /// Records that must be dropped as duplicates.
    pub duplicates: u64,
    /// Bad records by [`crate::BadKind::name`].
    pub bad_by_kind: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts one more record.
    pub fn add(&mut self, expected: Expected) {
        match expected {
            Expected::Good => self.good += 1,
            Expected::Duplicate => self.duplicates += 1,
            Expected::Bad(kind) => {
                self.bad += 1;
                *self.bad_by_kind.entry(kind.name().to_string()).or_default() += 1;
            }
        }
    }

    /// All records counted.
    pub fn total(&self) -> u64 {
        self.good + self.bad + self.duplicates
    }
}

/// Streams the records of `dataset` (as [`crate::records_for`] gives them for `format`) into
/// `out`, wrapped in `compression`, and returns what was written. `schema_json` is the text of
/// `schemas/<dataset>.avsc`; it is only used for Avro. Nothing but the current record is held in
/// memory, and the same configuration always gives the same bytes.
pub fn encode<W: Write>(
    dataset: Dataset,
    format: Format,
    compression: Compression,
    cfg: &GenConfig,
    schema_json: &str,
    out: W,
) -> Result<Counts, GenError> {
    match compression {
        Compression::None => encode_plain(dataset, format, cfg, schema_json, out),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            let counts = encode_plain(dataset, format, cfg, schema_json, &mut gz)?;
            gz.finish()?;
            Ok(counts)
        }
        Compression::Zstd => {
            let mut zst = zstd::Encoder::new(out, 3)?;
            let counts = encode_plain(dataset, format, cfg, schema_json, &mut zst)?;
            zst.finish()?;
            Ok(counts)
        }
    }
}

fn encode_plain<W: Write>(
    dataset: Dataset,
    format: Format,
    cfg: &GenConfig,
    schema_json: &str,
    out: W,
) -> Result<Counts, GenError> {
    let mut counts = Counts::default();
    let records = records_for(dataset, &format, cfg).inspect(|r| counts.add(r.expected));
    match format {
        Format::Csv => write_csv(dataset, records, out)?,
        Format::JsonLines => write_json_lines(records, out)?,
        Format::JsonArray => write_json_array(records, out)?,
        Format::Avro(codec) => write_avro(dataset, codec, cfg, schema_json, records, out)?,
    }
    Ok(counts)
}

fn write_json_lines<W: Write>(
    records: impl Iterator<Item = GenRecord>,
    out: W,
) -> Result<(), GenError> {
    let mut w = BufWriter::new(out);
    for record in records {
        match record.value {
            RecordValue::Json(v) => serde_json::to_writer(&mut w, &v)?,
            RecordValue::Raw(text) => w.write_all(text.as_bytes())?,
        }
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn write_json_array<W: Write>(
    records: impl Iterator<Item = GenRecord>,
    out: W,
) -> Result<(), GenError> {
    let mut w = BufWriter::new(out);
    w.write_all(b"[")?;
    for (n, record) in records.enumerate() {
        w.write_all(if n == 0 { b"\n" } else { b",\n" })?;
        match record.value {
            RecordValue::Json(v) => serde_json::to_writer(&mut w, &v)?,
            RecordValue::Raw(text) => w.write_all(text.as_bytes())?,
        }
    }
    w.write_all(b"\n]\n")?;
    w.flush()?;
    Ok(())
}

/// The CSV cell of a JSON value: empty for null or absent, JSON text for nested values.
fn cell(value: Option<&Value>) -> Result<String, GenError> {
    Ok(match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => serde_json::to_string(v)?,
        Some(v) => v.to_string(),
    })
}

fn write_csv<W: Write>(
    dataset: Dataset,
    records: impl Iterator<Item = GenRecord>,
    out: W,
) -> Result<(), GenError> {
    let fields = spec::fields(dataset);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(BufWriter::new(out));
    w.write_record(fields.iter().map(|f| f.name))?;
    for record in records {
        match record.value {
            RecordValue::Json(v) => {
                let row = fields
                    .iter()
                    .map(|f| cell(v.get(f.name)))
                    .collect::<Result<Vec<_>, _>>()?;
                w.write_record(&row)?;
            }
            RecordValue::Raw(text) => w.write_record([text])?,
        }
    }
    w.flush()?;
    let mut inner = w.into_inner().map_err(|e| GenError::Io(e.into_error()))?;
    inner.flush()?;
    Ok(())
}

fn write_avro<W: Write>(
    dataset: Dataset,
    codec: AvroCodec,
    cfg: &GenConfig,
    schema_json: &str,
    records: impl Iterator<Item = GenRecord>,
    out: W,
) -> Result<(), GenError> {
    let schema = apache_avro::Schema::parse_str(schema_json)?;
    let marker = ids::bytes16(cfg.seed, Tag::Marker, dataset as u64);
    let mut out = WriteAll(BufWriter::new(out));
    out.write_all(&crate::avro::container_header(
        &schema,
        codec.to_avro(),
        &marker,
    )?)?;
    let mut writer = apache_avro::Writer::builder()
        .schema(&schema)
        .writer(out)
        .codec(codec.to_avro())
        .marker(marker)
        .has_header(true)
        .build()?;
    for record in records {
        let RecordValue::Json(v) = record.value else {
            return Err(GenError::Convert {
                field: String::new(),
                message: "raw text cannot be written as Avro".into(),
            });
        };
        writer.append_value(crate::avro::to_avro(dataset, &v)?)?;
    }
    let mut inner = writer.into_inner()?;
    inner.flush()?;
    Ok(())
}

/// Makes every `write` complete: apache_avro's writer does not retry short writes, and
/// compressing writers (gzip, zstd) may accept only part of a buffer.
struct WriteAll<W>(W);

impl<W: Write> Write for WriteAll<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
