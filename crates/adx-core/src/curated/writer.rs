//! Writes the curated Parquet of one source unit (an S3 object, a Kafka batch): one series of
//! part objects per event-time hour, with row groups flushed as they fill and a new part
//! started at a size bound, so memory is bounded by the batch, not by the input.

use crate::curated::columns::ColumnBuilder;
use crate::curated::lineage::Lineage;
use crate::dataset::Dataset;
use crate::datum::Datum;
use crate::error::IngestError;
use crate::naming::{PartNames, curated_key};
use crate::ports::{ObjectStore, ObjectWriter};
use crate::report::WrittenObject;
use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Size bounds of the curated writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterLimits {
    /// Rows gathered in builders before they are handed to the Parquet encoder.
    pub batch_rows: usize,
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// A part object is closed once it holds this many bytes.
    pub part_bytes: usize,
    /// Encoded-but-unflushed row group bytes allowed across all open hours; above it the
    /// largest row group is flushed early.
    pub buffer_bytes: usize,
    /// zstd level of the Parquet pages.
    pub zstd_level: i32,
    /// Event-time hours with a part open at once; past it the least recently used hour's part
    /// is closed (its later records start a new part), so a file spread over a year of hours
    /// still writes in bounded memory.
    pub max_open_hours: usize,
}

impl Default for WriterLimits {
    fn default() -> Self {
        WriterLimits {
            batch_rows: 8192,
            row_group_rows: 1 << 20,
            part_bytes: 128 << 20,
            buffer_bytes: 96 << 20,
            zstd_level: 1,
            max_open_hours: 24,
        }
    }
}

/// String bytes gathered in one hour's builders before they are flushed whatever the row
/// count (Arrow string offsets are 32-bit: a batch must stay well under 2 GiB).
const MAX_BATCH_VALUE_BYTES: usize = 64 << 20;
/// Rows between two checks of [`MAX_BATCH_VALUE_BYTES`].
const VALUE_BYTES_CHECK_EVERY: usize = 64;

/// Dictionary pages above this size make a column chunk fall back to plain encoding.
const DICTIONARY_PAGE_LIMIT: usize = 256 << 10;

struct LineageBuilders {
    source: StringBuilder,
    version: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    arrival: TimestampMillisecondBuilder,
}

impl LineageBuilders {
    fn new() -> Self {
        LineageBuilders {
            source: StringBuilder::new(),
            version: StringBuilder::new(),
            partition: Int32Builder::new(),
            offset: Int64Builder::new(),
            arrival: TimestampMillisecondBuilder::new().with_timezone("UTC"),
        }
    }

    fn append(&mut self, l: &Lineage<'_>) {
        self.source.append_value(l.source);
        self.version.append_option(l.version);
        self.partition.append_option(l.partition);
        self.offset.append_value(l.offset);
        self.arrival.append_value(l.arrival_ms);
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.source.finish()));
        out.push(Arc::new(self.version.finish()));
        out.push(Arc::new(self.partition.finish()));
        out.push(Arc::new(self.offset.finish()));
        out.push(Arc::new(self.arrival.finish()));
    }
}

struct OpenPart {
    key: String,
    writer: ArrowWriter<Vec<u8>>,
    sink: Box<dyn ObjectWriter>,
    rows: u64,
    bytes: u64,
}

struct HourWriter {
    columns: Vec<ColumnBuilder>,
    lineage: LineageBuilders,
    rows: usize,
    next_part: u32,
    /// Lineage offset of the first row not yet in a part object.
    first_offset: i64,
    /// When a record last arrived for this hour (a counter of pushes).
    last_used: u64,
    open: Option<OpenPart>,
}

/// The curated writer of one dataset for one source unit.
pub struct CuratedWriter<'a> {
    dataset: Arc<Dataset>,
    store: &'a dyn ObjectStore,
    bucket: String,
    names: PartNames,
    limits: WriterLimits,
    props: WriterProperties,
    /// Open hours.
    hours: BTreeMap<i64, HourWriter>,
    /// The next part number of hours closed early.
    next_parts: BTreeMap<i64, u32>,
    pushes: u64,
    written: Vec<WrittenObject>,
}

fn parquet_err(key: &str) -> impl FnOnce(ParquetError) -> IngestError + '_ {
    move |source| IngestError::Parquet {
        key: key.to_string(),
        source,
    }
}

impl<'a> CuratedWriter<'a> {
    /// A writer whose objects are named by `names` (deterministic from the source).
    pub fn new(
        dataset: Arc<Dataset>,
        store: &'a dyn ObjectStore,
        bucket: &str,
        names: PartNames,
        limits: WriterLimits,
    ) -> Self {
        let level = ZstdLevel::try_new(limits.zstd_level).unwrap_or_default();
        // The key is unique within a source unit: a dictionary for it is wasted work. Other
        // high-cardinality strings fall back to plain encoding once their dictionary passes
        // the (lowered) page limit; low-cardinality ones stay dictionary-encoded.
        let key_column = ColumnPath::from(dataset.shape.fields[dataset.key].name.as_str());
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(limits.row_group_rows))
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_LIMIT)
            .set_column_dictionary_enabled(key_column, false)
            .build();
        CuratedWriter {
            dataset,
            store,
            bucket: bucket.to_string(),
            names,
            limits,
            props,
            hours: BTreeMap::new(),
            next_parts: BTreeMap::new(),
            pushes: 0,
            written: Vec::new(),
        }
    }

    /// Adds a valid record (a `Datum::Record` of the dataset's shape).
    pub fn push(&mut self, record: &Datum, lineage: &Lineage<'_>) -> Result<(), IngestError> {
        let event_ms = self.dataset.event_time_of(record).unwrap_or(0);
        let hour = event_ms.div_euclid(3_600_000) * 3_600_000;
        if !self.hours.contains_key(&hour) && self.hours.len() >= self.limits.max_open_hours.max(1)
        {
            self.close_least_recent()?;
        }
        self.pushes += 1;
        let shape = &self.dataset.shape;
        let next_part = self.next_parts.get(&hour).copied().unwrap_or(0);
        let hw = self.hours.entry(hour).or_insert_with(|| HourWriter {
            columns: shape
                .fields
                .iter()
                .map(|f| ColumnBuilder::new(&f.ty))
                .collect(),
            lineage: LineageBuilders::new(),
            rows: 0,
            next_part,
            first_offset: lineage.offset,
            last_used: 0,
            open: None,
        });
        hw.last_used = self.pushes;
        if hw.open.is_none() && hw.rows == 0 {
            hw.first_offset = lineage.offset;
        }
        if let Datum::Record(values) = record {
            for (column, value) in hw.columns.iter_mut().zip(values) {
                column.append(value);
            }
        }
        hw.lineage.append(lineage);
        hw.rows += 1;
        let full = hw.rows >= self.limits.batch_rows
            || (hw.rows.is_multiple_of(VALUE_BYTES_CHECK_EVERY)
                && hw
                    .columns
                    .iter()
                    .map(ColumnBuilder::value_bytes)
                    .sum::<usize>()
                    > MAX_BATCH_VALUE_BYTES);
        if full {
            self.flush_batch(hour)?;
            self.enforce_buffer_budget()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self, hour: i64) -> Result<(), IngestError> {
        let Some(hw) = self.hours.get_mut(&hour) else {
            return Ok(());
        };
        if hw.rows == 0 {
            return Ok(());
        }
        if hw.open.is_none() {
            let key = curated_key(
                &self.dataset.name,
                hour,
                &self.names.part(hw.next_part, hw.first_offset),
            );
            hw.next_part += 1;
            let writer = ArrowWriter::try_new(
                Vec::new(),
                self.dataset.arrow_schema.clone(),
                Some(self.props.clone()),
            )
            .map_err(parquet_err(&key))?;
            let sink = self.store.create(&self.bucket, &key)?;
            hw.open = Some(OpenPart {
                key,
                writer,
                sink,
                rows: 0,
                bytes: 0,
            });
        }
        let Some(part) = hw.open.as_mut() else {
            return Ok(());
        };
        let mut arrays = Vec::with_capacity(hw.columns.len() + 5);
        for column in hw.columns.iter_mut() {
            arrays.push(
                column
                    .finish()
                    .map_err(|e| parquet_err(&part.key)(e.into()))?,
            );
        }
        hw.lineage.finish(&mut arrays);
        let batch = RecordBatch::try_new(self.dataset.arrow_schema.clone(), arrays)
            .map_err(|e| parquet_err(&part.key)(e.into()))?;
        part.writer.write(&batch).map_err(parquet_err(&part.key))?;
        part.rows += hw.rows as u64;
        hw.rows = 0;
        drain(part)?;
        if part.writer.bytes_written() + part.writer.in_progress_size() >= self.limits.part_bytes {
            self.close_part(hour)?;
        }
        Ok(())
    }

    fn enforce_buffer_budget(&mut self) -> Result<(), IngestError> {
        loop {
            let mut total = 0;
            let mut largest: Option<(usize, i64)> = None;
            for (hour, hw) in &self.hours {
                if let Some(part) = &hw.open {
                    let size = part.writer.in_progress_size();
                    total += size;
                    if largest.is_none_or(|(s, _)| size > s) {
                        largest = Some((size, *hour));
                    }
                }
            }
            match largest {
                Some((size, hour)) if total > self.limits.buffer_bytes && size > 0 => {
                    if let Some(part) = self.hours.get_mut(&hour).and_then(|hw| hw.open.as_mut()) {
                        part.writer.flush().map_err(parquet_err(&part.key))?;
                        drain(part)?;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn close_part(&mut self, hour: i64) -> Result<(), IngestError> {
        let Some(mut part) = self.hours.get_mut(&hour).and_then(|hw| hw.open.take()) else {
            return Ok(());
        };
        part.writer.finish().map_err(parquet_err(&part.key))?;
        drain(&mut part)?;
        part.sink.finish()?;
        self.written.push(WrittenObject {
            kind: "curated",
            bucket: self.bucket.clone(),
            key: part.key,
            records: part.rows,
            bytes: part.bytes,
        });
        Ok(())
    }

    /// Closes the part of the hour that least recently received a record, and forgets its
    /// builders (remembering only its next part number).
    fn close_least_recent(&mut self) -> Result<(), IngestError> {
        let Some(hour) = self
            .hours
            .iter()
            .min_by_key(|(_, hw)| hw.last_used)
            .map(|(h, _)| *h)
        else {
            return Ok(());
        };
        self.flush_batch(hour)?;
        self.close_part(hour)?;
        if let Some(hw) = self.hours.remove(&hour) {
            self.next_parts.insert(hour, hw.next_part);
        }
        Ok(())
    }

    /// Flushes and closes every part; returns the objects written, in order.
    pub fn finish(mut self) -> Result<Vec<WrittenObject>, IngestError> {
        let hours: Vec<i64> = self.hours.keys().copied().collect();
        for hour in hours {
            self.flush_batch(hour)?;
            self.close_part(hour)?;
        }
        Ok(self.written)
    }
}

/// Capacity kept in an hour's encode buffer between flushes (reused, so pages are not faulted
/// in again for every row group; anything larger is given back).
const KEPT_BUFFER_BYTES: usize = 8 << 20;

fn drain(part: &mut OpenPart) -> Result<(), IngestError> {
    let buffer = part.writer.inner_mut();
    if !buffer.is_empty() {
        part.sink.write(buffer)?;
        part.bytes += buffer.len() as u64;
        buffer.clear();
        buffer.shrink_to(KEPT_BUFFER_BYTES);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{RegisteredSchema, StoreError};
    use std::collections::HashMap;
    use std::io::Read;
    use std::sync::Mutex;

    /// An in-memory store that counts the objects being written at once.
    #[derive(Default)]
    struct MemoryStore {
        objects: Mutex<HashMap<String, Vec<u8>>>,
        open: Mutex<(usize, usize)>,
    }

    struct MemoryWriter<'a> {
        store: &'a MemoryStore,
        key: String,
        bytes: Vec<u8>,
    }

    impl ObjectWriter for MemoryWriter<'static> {
        fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
            self.bytes.extend_from_slice(bytes);
            Ok(())
        }

        fn finish(self: Box<Self>) -> Result<(), StoreError> {
            self.store.open.lock().unwrap().0 -= 1;
            self.store
                .objects
                .lock()
                .unwrap()
                .insert(self.key.clone(), self.bytes.clone());
            Ok(())
        }
    }

    impl ObjectStore for &'static MemoryStore {
        fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
            Err(StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            })
        }

        fn create(&self, _bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
            let mut open = self.open.lock().unwrap();
            open.0 += 1;
            open.1 = open.1.max(open.0);
            Ok(Box::new(MemoryWriter {
                store: self,
                key: key.to_string(),
                bytes: Vec::new(),
            }))
        }
    }

    fn clicks() -> Arc<Dataset> {
        Arc::new(
            Dataset::from_registered(&RegisteredSchema {
                name: "click_conversions".into(),
                version_id: "v".into(),
                version_number: 1,
                data_format: "AVRO".into(),
                definition: include_str!("../../../../schemas/click_conversions.avsc").into(),
            })
            .unwrap(),
        )
    }

    fn click(dataset: &Dataset, id: &str, event_ms: i64) -> Datum {
        crate::convert::json::json_to_record(
            &serde_json::json!({"event_id": id, "event_type": "CLICK", "event_time": event_ms, "campaign_id": "c"}),
            &dataset.shape,
        )
        .unwrap()
    }

    #[test]
    fn parts_roll_at_the_size_bound_and_hold_every_row() {
        let store: &'static MemoryStore = Box::leak(Box::default());
        let dataset = clicks();
        let limits = WriterLimits {
            batch_rows: 100,
            part_bytes: 8 << 10,
            ..WriterLimits::default()
        };
        let mut writer = CuratedWriter::new(
            dataset.clone(),
            &store,
            "curated",
            PartNames::Object { base: "f".into() },
            limits,
        );
        for i in 0..5000 {
            let lineage = Lineage {
                source: "s",
                version: None,
                partition: None,
                offset: i,
                arrival_ms: 0,
            };
            writer
                .push(
                    &click(&dataset, &format!("e-{i}"), 946_684_800_000),
                    &lineage,
                )
                .unwrap();
        }
        let written = writer.finish().unwrap();
        assert!(written.len() > 3, "{} parts", written.len());
        assert_eq!(written.iter().map(|o| o.records).sum::<u64>(), 5000);
        for (n, object) in written.iter().enumerate() {
            assert!(
                object.key.ends_with(&format!("/f-{n:04}.parquet")),
                "{}",
                object.key
            );
            let bytes = store.objects.lock().unwrap()[&object.key].clone();
            assert_eq!(bytes.len() as u64, object.bytes);
            assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        }
    }

    #[test]
    fn a_file_spread_over_many_hours_keeps_few_parts_open() {
        let store: &'static MemoryStore = Box::leak(Box::default());
        let dataset = clicks();
        let limits = WriterLimits {
            batch_rows: 16,
            max_open_hours: 4,
            ..WriterLimits::default()
        };
        let mut writer = CuratedWriter::new(
            dataset.clone(),
            &store,
            "curated",
            PartNames::Object { base: "f".into() },
            limits,
        );
        let hour = 3_600_000i64;
        // 100 hours, visited in two rounds, 10 records per hour per round.
        for round in 0..2 {
            for h in 0..100 {
                for i in 0..10 {
                    let record = click(
                        &dataset,
                        &format!("e-{round}-{h}-{i}"),
                        946_684_800_000i64 + h * hour,
                    );
                    let lineage = Lineage {
                        source: "s",
                        version: None,
                        partition: None,
                        offset: i,
                        arrival_ms: 0,
                    };
                    writer.push(&record, &lineage).unwrap();
                }
            }
        }
        let written = writer.finish().unwrap();
        assert_eq!(written.iter().map(|o| o.records).sum::<u64>(), 2000);
        assert!(
            store.open.lock().unwrap().1 <= 4,
            "at most 4 parts open at once"
        );
        assert_eq!(
            written.len(),
            200,
            "each hour closed after its first round starts a second part"
        );
        assert!(written.iter().any(|o| o.key.ends_with("/f-0001.parquet")));
    }
}
