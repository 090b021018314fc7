//! The Parquet writer of one part object, whose column chunks are encoded by several threads
//! at once: parquet-rs's `ArrowWriter` encodes a batch's columns one after the other on the
//! caller's thread, and its page encoding, dictionaries, statistics and zstd are most of the
//! cost of a record. This writer hands each top-level column of a batch (its Parquet leaves,
//! computed and encoded together) to one of `workers` threads, and closes a row group's column
//! chunks the same way; the chunks are then appended in schema order, so the bytes are those
//! `ArrowWriter` writes, whatever the number of workers (a test compares them).

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{Field, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::io::Write;
use std::sync::Mutex;

/// The most threads one part's columns are encoded on.
pub const MAX_ENCODE_WORKERS: usize = 16;

/// A Parquet file being written, a row group at a time, its columns encoded in parallel.
pub struct PartWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// How many Parquet leaf columns each top-level field has, in schema order.
    leaves_per_field: Vec<usize>,
    /// The row group in progress: its column writers and rows.
    group: Option<(Vec<ArrowColumnWriter>, usize)>,
    max_group_rows: usize,
    workers: usize,
}

impl<W: Write + Send> PartWriter<W> {
    /// A writer of `schema` into `sink` with `props` (the Arrow schema is embedded in the file's
    /// metadata, as `ArrowWriter` does), encoding on at most `workers` threads (the caller's
    /// included).
    pub fn try_new(
        sink: W,
        schema: SchemaRef,
        props: WriterProperties,
        workers: usize,
    ) -> Result<Self, ParquetError> {
        // What `ArrowWriter` would do differently: refused rather than written otherwise.
        if props.max_row_group_bytes().is_some() || props.content_defined_chunking().is_some() {
            return Err(ParquetError::General(
                "a part writer sizes row groups by rows only and does not chunk pages by content"
                    .into(),
            ));
        }
        let max_group_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let (file, factory) =
            ArrowWriter::try_new(sink, schema.clone(), Some(props))?.into_serialized_writer()?;
        let descr = file.schema_descr();
        let mut leaves_per_field = vec![0; schema.fields().len()];
        for leaf in 0..descr.num_columns() {
            let root = descr.get_column_root_idx(leaf);
            let count = leaves_per_field.get_mut(root).ok_or_else(|| {
                ParquetError::General(format!("leaf {leaf} has no top-level field {root}"))
            })?;
            *count += 1;
        }
        Ok(PartWriter {
            file,
            factory,
            schema,
            leaves_per_field,
            group: None,
            max_group_rows,
            workers: workers.clamp(1, MAX_ENCODE_WORKERS),
        })
    }

    /// Encodes `batch` into the row group in progress, flushing a row group whenever it
    /// reaches the properties' row cap (their byte cap is not used: the caller sizes row
    /// groups by bytes itself).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let group_rows = self.group.as_ref().map_or(0, |(_, rows)| *rows);
            // A row group in progress is always below the cap (it is flushed on reaching it).
            let room = self.max_group_rows.saturating_sub(group_rows).max(1);
            let take = (batch.num_rows() - offset).min(room);
            let slice = batch.slice(offset, take);
            self.write_into_group(&slice)?;
            offset += take;
            if self
                .group
                .as_ref()
                .is_some_and(|(_, rows)| *rows >= self.max_group_rows)
            {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn write_into_group(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        if batch.num_columns() != self.leaves_per_field.len() {
            return Err(ParquetError::General(format!(
                "a batch of {} columns for a schema of {} fields",
                batch.num_columns(),
                self.leaves_per_field.len()
            )));
        }
        let (writers, rows) = match &mut self.group {
            Some(group) => group,
            group => group.insert((
                self.factory
                    .create_column_writers(self.file.flushed_row_groups().len())?,
                0,
            )),
        };
        // One task per top-level field: its array and its leaves' writers.
        let mut tasks = Vec::with_capacity(self.leaves_per_field.len());
        let mut rest = writers.as_mut_slice();
        for ((field, array), leaves) in self
            .schema
            .fields()
            .iter()
            .zip(batch.columns())
            .zip(&self.leaves_per_field)
        {
            if rest.len() < *leaves {
                return Err(ParquetError::General(format!(
                    "field {} has {leaves} leaves, {} writers left",
                    field.name(),
                    rest.len()
                )));
            }
            let (these, after) = rest.split_at_mut(*leaves);
            rest = after;
            tasks.push(FieldTask {
                field: field.as_ref(),
                array,
                writers: these,
            });
        }
        // The largest columns first, so that no thread is left with a big one at the end.
        tasks.sort_by_key(|task| std::cmp::Reverse(task.array.get_buffer_memory_size()));
        run_parallel(tasks, self.workers, FieldTask::encode)?;
        *rows += batch.num_rows();
        Ok(())
    }

    /// Closes the row group in progress (its column chunks closed in parallel) and appends it
    /// to the file.
    pub fn flush(&mut self) -> Result<(), ParquetError> {
        let Some((writers, _)) = self.group.take() else {
            return Ok(());
        };
        let chunks: Vec<ArrowColumnChunk> =
            run_parallel(writers, self.workers, ArrowColumnWriter::close)?;
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }

    /// Flushes the row group in progress and writes the footer; returns the file's metadata
    /// (its row groups, which [`Self::flushed_row_groups`] no longer gives once finished).
    pub fn finish(&mut self) -> Result<ParquetMetaData, ParquetError> {
        self.flush()?;
        self.file.finish()
    }

    /// The row groups written so far.
    pub fn flushed_row_groups(&self) -> &[RowGroupMetaData] {
        self.file.flushed_row_groups()
    }

    /// Bytes written to the sink so far.
    pub fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// The encoded size the row group in progress is expected to come to.
    pub fn in_progress_size(&self) -> usize {
        self.group.as_ref().map_or(0, |(writers, _)| {
            writers
                .iter()
                .map(ArrowColumnWriter::get_estimated_total_bytes)
                .sum()
        })
    }

    /// Memory held by the row group in progress (encoded pages and encoder buffers).
    pub fn memory_size(&self) -> usize {
        self.group.as_ref().map_or(0, |(writers, _)| {
            writers.iter().map(ArrowColumnWriter::memory_size).sum()
        })
    }

    /// The sink.
    pub fn inner_mut(&mut self) -> &mut W {
        self.file.inner_mut()
    }
}

/// One top-level field of a batch and the writers of its Parquet leaves.
struct FieldTask<'a> {
    field: &'a Field,
    array: &'a ArrayRef,
    writers: &'a mut [ArrowColumnWriter],
}

impl FieldTask<'_> {
    fn encode(self) -> Result<(), ParquetError> {
        let leaves = compute_leaves(self.field, self.array)?;
        if leaves.len() != self.writers.len() {
            return Err(ParquetError::General(format!(
                "field {} gave {} leaves for {} writers",
                self.field.name(),
                leaves.len(),
                self.writers.len()
            )));
        }
        for (writer, leaf) in self.writers.iter_mut().zip(&leaves) {
            writer.write(leaf)?;
        }
        Ok(())
    }
}

/// Applies `work` to every item on up to `workers` threads (the caller's one of them), each
/// thread taking the next item as it becomes free; the results come back in the items' order,
/// or the first error in that order (every item is worked on even after an error: the caller
/// abandons the part anyway).
fn run_parallel<T, R, F>(items: Vec<T>, workers: usize, work: F) -> Result<Vec<R>, ParquetError>
where
    T: Send,
    R: Send,
    F: Fn(T) -> Result<R, ParquetError> + Sync,
{
    let count = items.len();
    let threads = workers.min(count);
    if threads <= 1 {
        return items.into_iter().map(work).collect();
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let run = || {
        let mut done = Vec::new();
        loop {
            // The lock is never held while an item is worked on, so it cannot be poisoned;
            // a worker's panic is re-raised when it is joined.
            let next = match queue.lock() {
                Ok(mut queue) => queue.next(),
                Err(_) => None,
            };
            let Some((index, item)) = next else {
                return done;
            };
            done.push((index, work(item)));
        }
    };
    let mut results: Vec<Option<Result<R, ParquetError>>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let mine = run();
        for (index, result) in helpers
            .into_iter()
            .flat_map(|helper| match helper.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .chain(mine)
        {
            results[index] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| Err(ParquetError::General("an item was not encoded".into())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{
        Int64Builder, ListBuilder, StringBuilder, StructBuilder, TimestampMillisecondBuilder,
    };
    use arrow_schema::{DataType, Fields, Schema, TimeUnit};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::schema::types::ColumnPath;
    use std::sync::Arc;

    fn imp_fields() -> Fields {
        Fields::from(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("floor_micros", DataType::Int64, true),
        ])
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("request_id", DataType::Utf8, false),
            Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("country", DataType::Utf8, true),
            Field::new(
                "imps",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(imp_fields()),
                    false,
                ))),
                false,
            ),
        ]))
    }

    /// `rows` rows from `start`: unique ids and times, a country of three values or null, and
    /// zero to three impressions each.
    fn batch(start: usize, rows: usize) -> RecordBatch {
        let mut ids = StringBuilder::new();
        let mut times = TimestampMillisecondBuilder::new().with_timezone("UTC");
        let mut countries = StringBuilder::new();
        let mut imps = ListBuilder::new(StructBuilder::from_fields(imp_fields(), 0)).with_field(
            Arc::new(Field::new("item", DataType::Struct(imp_fields()), false)),
        );
        for n in start..start + rows {
            ids.append_value(format!("request-{n:012}"));
            times.append_value(1_700_000_000_000 + n as i64 * 7);
            match n % 4 {
                3 => countries.append_null(),
                k => countries.append_value(["US", "DE", "FR"][k]),
            }
            let imp = imps.values();
            for i in 0..n % 4 {
                imp.field_builder::<StringBuilder>(0)
                    .unwrap()
                    .append_value(format!("imp-{n}-{i}"));
                let floor = imp.field_builder::<Int64Builder>(1).unwrap();
                if i == 2 {
                    floor.append_null()
                } else {
                    floor.append_value((n * 10 + i) as i64)
                }
                imp.append(true);
            }
            imps.append(true);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids.finish()),
            Arc::new(times.finish()),
            Arc::new(countries.finish()),
            Arc::new(imps.finish()),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(2_500))
            // The impressions' unique ids overflow this: their chunks fall back to plain.
            .set_dictionary_page_size_limit(4 << 10)
            .set_column_dictionary_enabled(ColumnPath::from("request_id"), false)
            .set_column_compression(ColumnPath::from("country"), Compression::UNCOMPRESSED)
            .build()
    }

    /// What parquet-rs's own `ArrowWriter` writes for the batches, flushing after `flush_after`.
    fn arrow_writer_bytes(batches: &[RecordBatch], flush_after: usize) -> Vec<u8> {
        let mut writer = ArrowWriter::try_new(Vec::new(), schema(), Some(props())).unwrap();
        for (n, batch) in batches.iter().enumerate() {
            writer.write(batch).unwrap();
            if n == flush_after {
                writer.flush().unwrap();
            }
        }
        writer.into_inner().unwrap()
    }

    fn part_writer_bytes(batches: &[RecordBatch], flush_after: usize, workers: usize) -> Vec<u8> {
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props(), workers).unwrap();
        for (n, batch) in batches.iter().enumerate() {
            writer.write(batch).unwrap();
            if n == flush_after {
                writer.flush().unwrap();
            }
        }
        writer.finish().unwrap();
        std::mem::take(writer.inner_mut())
    }

    #[test]
    fn every_number_of_workers_writes_the_bytes_of_arrow_writer() {
        // 7 batches of 1,000 rows: a flush after the second, then the row cap of 2,500 cutting
        // a batch in two, twice.
        let batches: Vec<RecordBatch> = (0..7).map(|n| batch(n * 1_000, 1_000)).collect();
        let expected = arrow_writer_bytes(&batches, 1);
        let reader =
            parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(expected.clone()))
                .unwrap();
        use parquet::file::reader::FileReader;
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [2_000, 2_500, 2_500]);
        assert_eq!(
            reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .num_columns(),
            5
        );
        // The impressions' ids began with a dictionary and fell back to plain.
        let ids = reader.metadata().row_group(1).column(3);
        let encodings: Vec<_> = ids.encodings().collect();
        assert!(
            encodings.contains(&parquet::basic::Encoding::PLAIN)
                && encodings.contains(&parquet::basic::Encoding::RLE_DICTIONARY),
            "{} {encodings:?}",
            ids.column_path()
        );
        for workers in [1, 2, 3, 8] {
            assert!(
                part_writer_bytes(&batches, 1, workers) == expected,
                "{workers} workers"
            );
        }
    }

    #[test]
    fn settings_it_would_not_honour_are_refused() {
        let by_bytes = props()
            .into_builder()
            .set_max_row_group_bytes(Some(1 << 20))
            .build();
        assert!(PartWriter::try_new(Vec::new(), schema(), by_bytes, 2).is_err());
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props(), 2).unwrap();
        let short = batch(0, 10).project(&[0, 1, 2]).unwrap();
        let error = writer.write(&short).err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("3 columns")),
            "{error:?}"
        );
    }

    #[test]
    fn items_are_shared_among_the_workers_and_come_back_in_order() {
        // Each item waits until two threads hold one at once: with one thread it would wait
        // for ever, so the test ends only if a second worker takes items.
        let busy = std::sync::Barrier::new(2);
        let items: Vec<usize> = (0..6).collect();
        let threads = Mutex::new(std::collections::HashSet::new());
        let out = run_parallel(items, 2, |n| {
            busy.wait();
            threads.lock().unwrap().insert(std::thread::current().id());
            Ok(n * 10)
        })
        .unwrap();
        assert_eq!(out, [0, 10, 20, 30, 40, 50]);
        assert_eq!(threads.lock().unwrap().len(), 2);
        // The first error in the items' order, whatever finished first.
        let failed = run_parallel((0..8).collect::<Vec<usize>>(), 3, |n| {
            if n % 3 == 2 {
                Err(ParquetError::General(format!("item {n}")))
            } else {
                Ok(n)
            }
        });
        assert_eq!(
            failed.err().map(|e| e.to_string()),
            Some("Parquet error: item 2".into())
        );
    }

    #[test]
    fn the_sizes_it_reports_follow_the_row_group_in_progress() {
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props(), 2).unwrap();
        assert_eq!((writer.memory_size(), writer.in_progress_size()), (0, 0));
        writer.write(&batch(0, 1_000)).unwrap();
        assert!(writer.memory_size() >= writer.in_progress_size());
        assert!(
            writer.in_progress_size() > 10_000,
            "{}",
            writer.in_progress_size()
        );
        assert!(writer.flushed_row_groups().is_empty());
        writer.flush().unwrap();
        assert_eq!((writer.memory_size(), writer.in_progress_size()), (0, 0));
        assert_eq!(writer.flushed_row_groups().len(), 1);
        assert!(writer.bytes_written() > 4, "{}", writer.bytes_written());
    }

    #[test]
    fn a_column_that_breaks_its_schema_is_an_error() {
        // A null in the non-nullable request id: the writer of that column refuses it.
        let good = batch(0, 10);
        let mut columns = good.columns().to_vec();
        columns[0] = Arc::new(arrow_array::StringArray::from(vec![None::<&str>; 10]));
        let bad = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(
                schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true))
                    .collect::<Vec<_>>(),
            )),
            columns,
            &Default::default(),
        )
        .unwrap();
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props(), 3).unwrap();
        let error = writer.write(&bad).err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("null")),
            "{error:?}"
        );
    }
}
