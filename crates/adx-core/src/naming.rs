//! Deterministic object names: the same source always gives the same keys, so that a retried
//! invocation overwrites its earlier output instead of duplicating it.

use chrono::{DateTime, Datelike, Timelike};
use xxhash_rust::xxh3::xxh3_128;

/// A name stem for everything written from one S3 object version: the object's file name
/// (made safe) and a hash of bucket, key and version id or ETag.
pub fn object_base_name(bucket: &str, key: &str, version: Option<&str>) -> String {
    let mut identity = Vec::with_capacity(bucket.len() + key.len() + 40);
    identity.extend_from_slice(bucket.as_bytes());
    identity.push(0);
    identity.extend_from_slice(key.as_bytes());
    identity.push(0);
    identity.extend_from_slice(version.unwrap_or("").as_bytes());
    let hash = xxh3_128(&identity);
    let file = key.rsplit('/').next().unwrap_or(key);
    let safe: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    format!("{safe}-{:016x}", (hash >> 64) as u64)
}

/// The name of a Kafka batch's outputs: `kafka-` and a hash of every topic-partition's first and
/// last offset in the batch. A batch delivered again as it was gives the same name (its files
/// are written again, the same bytes); a batch composed otherwise gives another, so that no file
/// of an earlier attempt, which a table may hold, is ever written over.
pub fn batch_name<'a>(ranges: impl IntoIterator<Item = (&'a str, i32, i64, i64)>) -> String {
    let mut identity = Vec::new();
    for (topic, partition, first, last) in ranges {
        identity.extend_from_slice(topic.as_bytes());
        identity.push(0);
        identity.extend_from_slice(&partition.to_le_bytes());
        identity.extend_from_slice(&first.to_le_bytes());
        identity.extend_from_slice(&last.to_le_bytes());
    }
    format!("kafka-{:016x}", (xxh3_128(&identity) >> 64) as u64)
}

fn date_parts(ms: i64) -> (i32, u32, u32, u32) {
    let t = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (t.year(), t.month(), t.day(), t.hour())
}

/// How the part objects of one source unit are named.
#[derive(Debug, Clone)]
pub enum PartNames {
    /// An S3 object: `<base>-<part number>`.
    Object {
        /// From [`object_base_name`].
        base: String,
    },
    /// A Kafka partition: `<topic>+<partition>+<first offset in the part>`, as Kafka Connect does.
    Kafka {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
}

impl PartNames {
    /// The file name (without suffix) of part `part`, whose first record has `first_offset`.
    pub fn part(&self, part: u32, first_offset: i64) -> String {
        match self {
            PartNames::Object { base } => format!("{base}-{part:04}"),
            PartNames::Kafka { topic, partition } => format!("{topic}+{partition}+{first_offset}"),
        }
    }
}

/// `<dataset>/dt=YYYY-MM-DD/hr=HH/<name>.parquet` for the hour starting at `hour_ms`.
pub fn curated_key(dataset: &str, hour_ms: i64, name: &str) -> String {
    let (y, m, d, h) = date_parts(hour_ms);
    format!("{dataset}/dt={y:04}-{m:02}-{d:02}/hr={h:02}/{name}.parquet")
}

/// `<dataset>/dt=YYYY-MM-DD/<base>.jsonl`, dated by the source's arrival time.
pub fn quarantine_key(dataset: &str, arrival_ms: i64, base: &str) -> String {
    let (y, m, d, _) = date_parts(arrival_ms);
    format!("{dataset}/dt={y:04}-{m:02}-{d:02}/{base}.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_distinguish_versions() {
        let a = object_base_name(
            "landing",
            "ad_impressions/2026/batch 1+x.json.gz",
            Some("v1"),
        );
        assert_eq!(
            a,
            object_base_name(
                "landing",
                "ad_impressions/2026/batch 1+x.json.gz",
                Some("v1")
            )
        );
        assert!(a.starts_with("batch_1_x.json.gz-"), "{a}");
        assert_ne!(
            a,
            object_base_name(
                "landing",
                "ad_impressions/2026/batch 1+x.json.gz",
                Some("v2")
            )
        );
        assert_eq!(
            curated_key(
                "ad_impressions",
                1_764_212_400_000,
                &PartNames::Object { base: "f-1".into() }.part(2, 7)
            ),
            "ad_impressions/dt=2025-11-27/hr=03/f-1-0002.parquet"
        );
        assert_eq!(
            quarantine_key("_unrouted", 1_764_212_400_000, "f-1"),
            "_unrouted/dt=2025-11-27/f-1.jsonl"
        );
    }
}
