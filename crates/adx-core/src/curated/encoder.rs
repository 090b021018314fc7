//! The Parquet half of the curated writer: it takes finished Arrow batches of an event-time
//! hour and turns them into part objects. It opens a part on an hour's first batch (named
//! after that batch's first lineage offset), sizes row groups by their uncompressed bytes,
//! keeps the row groups in progress across hours within a memory budget, rolls to a new part
//! at the size bound, and closes parts on demand. It runs on the caller's thread or on an
//! encoder thread of its own ([`crate::curated::CuratedWriter::piped`]); given the same
//! commands in the same order it writes the same bytes either way.

use crate::curated::arrow_schema::arrow_schema;
use crate::curated::dictionary_choice::{SMALL_DICTIONARY, choose_columns};
use crate::curated::limits::WriterLimits;
use crate::curated::lineage::{ARRIVAL_TIME_COLUMN, CONSTANT_LINEAGE_COLUMNS};
use crate::curated::metrics::column_metrics;
use crate::curated::part_writer::PartWriter;
use crate::error::IngestError;
use crate::model::dataset::Dataset;
use crate::model::shape::Kind;
use crate::naming::{PartNames, curated_key};
use crate::pending::PendingFile;
use crate::ports::{ObjectStore, ObjectWriter, PendingObject, StoreError};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::Arc;

/// Dictionary pages above this size make a column chunk fall back to plain encoding.
const DICTIONARY_PAGE_LIMIT: usize = 256 << 10;

/// Parts closed and still being completed by the store (their last bytes uploading) that the
/// encoder leaves behind while it goes on: a part closed past it waits for the oldest (so one
/// more is under way while it waits). Each holds at most its unsent bytes.
pub const MAX_COMPLETING_PARTS: usize = 2;

/// What the writer asks of the encoder.
pub enum Command {
    /// Append a batch of rows of an hour.
    Write {
        /// The hour (epoch millis of its start).
        hour: i64,
        /// Lineage offset of the batch's first row (names a part opened for it).
        first_offset: i64,
        /// The rows.
        batch: RecordBatch,
        /// Arrow bytes of the rows, for row group sizing.
        arrow_bytes: usize,
    },
    /// Close the hour's open part (its next rows start a new part).
    Close {
        /// The hour.
        hour: i64,
    },
}

struct OpenPart {
    key: String,
    writer: PartWriter<SinkWrite>,
    rows: u64,
    group: GroupSize,
}

/// The object being written, as the `Write` that Parquet encodes into: bytes go straight to
/// the store's writer (a file, or S3 upload parts) as each row group is flushed, with no copy
/// of the whole row group in between. A store failure is kept, so that it is reported as the
/// infrastructure fault it is rather than as a Parquet error.
struct SinkWrite {
    /// The store's writer; taken out to complete the object.
    sink: Option<Box<dyn ObjectWriter>>,
    bytes: u64,
    failure: Option<StoreError>,
}

impl Write for SinkWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let Some(sink) = self.sink.as_mut().filter(|_| self.failure.is_none()) else {
            return Err(std::io::Error::other(
                "the object store failed earlier, or the object is complete",
            ));
        };
        match sink.write(buf) {
            Ok(()) => {
                self.bytes += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let io = std::io::Error::other(e.to_string());
                self.failure = Some(e);
                Err(io)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Estimates the uncompressed Parquet size of the row group in progress from the Arrow bytes
/// handed to it, scaled by what earlier row groups of the source unit actually came to
/// (dictionary encoding makes Parquet's uncompressed size smaller than Arrow's; until a row
/// group has been flushed they are assumed equal, so the first one errs on the small side).
#[derive(Debug, Clone, Copy)]
struct GroupSize {
    /// Arrow bytes written into the row group in progress.
    arrow_bytes: usize,
    /// Parquet uncompressed bytes per Arrow byte, learnt from flushed row groups.
    ratio: f64,
    /// Row groups flushed so far (by us, by the row cap or by the buffer budget).
    flushed: usize,
}

impl GroupSize {
    /// A new part's sizing, starting from the ratio learnt so far.
    fn new(ratio: f64) -> Self {
        GroupSize {
            arrow_bytes: 0,
            ratio,
            flushed: 0,
        }
    }

    fn estimate(&self) -> f64 {
        self.arrow_bytes as f64 * self.ratio
    }

    /// Takes note of row groups the writer flushed since the last call.
    fn observe<W: Write + Send>(&mut self, writer: &PartWriter<W>) {
        let groups = writer.flushed_row_groups();
        if groups.len() > self.flushed {
            if let Some(last) = groups.last()
                && self.arrow_bytes > 0
                && last.total_byte_size() > 0
            {
                self.ratio = (last.total_byte_size() as f64 / self.arrow_bytes as f64).min(1.0);
            }
            self.flushed = groups.len();
            self.arrow_bytes = 0;
        }
    }
}

/// The columns of `dataset` whose dictionary is worth deciding from the data: flat fields
/// other than the key (which is never dictionary-encoded) and enums (whose few symbols always
/// make a small dictionary), and the arrival time.
fn dictionary_candidates(dataset: &Dataset) -> Vec<String> {
    dataset
        .shape
        .fields
        .iter()
        .enumerate()
        .filter(|(i, field)| {
            *i != dataset.key
                && matches!(
                    field.ty.kind,
                    Kind::Str
                        | Kind::Int
                        | Kind::Long
                        | Kind::Float
                        | Kind::Double
                        | Kind::TimestampMillis
                )
        })
        .map(|(_, field)| field.name.clone())
        .chain(std::iter::once(ARRIVAL_TIME_COLUMN.to_string()))
        .collect()
}

/// Top-level enum columns of `dataset` with at most [`SMALL_DICTIONARY`] symbols: always a
/// small dictionary, so always written uncompressed.
fn small_enum_columns(dataset: &Dataset) -> impl Iterator<Item = String> + '_ {
    dataset
        .shape
        .fields
        .iter()
        .filter_map(|field| match &field.ty.kind {
            Kind::Enum(e) if e.symbols.len() <= SMALL_DICTIONARY => Some(field.name.clone()),
            _ => None,
        })
}

/// The error of a failed Parquet call on `part`: the store's own, when writing to it failed.
fn part_err(part: &mut OpenPart) -> impl FnOnce(ParquetError) -> IngestError + '_ {
    move |source| match part.writer.inner_mut().failure.take() {
        Some(store) => IngestError::Store(store),
        None => IngestError::Parquet {
            key: part.key.clone(),
            source,
        },
    }
}

/// The Parquet writers of one dataset for one source unit.
pub struct PartEncoder<'a> {
    dataset: Arc<Dataset>,
    /// The Arrow schema of the dataset's curated Parquet, built once.
    schema: SchemaRef,
    store: &'a dyn ObjectStore,
    bucket: String,
    names: PartNames,
    limits: WriterLimits,
    props: WriterProperties,
    /// Columns whose dictionary is decided per part: flat, non-enum fields other than the key,
    /// and the arrival time.
    dictionary_candidates: Vec<String>,
    open: BTreeMap<i64, OpenPart>,
    /// Parquet uncompressed bytes per Arrow byte of the last row group flushed (1 until then).
    ratio: f64,
    /// The next part number of every hour seen.
    next_parts: BTreeMap<i64, u32>,
    /// Parts closed and being completed by the store, oldest first, with what the report and
    /// the pending manifest will say of each.
    completing: VecDeque<(Box<dyn PendingObject>, PendingFile)>,
    written: Vec<PendingFile>,
}

impl<'a> PartEncoder<'a> {
    /// An encoder whose objects are named by `names` (deterministic from the source).
    pub fn new(
        dataset: Arc<Dataset>,
        store: &'a dyn ObjectStore,
        bucket: &str,
        names: PartNames,
        limits: WriterLimits,
    ) -> Self {
        let level = ZstdLevel::try_new(limits.zstd_level).unwrap_or_default();
        // The key is unique within a source unit, and so is the lineage offset: a dictionary
        // for them is wasted work. Other columns are judged by each part's first rows
        // (`dictionary_choice`): near-unique or too varied ones are written plain from the
        // start, low-cardinality ones stay dictionary-encoded.
        let key_column = ColumnPath::from(dataset.shape.fields[dataset.key].name.as_str());
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(limits.row_group_rows))
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_LIMIT)
            .set_column_dictionary_enabled(key_column, false)
            .set_column_dictionary_enabled(ColumnPath::from("_offset"), false);
        for column in CONSTANT_LINEAGE_COLUMNS
            .into_iter()
            .map(String::from)
            .chain(small_enum_columns(&dataset))
        {
            props =
                props.set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
        }
        let dictionary_candidates = dictionary_candidates(&dataset);
        PartEncoder {
            dictionary_candidates,
            schema: arrow_schema(&dataset.shape, dataset.lineage_ids),
            dataset,
            store,
            bucket: bucket.to_string(),
            names,
            limits,
            props: props.build(),
            open: BTreeMap::new(),
            ratio: 1.0,
            next_parts: BTreeMap::new(),
            completing: VecDeque::new(),
            written: Vec::new(),
        }
    }

    /// The Arrow schema of the dataset's curated Parquet (its fields, then the lineage columns).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Carries out one command.
    pub fn handle(&mut self, command: Command) -> Result<(), IngestError> {
        match command {
            Command::Write {
                hour,
                first_offset,
                batch,
                arrow_bytes,
            } => {
                self.write(hour, first_offset, &batch, arrow_bytes)?;
                self.enforce_buffer_budget()
            }
            Command::Close { hour } => self.close_part(hour),
        }
    }

    fn write(
        &mut self,
        hour: i64,
        first_offset: i64,
        batch: &RecordBatch,
        arrow_bytes: usize,
    ) -> Result<(), IngestError> {
        if !self.open.contains_key(&hour) {
            let next = self.next_parts.entry(hour).or_insert(0);
            let key = curated_key(
                &self.dataset.name,
                hour,
                &self.names.part(*next, first_offset),
            );
            *next += 1;
            let sink = SinkWrite {
                sink: Some(self.store.create(&self.bucket, &key)?),
                bytes: 0,
                failure: None,
            };
            let writer = PartWriter::try_new(
                sink,
                self.schema.clone(),
                self.part_props(batch),
                self.limits.encode_workers,
            )
            .map_err(|source| IngestError::Parquet {
                key: key.clone(),
                source,
            })?;
            self.open.insert(
                hour,
                OpenPart {
                    key,
                    writer,
                    rows: 0,
                    group: GroupSize::new(self.ratio),
                },
            );
        }
        let Some(part) = self.open.get_mut(&hour) else {
            return Ok(());
        };
        if let Err(e) = part.writer.write(batch) {
            return Err(part_err(part)(e));
        }
        part.group.observe(&part.writer);
        part.group.arrow_bytes += arrow_bytes;
        if part.group.estimate() >= self.limits.row_group_bytes as f64 {
            if let Err(e) = part.writer.flush() {
                return Err(part_err(part)(e));
            }
            part.group.observe(&part.writer);
        }
        self.ratio = part.group.ratio;
        part.rows += batch.num_rows() as u64;
        if part.writer.bytes_written() + part.writer.in_progress_size() >= self.limits.part_bytes {
            self.close_part(hour)?;
        }
        Ok(())
    }

    /// The writer properties of a part that opens with `batch`: columns that the batch shows
    /// to be near-unique, or too varied for a dictionary page, are written plain; those that
    /// it shows to hold a handful of values are left uncompressed.
    fn part_props(&self, batch: &RecordBatch) -> WriterProperties {
        let choice = choose_columns(batch, &self.dictionary_candidates, DICTIONARY_PAGE_LIMIT);
        if choice.plain.is_empty() && choice.uncompressed.is_empty() {
            return self.props.clone();
        }
        let mut props = self.props.clone().into_builder();
        for column in choice.plain {
            props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
        }
        for column in choice.uncompressed {
            props =
                props.set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
        }
        props.build()
    }

    fn enforce_buffer_budget(&mut self) -> Result<(), IngestError> {
        loop {
            let mut total = 0;
            let mut largest: Option<(usize, i64)> = None;
            for (hour, part) in &self.open {
                let size = part.writer.memory_size();
                total += size;
                if largest.is_none_or(|(s, _)| size > s) {
                    largest = Some((size, *hour));
                }
            }
            match largest {
                Some((size, hour)) if total > self.limits.buffer_bytes && size > 0 => {
                    if let Some(part) = self.open.get_mut(&hour) {
                        if let Err(e) = part.writer.flush() {
                            return Err(part_err(part)(e));
                        }
                        part.group.observe(&part.writer);
                        self.ratio = part.group.ratio;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn close_part(&mut self, hour: i64) -> Result<(), IngestError> {
        let Some(mut part) = self.open.remove(&hour) else {
            return Ok(());
        };
        let metadata = match part.writer.finish() {
            Ok(metadata) => metadata,
            Err(e) => return Err(part_err(&mut part)(e)),
        };
        // The footer is written and flushed: the object can be completed.
        let sink = part.writer.inner_mut();
        let bytes = sink.bytes;
        let object = sink.sink.take().ok_or_else(|| IngestError::Parquet {
            key: part.key.clone(),
            source: ParquetError::General("the part was closed twice".into()),
        })?;
        // Completed in the background while the next parts are encoded, a bounded number at once.
        let written = PendingFile {
            bucket: self.bucket.clone(),
            columns: column_metrics(metadata.row_groups()),
            key: part.key,
            records: part.rows,
            bytes,
            hour_ms: hour,
        };
        self.completing
            .push_back((object.finish_in_background(), written));
        while self.completing.len() > MAX_COMPLETING_PARTS {
            self.settle_oldest()?;
        }
        Ok(())
    }

    /// Waits until the oldest part being completed is complete, and counts it as written.
    fn settle_oldest(&mut self) -> Result<(), IngestError> {
        if let Some((pending, written)) = self.completing.pop_front() {
            pending.wait()?;
            self.written.push(written);
        }
        Ok(())
    }

    /// Closes every open part, in hour order, and waits until all are complete; returns the
    /// objects written, in order, with their hours and column metrics.
    pub fn finish(mut self) -> Result<Vec<PendingFile>, IngestError> {
        let hours: Vec<i64> = self.open.keys().copied().collect();
        for hour in hours {
            self.close_part(hour)?;
        }
        while !self.completing.is_empty() {
            self.settle_oldest()?;
        }
        Ok(self.written)
    }
}
