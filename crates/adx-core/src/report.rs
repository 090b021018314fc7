//! The handler's answer: per dataset, what was received and where it went.

use serde::Serialize;
use std::collections::BTreeMap;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One object written by an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenObject {
    /// `curated` or `quarantine`.
    pub kind: &'static str,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Records (rows or quarantine lines) it holds.
    pub records: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Counts and objects of one dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatasetReport {
    /// Records (or unreadable objects) received.
    pub received: u64,
    /// Records written to curated Parquet.
    pub curated: u64,
    /// Records (or unreadable objects) written to quarantine.
    pub quarantined: u64,
    /// Records dropped as repeats of an earlier key.
    pub duplicates: u64,
    /// Kafka tombstones (null values): no records, counted apart, outside `received`.
    #[serde(skip_serializing_if = "is_zero")]
    pub tombstones: u64,
    /// The largest event-time lag of a curated record: its arrival time minus its event
    /// time, in milliseconds (how stale the oldest data of the invocation was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_event_lag_ms: Option<i64>,
    /// Objects written.
    pub objects: Vec<WrittenObject>,
}

impl DatasetReport {
    /// Adds another report's counts and objects to this one.
    pub fn merge(&mut self, other: DatasetReport) {
        self.received += other.received;
        self.curated += other.curated;
        self.quarantined += other.quarantined;
        self.duplicates += other.duplicates;
        self.tombstones += other.tombstones;
        self.max_event_lag_ms = self.max_event_lag_ms.max(other.max_event_lag_ms);
        self.objects.extend(other.objects);
    }

    /// Checks `received = curated + quarantined + duplicates`.
    pub fn reconciles(&self) -> bool {
        self.received == self.curated + self.quarantined + self.duplicates
    }

    /// Bytes written in all objects.
    pub fn bytes_written(&self) -> u64 {
        self.objects.iter().map(|o| o.bytes).sum()
    }
}

/// The answer of one invocation, by dataset name (`_unrouted` for objects of no dataset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationReport {
    /// Per dataset.
    pub datasets: BTreeMap<String, DatasetReport>,
}

impl InvocationReport {
    /// Adds a dataset's report.
    pub fn add(&mut self, dataset: &str, report: DatasetReport) {
        self.datasets
            .entry(dataset.to_string())
            .or_default()
            .merge(report);
    }
}
