//! Pending manifests: what one invocation produced for one dataset from one source unit (an S3
//! object, or one topic-partition's share of a Kafka batch), written once its data files are
//! complete, for the committer to add to the dataset's table. They hold the data files with the
//! metrics a table needs (per column id: size, value and null counts, bounds) and the source they
//! cover, so that the committer can tell what it has already committed.
//!
//! A manifest is named after its source unit, like the data files: a retried invocation writes
//! the same name again, and a committer never sees two manifests of the same unit.

use crate::error::IngestError;
use crate::ports::ObjectStore;
use crate::report::WrittenObject;
use serde::{Deserialize, Serialize};

/// The prefix of pending manifests in the curated bucket (outside every dataset's prefix).
pub const PENDING_PREFIX: &str = "_pending/";

/// The key of the pending manifest of `dataset` for the source unit named `unit`.
pub fn pending_key(dataset: &str, unit: &str) -> String {
    format!("{PENDING_PREFIX}{dataset}/{unit}.json")
}

/// What one source unit produced for one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingManifest {
    /// The dataset (the table's name).
    pub dataset: String,
    /// The registry version id of the reader schema the files were written with.
    pub schema_version_id: String,
    /// The source the files hold records of.
    pub source: PendingSource,
    /// The data files, complete.
    pub files: Vec<PendingFile>,
}

/// The source unit a pending manifest covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingSource {
    /// A landing object (one version of it).
    Object {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Version id, else ETag.
        version: Option<String>,
    },
    /// A Kafka batch's records of the dataset: one offset range per topic-partition.
    Kafka {
        /// The ranges, by topic and partition.
        ranges: Vec<KafkaRange>,
    },
}

/// The offsets of a batch's records of one topic-partition (of one dataset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRange {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The first offset.
    pub first_offset: i64,
    /// The last offset.
    pub last_offset: i64,
}

/// One data file: where it is, what it holds, and its column metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Rows.
    pub records: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// The event-time hour its rows fall in, epoch millis of the hour's start.
    pub hour_ms: i64,
    /// Metrics of each leaf column that has a column id.
    pub columns: Vec<ColumnMetrics>,
}

/// The metrics of one leaf column of a data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMetrics {
    /// The column id (the schema's `field-id` or `element-id`, or a lineage column's).
    pub id: i32,
    /// Compressed bytes of its column chunks.
    pub bytes: u64,
    /// Values, nulls included.
    pub values: u64,
    /// Nulls, when the file says.
    pub nulls: Option<u64>,
    /// The smallest value, in the table format's single-value form (Iceberg: little-endian
    /// numbers, timestamps in microseconds, strings as UTF-8), base64; none inside lists.
    pub lower: Option<String>,
    /// The largest value, in the same form.
    pub upper: Option<String>,
}

impl PendingFile {
    /// What the handler's answer says of the file.
    pub(crate) fn written(&self) -> WrittenObject {
        WrittenObject {
            kind: "curated",
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            records: self.records,
            bytes: self.bytes,
        }
    }
}

/// The source unit whose records a dataset's sink takes: what its pending manifest is named
/// after, and the source it says the files cover.
#[derive(Debug, Clone)]
pub(crate) enum PendingUnit {
    /// A landing object (or a replayed quarantine object), its manifest named like its parts.
    Object {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Version id, else ETag (for a replay: the hash of the content replayed).
        version: Option<String>,
        /// The base name of its parts ([`crate::naming::object_base_name`]).
        name: String,
    },
    /// A Kafka batch: its manifest named like its parts, after the batch's offset ranges.
    Kafka {
        /// The batch's name ([`crate::naming::batch_name`]).
        name: String,
    },
}

impl PendingUnit {
    /// The unit's name and the source it covers, given the offset ranges of the dataset's
    /// records in it (a Kafka batch's source is its ranges: `None` without any).
    pub(crate) fn name_and_source(&self, ranges: &[KafkaRange]) -> Option<(String, PendingSource)> {
        match self {
            PendingUnit::Object {
                bucket,
                key,
                version,
                name,
            } => Some((
                name.clone(),
                PendingSource::Object {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    version: version.clone(),
                },
            )),
            PendingUnit::Kafka { name } => {
                if ranges.is_empty() {
                    return None;
                }
                Some((
                    name.clone(),
                    PendingSource::Kafka {
                        ranges: ranges.to_vec(),
                    },
                ))
            }
        }
    }
}

/// Writes `manifest` (compact JSON) at [`pending_key`] of its dataset and `unit` in `bucket`,
/// replacing the one an earlier attempt wrote.
pub(crate) fn write_manifest(
    store: &dyn ObjectStore,
    bucket: &str,
    unit: &str,
    manifest: &PendingManifest,
) -> Result<(), IngestError> {
    let key = pending_key(&manifest.dataset, unit);
    let bytes = serde_json::to_vec(manifest).map_err(|source| IngestError::PendingManifest {
        key: key.clone(),
        source,
    })?;
    store.put(bucket, &key, &bytes)?;
    Ok(())
}
