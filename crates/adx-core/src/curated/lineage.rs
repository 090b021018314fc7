//! Lineage columns added to every curated row (their names start with `_`): where the record
//! came from and when it arrived. No wall-clock value: a rerun writes the same bytes.

use crate::curated::arrow_schema::with_field_id;
use arrow_schema::{DataType, Field, TimeUnit};

/// Where one record came from.
#[derive(Debug, Clone, Copy)]
pub struct Lineage<'a> {
    /// `s3://bucket/key` of the source object, or the Kafka topic.
    pub source: &'a str,
    /// S3 version id or ETag of the source object.
    pub version: Option<&'a str>,
    /// Kafka partition (none for S3).
    pub partition: Option<i32>,
    /// Line (CSV, JSON Lines), item (JSON array) or record index (Avro) in the object, or Kafka offset.
    pub offset: i64,
    /// Arrival time: the S3 event's eventTime or the Kafka record's timestamp, epoch millis.
    pub arrival_ms: i64,
}

/// Lineage columns that hold one value, or a handful, per source unit: their pages are a
/// dictionary of a few entries and a run of indices, which zstd cannot shrink, so they are
/// written uncompressed (which also spares a compression context per column and file).
pub const CONSTANT_LINEAGE_COLUMNS: [&str; 3] = ["_source", "_source_version", "_source_partition"];

/// The lineage column of the arrival time.
pub const ARRIVAL_TIME_COLUMN: &str = "_arrival_time";

/// The names of the lineage columns, in order: the source object's URI or the Kafka topic, the
/// object's version, the Kafka partition, the line, item, record or offset, the arrival time.
/// Not `_partition`, `_file`, `_pos`, `_deleted` or `_spec_id`: Iceberg reserves those names for
/// its metadata columns, and a reader that selects one gets the metadata column, not ours.
pub const LINEAGE_COLUMNS: [&str; 5] = [
    "_source",
    "_source_version",
    "_source_partition",
    "_offset",
    ARRIVAL_TIME_COLUMN,
];

/// The Arrow fields of the lineage columns, in order, with their column ids when given.
pub fn lineage_fields(ids: Option<[i32; 5]>) -> Vec<Field> {
    let fields = [
        Field::new(LINEAGE_COLUMNS[0], DataType::Utf8, false),
        Field::new(LINEAGE_COLUMNS[1], DataType::Utf8, true),
        Field::new(LINEAGE_COLUMNS[2], DataType::Int32, true),
        Field::new(LINEAGE_COLUMNS[3], DataType::Int64, false),
        Field::new(
            LINEAGE_COLUMNS[4],
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ];
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| with_field_id(f, ids.map(|ids| ids[i])))
        .collect()
}
