//! Rewrites a curated data file without the rows a table already holds: the committer's rare
//! path for a retried MSK batch whose offsets overlap what was committed (an event source
//! mapping that retried a failed batch composed differently, after an earlier attempt's part
//! of it was committed). The rows whose partition and offset are at or below that partition's
//! committed watermark are dropped; the rest are written, with the same schema (column ids
//! included) and compression, to a new object whose name is derived from the original's and
//! the watermarks, so a committer that retries writes the same object. The original file is
//! never committed, and is left to orphan-file cleanup.

use crate::StoreError;
use crate::curated::metrics::column_metrics;
use crate::pending::PendingFile;
use crate::ports::ObjectStore;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::io::Read;

/// Why a data file could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The store failed (reading the file or writing the new one): an infrastructure fault.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The file is not the curated Parquet it should be.
    #[error("{key}: {message}")]
    File {
        /// The file's key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The committed watermarks a rewrite cuts at: the last committed offset of each (topic,
/// partition).
pub type Watermarks = BTreeMap<(String, i32), i64>;

/// `file` without the rows whose topic (`_source`) and `_source_partition` are in `committed`
/// with an `_offset` at or below its value: the new file (written to the store), or none when
/// no row is left.
pub fn rewrite_without_committed(
    store: &dyn ObjectStore,
    file: &PendingFile,
    committed: &Watermarks,
) -> Result<Option<PendingFile>, RewriteError> {
    let bad = |message: String| RewriteError::File {
        key: file.key.clone(),
        message,
    };
    let parquet = |e: ParquetError| bad(e.to_string());
    let mut bytes = Vec::new();
    store
        .get(&file.bucket, &file.key)?
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("reading: {e}")))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).map_err(parquet)?;
    let codec = reader
        .metadata()
        .row_groups()
        .first()
        .and_then(|g| g.columns().first())
        .map(|c| c.compression())
        .unwrap_or(Compression::ZSTD(ZstdLevel::default()));
    let schema = reader.schema().clone();
    let mut kept = Vec::new();
    let mut rows = 0u64;
    for batch in reader.build().map_err(parquet)? {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let keep = keep_mask(&batch, committed).map_err(bad)?;
        let batch = arrow_select::filter::filter_record_batch(&batch, &keep)
            .map_err(|e| bad(e.to_string()))?;
        rows += batch.num_rows() as u64;
        if batch.num_rows() > 0 {
            kept.push(batch);
        }
    }
    if rows == 0 {
        return Ok(None);
    }
    let props = WriterProperties::builder().set_compression(codec).build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(parquet)?;
    for batch in &kept {
        writer.write(batch).map_err(parquet)?;
    }
    let metadata = writer.close().map_err(parquet)?;
    let key = rewritten_key(&file.key, committed);
    store.put(&file.bucket, &key, &out)?;
    Ok(Some(PendingFile {
        bucket: file.bucket.clone(),
        key,
        records: rows,
        bytes: out.len() as u64,
        hour_ms: file.hour_ms,
        columns: column_metrics(metadata.row_groups()),
    }))
}

/// Which rows of `batch` to keep: those not at or below their partition's watermark.
fn keep_mask(batch: &RecordBatch, committed: &Watermarks) -> Result<BooleanArray, String> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("no {name} column"))
    };
    let topics = column("_source")?
        .as_string_opt::<i32>()
        .ok_or("_source is not a string column")?;
    let partitions = column("_source_partition")?
        .as_primitive_opt::<Int32Type>()
        .ok_or("_source_partition is not an int column")?;
    let offsets = column("_offset")?
        .as_primitive_opt::<Int64Type>()
        .ok_or("_offset is not a long column")?;
    Ok((0..batch.num_rows())
        .map(|i| {
            let held = !partitions.is_null(i)
                && committed
                    .get(&(topics.value(i).to_string(), partitions.value(i)))
                    .is_some_and(|&w| offsets.value(i) <= w);
            Some(!held)
        })
        .collect())
}

/// The new file's key: the original's, marked with the watermarks it was cut at.
fn rewritten_key(key: &str, committed: &Watermarks) -> String {
    let cut: Vec<String> = committed
        .iter()
        .map(|((t, p), w)| format!("{t}:{p}:{w}"))
        .collect();
    let tag = xxhash_rust::xxh3::xxh3_64(cut.join(",").as_bytes());
    let stem = key.strip_suffix(".parquet").unwrap_or(key);
    format!("{stem}-after-{tag:016x}.parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_key_depends_on_the_watermarks_only() {
        let a = Watermarks::from([(("t".into(), 0), 10), (("t".into(), 1), 20)]);
        let b = Watermarks::from([(("t".into(), 0), 10), (("t".into(), 1), 21)]);
        let k = "ad_impressions/dt=2026-11-28/hr=05/kafka-abc-0000.parquet";
        assert_eq!(rewritten_key(k, &a), rewritten_key(k, &a));
        assert_ne!(rewritten_key(k, &a), rewritten_key(k, &b));
        assert!(
            rewritten_key(k, &a)
                .starts_with("ad_impressions/dt=2026-11-28/hr=05/kafka-abc-0000-after-")
        );
    }
}
