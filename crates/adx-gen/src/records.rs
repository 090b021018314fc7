//! The lazy, deterministic stream of generated records and what the pipeline must do with each.

use rand::Rng;
use serde_json::Value;

use crate::bad::{BadKind, make_bad};
use crate::canonical::millis;
use crate::good::{good, time_like};
use crate::ids::{self, Tag};
use crate::plan::{self, Slot};
use crate::{Dataset, Format, GenConfig};

/// One generated record and what the ingestion pipeline must do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A valid record: it must reach the curated Parquet as [`crate::canonical`] says.
    Good,
    /// A record breaking one check: it must be quarantined.
    Bad(BadKind),
    /// A copy of the key of an earlier good record: it must be dropped as a duplicate.
    Duplicate,
}

/// The payload of a generated record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    /// A JSON object (possibly breaking the schema): written as JSON, a CSV row or Avro.
    Json(Value),
    /// Text that is not even a JSON object (e.g. a truncated JSON line), written verbatim.
    Raw(String),
}

/// One generated record.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRecord {
    /// What the pipeline must do with it.
    pub expected: Expected,
    /// The record itself.
    pub value: RecordValue,
}

/// The iterator of generated records of one dataset (see [`records_for`]).
#[derive(Debug, Clone)]
pub struct Records {
    dataset: Dataset,
    cfg: GenConfig,
    kinds: Vec<BadKind>,
    next: u64,
    bad_seen: usize,
}

/// The records of `dataset` as written in JSON Lines (where every bad kind of the dataset
/// applies). Good records, duplicates and the positions of bad records are the same for every
/// format; only the kinds of the bad records differ (see [`records_for`]).
pub fn records(dataset: Dataset, cfg: &GenConfig) -> Records {
    records_for(dataset, &Format::JsonLines, cfg)
}

/// The records of `dataset` exactly as [`crate::encode`] writes them in `format`: bad records
/// cycle over the [`BadKind`]s that apply to the dataset and format.
pub fn records_for(dataset: Dataset, format: &Format, cfg: &GenConfig) -> Records {
    Records {
        dataset,
        cfg: *cfg,
        kinds: BadKind::applicable(dataset, format),
        next: 0,
        bad_seen: 0,
    }
}

impl Records {
    fn record(&mut self, i: u64) -> GenRecord {
        let cfg = &self.cfg;
        match plan::slot(cfg, i) {
            Slot::Bad if !self.kinds.is_empty() => {
                let kind = self.kinds[self.bad_seen % self.kinds.len()];
                self.bad_seen += 1;
                let r = &mut ids::rng(cfg.seed, Tag::Bad, i);
                GenRecord {
                    expected: Expected::Bad(kind),
                    value: make_bad(kind, self.dataset, good(self.dataset, cfg, i), cfg, r),
                }
            }
            Slot::Duplicate(k) => {
                let mut value = good(self.dataset, cfg, k);
                let r = &mut ids::rng(cfg.seed, Tag::Duplicate, i);
                if let Value::Object(m) = &mut value
                    && r.random_bool(0.5)
                    && let Some(ms) = m.get("event_time").and_then(millis)
                {
                    let later = time_like(m.get("event_time"), ms + r.random_range(1_000..=30_000));
                    m.insert("event_time".into(), later);
                }
                GenRecord {
                    expected: Expected::Duplicate,
                    value: RecordValue::Json(value),
                }
            }
            _ => GenRecord {
                expected: Expected::Good,
                value: RecordValue::Json(good(self.dataset, cfg, i)),
            },
        }
    }
}

impl Iterator for Records {
    type Item = GenRecord;

    fn next(&mut self) -> Option<GenRecord> {
        if self.next >= self.cfg.records as u64 {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(self.record(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.cfg.records as u64).saturating_sub(self.next) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Records {}
