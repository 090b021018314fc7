//! Writes the curated Parquet of one source unit (an S3 object, a Kafka batch): one series of
//! part objects per event-time hour, with row groups flushed as they fill and a new part
//! started at a size bound, so memory is bounded by the batch, not by the input.
//!
//! This half gathers valid records into Arrow builders per hour and hands each full batch to
//! the [`PartEncoder`], which does the Parquet work: on this thread ([`CuratedWriter::new`]),
//! or on an encoder thread of its own ([`CuratedWriter::piped`]) so that decoding and
//! encoding run on two cores at once.

use crate::curated::columns::ColumnBuilder;
use crate::curated::encoder::{Command, PartEncoder};
use crate::curated::limits::WriterLimits;
use crate::curated::lineage::Lineage;
use crate::error::IngestError;
use crate::model::dataset::Dataset;
use crate::model::datum::Datum;
use crate::naming::PartNames;
use crate::pending::PendingFile;
use crate::ports::ObjectStore;
use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// String bytes gathered in one hour's builders before they are flushed whatever the row
/// count (Arrow string offsets are 32-bit: a batch must stay well under 2 GiB).
const MAX_BATCH_VALUE_BYTES: usize = 64 << 20;
/// Rows between two checks of [`MAX_BATCH_VALUE_BYTES`].
const VALUE_BYTES_CHECK_EVERY: usize = 64;

/// Batches on their way to the encoder thread: enough to ride out a slow page, few enough
/// that memory stays bounded (each is at most `batch_rows` rows).
const PIPE_BATCHES: usize = 2;

struct LineageBuilders {
    source: StringBuilder,
    version: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    arrival: TimestampMicrosecondBuilder,
}

impl LineageBuilders {
    fn new() -> Self {
        LineageBuilders {
            source: StringBuilder::new(),
            version: StringBuilder::new(),
            partition: Int32Builder::new(),
            offset: Int64Builder::new(),
            arrival: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        }
    }

    fn append(&mut self, l: &Lineage<'_>) {
        self.source.append_value(l.source);
        self.version.append_option(l.version);
        self.partition.append_option(l.partition);
        self.offset.append_value(l.offset);
        self.arrival
            .append_value(super::columns::millis_to_micros(l.arrival_ms));
    }

    fn value_bytes(&self) -> usize {
        self.source.values_slice().len() + self.version.values_slice().len()
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.source.finish()));
        out.push(Arc::new(self.version.finish()));
        out.push(Arc::new(self.partition.finish()));
        out.push(Arc::new(self.offset.finish()));
        out.push(Arc::new(self.arrival.finish()));
    }
}

struct HourBuilders {
    columns: Vec<ColumnBuilder>,
    lineage: LineageBuilders,
    rows: usize,
    /// Lineage offset of the first row in the builders.
    first_offset: i64,
    /// When a record last arrived for this hour (a counter of pushes).
    last_used: u64,
}

/// What the encoder thread answers once it has stopped.
type EncoderResult = Result<Vec<PendingFile>, IngestError>;

/// Where full batches go.
enum Encoder<'a> {
    /// Encoded on the caller's thread.
    Inline(Box<PartEncoder<'a>>),
    /// Sent to an encoder thread; its answer arrives on `done` after [`Message::Finish`].
    Piped {
        tx: Option<SyncSender<Message>>,
        done: Receiver<EncoderResult>,
    },
}

/// What goes down the pipe to the encoder thread.
enum Message {
    /// A command to carry out.
    Command(Command),
    /// Close every part and answer. Without it (the writer dropped on a failure) nothing more
    /// is finished: the parts in progress, and those closed whose completion was still under
    /// way, are abandoned, as on the caller's thread.
    Finish,
}

/// The encoder thread's side of a piped writer: run it on a thread of its own.
pub struct EncoderThread<'a> {
    encoder: PartEncoder<'a>,
    rx: Receiver<Message>,
    done: SyncSender<EncoderResult>,
}

impl EncoderThread<'_> {
    /// Carries out commands until the writer finishes (or drops) its side, or one fails;
    /// then sends the answer.
    pub fn run(mut self) {
        let answer = loop {
            match self.rx.recv() {
                Ok(Message::Command(command)) => {
                    if let Err(e) = self.encoder.handle(command) {
                        break Err(e);
                    }
                }
                Ok(Message::Finish) => break self.encoder.finish(),
                // The writer was dropped without finishing: abandon the parts.
                Err(_) => return,
            }
        };
        // The writer may be gone by now (its own failure): then nobody is left to tell.
        let _ = self.done.send(answer);
    }
}

/// The curated writer of one dataset for one source unit.
pub struct CuratedWriter<'a> {
    dataset: Arc<Dataset>,
    /// The Arrow schema of the dataset's curated Parquet (the encoder's).
    schema: SchemaRef,
    limits: WriterLimits,
    /// Open hours.
    hours: BTreeMap<i64, HourBuilders>,
    pushes: u64,
    /// Arrow bytes of a row's fixed-width values (strings are counted as they are gathered).
    fixed_row_bytes: usize,
    encoder: Encoder<'a>,
    /// The store and bucket the parts go to (where their pending manifest goes too).
    store: &'a dyn ObjectStore,
    bucket: String,
}

/// Arrow bytes of one row's fixed-width values (and string offsets), nested columns included.
fn fixed_row_bytes(schema: &arrow_schema::Schema) -> usize {
    fn width(t: &DataType) -> usize {
        match t {
            DataType::Boolean => 1,
            DataType::Struct(fields) => fields.iter().map(|f| width(f.data_type())).sum(),
            // One offset per row; items are counted as if there were one per row.
            DataType::List(item) => 4 + width(item.data_type()),
            other => other.primitive_width().unwrap_or(4),
        }
    }
    schema.fields().iter().map(|f| width(f.data_type())).sum()
}

impl<'a> CuratedWriter<'a> {
    /// A writer that encodes on the caller's thread, whose objects are named by `names`
    /// (deterministic from the source).
    pub fn new(
        dataset: Arc<Dataset>,
        store: &'a dyn ObjectStore,
        bucket: &str,
        names: PartNames,
        limits: WriterLimits,
    ) -> Self {
        let encoder = PartEncoder::new(dataset.clone(), store, bucket, names, limits);
        let schema = encoder.schema().clone();
        Self::with_encoder(
            dataset,
            schema,
            limits,
            Encoder::Inline(Box::new(encoder)),
            (store, bucket),
        )
    }

    /// A writer whose Parquet encoding runs on another thread: run the returned
    /// [`EncoderThread`] there (a scoped thread). Same objects, byte for byte, as [`Self::new`].
    pub fn piped(
        dataset: Arc<Dataset>,
        store: &'a dyn ObjectStore,
        bucket: &str,
        names: PartNames,
        limits: WriterLimits,
    ) -> (Self, EncoderThread<'a>) {
        let encoder = PartEncoder::new(dataset.clone(), store, bucket, names, limits);
        let (tx, rx) = sync_channel(PIPE_BATCHES);
        let (done_tx, done) = sync_channel(1);
        let schema = encoder.schema().clone();
        let writer = Self::with_encoder(
            dataset,
            schema,
            limits,
            Encoder::Piped { tx: Some(tx), done },
            (store, bucket),
        );
        let thread = EncoderThread {
            encoder,
            rx,
            done: done_tx,
        };
        (writer, thread)
    }

    fn with_encoder(
        dataset: Arc<Dataset>,
        schema: SchemaRef,
        limits: WriterLimits,
        encoder: Encoder<'a>,
        (store, bucket): (&'a dyn ObjectStore, &str),
    ) -> Self {
        CuratedWriter {
            store,
            bucket: bucket.to_string(),
            fixed_row_bytes: fixed_row_bytes(&schema),
            dataset,
            schema,
            limits,
            hours: BTreeMap::new(),
            pushes: 0,
            encoder,
        }
    }

    /// The store and bucket the parts are written to.
    pub fn target(&self) -> (&'a dyn ObjectStore, &str) {
        (self.store, &self.bucket)
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
        let schema = &self.schema;
        let hw = self.hours.entry(hour).or_insert_with(|| HourBuilders {
            columns: shape
                .fields
                .iter()
                .zip(schema.fields().iter())
                .map(|(f, arrow)| ColumnBuilder::new(&f.ty, arrow.data_type()))
                .collect(),
            lineage: LineageBuilders::new(),
            rows: 0,
            first_offset: lineage.offset,
            last_used: 0,
        });
        hw.last_used = self.pushes;
        if hw.rows == 0 {
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
        }
        Ok(())
    }

    /// Hands the hour's gathered rows to the encoder as one batch.
    fn flush_batch(&mut self, hour: i64) -> Result<(), IngestError> {
        let Some(hw) = self.hours.get_mut(&hour) else {
            return Ok(());
        };
        if hw.rows == 0 {
            return Ok(());
        }
        let arrow_bytes = hw.rows * self.fixed_row_bytes
            + hw.columns
                .iter()
                .map(ColumnBuilder::value_bytes)
                .sum::<usize>()
            + hw.lineage.value_bytes();
        let mut arrays = Vec::with_capacity(hw.columns.len() + 5);
        let batch_err = |e: arrow_schema::ArrowError| IngestError::Parquet {
            key: format!("{} hour {hour}", self.dataset.name),
            source: e.into(),
        };
        for column in hw.columns.iter_mut() {
            arrays.push(column.finish().map_err(batch_err)?);
        }
        hw.lineage.finish(&mut arrays);
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(batch_err)?;
        let command = Command::Write {
            hour,
            first_offset: hw.first_offset,
            batch,
            arrow_bytes,
        };
        hw.rows = 0;
        self.send(command)
    }

    fn send(&mut self, command: Command) -> Result<(), IngestError> {
        match &mut self.encoder {
            Encoder::Inline(encoder) => encoder.handle(command),
            Encoder::Piped { tx, done } => {
                let sent = tx
                    .as_ref()
                    .map(|tx| tx.send(Message::Command(command)).is_ok());
                if sent == Some(true) {
                    return Ok(());
                }
                // The encoder stopped: its answer says why.
                tx.take();
                Err(match done.recv() {
                    Ok(Err(e)) => e,
                    _ => encoder_gone(&self.dataset.name),
                })
            }
        }
    }

    /// Closes the part of the hour that least recently received a record, and forgets its
    /// builders (the encoder remembers its next part number).
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
        self.send(Command::Close { hour })?;
        self.hours.remove(&hour);
        Ok(())
    }

    /// Flushes and closes every part; returns the objects written, in order, with their hours
    /// and column metrics.
    pub fn finish(mut self) -> Result<Vec<PendingFile>, IngestError> {
        let hours: Vec<i64> = self.hours.keys().copied().collect();
        for hour in hours {
            self.flush_batch(hour)?;
            self.send(Command::Close { hour })?;
        }
        match self.encoder {
            Encoder::Inline(encoder) => (*encoder).finish(),
            Encoder::Piped { tx, done } => {
                if let Some(tx) = tx {
                    // A failed send means the encoder stopped early: its answer (an error)
                    // is waiting all the same.
                    let _ = tx.send(Message::Finish);
                }
                done.recv()
                    .unwrap_or_else(|_| Err(encoder_gone(&self.dataset.name)))
            }
        }
    }
}

/// The error of an encoder thread that stopped without an answer (it panicked).
fn encoder_gone(dataset: &str) -> IngestError {
    IngestError::Parquet {
        key: dataset.to_string(),
        source: parquet::errors::ParquetError::General(
            "the encoder thread stopped without an answer".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curated::encoder::MAX_COMPLETING_PARTS;
    use crate::test_support::{MemoryStore, dataset};

    /// The lineage of a record of `source` at `offset`.
    fn at(source: &str, offset: i64) -> Lineage<'_> {
        Lineage {
            source,
            version: None,
            partition: None,
            offset,
            arrival_ms: 0,
        }
    }

    fn clicks() -> Arc<Dataset> {
        dataset("click_conversions")
    }

    fn click(dataset: &Dataset, id: &str, event_ms: i64) -> Datum<'static> {
        crate::convert::json::json_to_record(
            &serde_json::json!({"event_id": id, "event_type": "CLICK", "event_time": event_ms, "campaign_id": "c"}),
            &dataset.shape,
        )
        .unwrap()
    }

    #[test]
    fn parts_roll_at_the_size_bound_and_hold_every_row() {
        let store = MemoryStore::new();
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
            let lineage = at("s", i);
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
            let bytes = store.object("curated", &object.key).unwrap();
            assert_eq!(bytes.len() as u64, object.bytes);
            assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        }
    }

    /// A writer of small batches with at most 4 hours open at once.
    fn hourly_writer<'a>(store: &'a MemoryStore, dataset: &Arc<Dataset>) -> CuratedWriter<'a> {
        let limits = WriterLimits {
            batch_rows: 16,
            max_open_hours: 4,
            ..WriterLimits::default()
        };
        CuratedWriter::new(
            dataset.clone(),
            store,
            "curated",
            PartNames::Object { base: "f".into() },
            limits,
        )
    }

    #[test]
    fn a_file_spread_over_many_hours_keeps_few_parts_open() {
        let store = MemoryStore::new();
        let dataset = clicks();
        let mut writer = hourly_writer(&store, &dataset);
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
                    let lineage = at("s", i);
                    writer.push(&record, &lineage).unwrap();
                }
            }
        }
        let written = writer.finish().unwrap();
        assert_eq!(written.iter().map(|o| o.records).sum::<u64>(), 2000);
        assert!(store.most_open() <= 4, "at most 4 parts open at once");
        assert_eq!(
            written.len(),
            200,
            "each hour closed after its first round starts a second part"
        );
        assert!(written.iter().any(|o| o.key.ends_with("/f-0001.parquet")));
    }

    #[test]
    fn parts_complete_in_the_background_a_few_at_once_and_finish_waits_for_them_in_order() {
        for fail in [false, true] {
            let store = MemoryStore::deferring(fail);
            let dataset = clicks();
            let mut writer = hourly_writer(&store, &dataset);
            // 30 hours, 10 records each: the first 26 close as later hours open, the last 4
            // at the end. A failed completion fails the push that waits for it, or the finish.
            let mut pushed = Ok(());
            'hours: for h in 0..30 {
                for i in 0..10 {
                    let record = click(
                        &dataset,
                        &format!("e-{h}-{i}"),
                        946_684_800_000i64 + h * 3_600_000,
                    );
                    pushed = writer.push(&record, &at("s", h * 10 + i));
                    if pushed.is_err() {
                        break 'hours;
                    }
                }
            }
            let finished = pushed.and_then(|()| writer.finish());
            let completing = store.completing();
            if fail {
                let error = finished.expect_err("a completion that fails fails the writer");
                assert!(error.to_string().contains("refused"), "{error}");
                // The first failure stops the waiting.
                assert_eq!(store.completed().len(), 1);
                continue;
            }
            let written = finished.unwrap();
            assert_eq!(written.len(), 30);
            assert_eq!(
                completing,
                (0, MAX_COMPLETING_PARTS + 1),
                "every completion waited for; at most {MAX_COMPLETING_PARTS} left pending while encoding"
            );
            let keys: Vec<String> = written.iter().map(|o| o.key.clone()).collect();
            assert_eq!(
                store.completed(),
                keys,
                "the report lists the parts in the order they were waited for"
            );
            let objects = store.objects("curated");
            assert!(
                keys.iter().all(|k| objects.contains_key(k)),
                "every part complete"
            );
        }
    }

    /// Pushes 3,000 clicks over 5 hours, interleaved, with bounds small enough that parts
    /// roll, row groups close early and hours are closed and reopened.
    fn push_interleaved(writer: &mut CuratedWriter<'_>, dataset: &Dataset) {
        for i in 0..3000i64 {
            let record = click(
                dataset,
                &format!("e-{i}"),
                946_684_800_000 + (i % 5) * 3_600_000,
            );
            let lineage = at("s", i);
            writer.push(&record, &lineage).unwrap();
        }
    }

    fn small_limits() -> WriterLimits {
        WriterLimits {
            batch_rows: 64,
            part_bytes: 16 << 10,
            row_group_bytes: 4 << 10,
            max_open_hours: 3,
            ..WriterLimits::default()
        }
    }

    #[test]
    fn the_encoder_thread_and_its_workers_write_the_same_bytes_as_the_caller_thread() {
        let dataset = clicks();
        let inline = MemoryStore::new();
        let mut writer = CuratedWriter::new(
            dataset.clone(),
            &inline,
            "curated",
            PartNames::Object { base: "f".into() },
            small_limits(),
        );
        push_interleaved(&mut writer, &dataset);
        let written_inline = writer.finish().unwrap();

        let piped = MemoryStore::new();
        let piped_ref = &piped;
        let written_piped = std::thread::scope(|scope| {
            let (mut writer, encoder) = CuratedWriter::piped(
                dataset.clone(),
                piped_ref,
                "curated",
                PartNames::Object { base: "f".into() },
                WriterLimits {
                    encode_workers: 3,
                    ..small_limits()
                },
            );
            scope.spawn(move || encoder.run());
            push_interleaved(&mut writer, &dataset);
            writer.finish().unwrap()
        });
        assert!(written_inline.len() > 5, "{} parts", written_inline.len());
        assert_eq!(written_inline, written_piped);
        assert_eq!(inline.objects("curated"), piped.objects("curated"));
    }

    #[test]
    fn a_piped_writer_dropped_without_finishing_completes_no_object() {
        let dataset = clicks();
        let store = MemoryStore::new();
        let store_ref = &store;
        std::thread::scope(|scope| {
            let (mut writer, encoder) = CuratedWriter::piped(
                dataset.clone(),
                store_ref,
                "curated",
                PartNames::Object { base: "f".into() },
                WriterLimits {
                    part_bytes: usize::MAX,
                    max_open_hours: 24,
                    ..small_limits()
                },
            );
            scope.spawn(move || encoder.run());
            push_interleaved(&mut writer, &dataset);
            drop(writer);
        });
        assert!(store.objects("curated").is_empty());
    }

    #[test]
    fn row_groups_close_near_the_uncompressed_size_target() {
        let dataset = clicks();
        let store = MemoryStore::new();
        let target = 256 << 10;
        let mut writer = CuratedWriter::new(
            dataset.clone(),
            &store,
            "curated",
            PartNames::Object { base: "f".into() },
            WriterLimits {
                batch_rows: 256,
                row_group_bytes: target,
                ..WriterLimits::default()
            },
        );
        for i in 0..40_000i64 {
            let record = click(&dataset, &format!("event-{i:08}"), 946_684_800_000);
            let lineage = at("s3://landing/clicks/a-rather-long-object-key.csv", i);
            writer.push(&record, &lineage).unwrap();
        }
        let written = writer.finish().unwrap();
        assert_eq!(written.len(), 1);
        let bytes = store.object("curated", &written[0].key).unwrap();
        let reader =
            parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        use parquet::file::reader::FileReader;
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.total_byte_size())
            .collect();
        assert!(groups.len() >= 3, "{groups:?}");
        // Every row group but the last (the rest) lands within a batch of the target, after
        // the first, which learns the Parquet-to-Arrow ratio and errs on the small side.
        for size in &groups[1..groups.len() - 1] {
            let size = *size as f64;
            assert!(
                size > target as f64 * 0.8 && size < target as f64 * 1.3,
                "{groups:?}"
            );
        }
    }

    #[test]
    fn small_dictionaries_are_left_uncompressed_and_unique_columns_are_written_plain() {
        let dataset = clicks();
        let store = MemoryStore::new();
        let mut writer = CuratedWriter::new(
            dataset.clone(),
            &store,
            "curated",
            PartNames::Object { base: "f".into() },
            WriterLimits::default(),
        );
        for i in 0..2_000i64 {
            let record = click(&dataset, &format!("event-{i:08}"), 946_684_800_000 + i);
            writer.push(&record, &at("s", i)).unwrap();
        }
        let written = writer.finish().unwrap();
        let bytes = store.object("curated", &written[0].key).unwrap();
        let reader =
            parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        use parquet::basic::{Compression, Encoding};
        use parquet::file::reader::FileReader;
        let group = reader.metadata().row_group(0);
        let column = |name: &str| {
            group
                .columns()
                .iter()
                .find(|c| c.column_path().string() == name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        let dictionary = |name: &str| {
            column(name)
                .encodings()
                .any(|e| e == Encoding::RLE_DICTIONARY)
        };
        // An enum of two symbols, a campaign id that never changes, constant lineage.
        for name in ["event_type", "campaign_id", "_source", "_arrival_time"] {
            assert_eq!(
                column(name).compression(),
                Compression::UNCOMPRESSED,
                "{name}"
            );
            assert!(dictionary(name), "{name}");
        }
        // Unique ids and times: plain, and compressed.
        for name in ["event_id", "event_time"] {
            assert!(
                matches!(column(name).compression(), Compression::ZSTD(_)),
                "{name}"
            );
            assert!(!dictionary(name), "{name}");
        }
    }
}
