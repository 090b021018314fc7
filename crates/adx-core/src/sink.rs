//! Where the records of one dataset from one source unit (an S3 object, a Kafka partition's
//! share of a batch) go: validated records to curated Parquet, refused ones to quarantine,
//! repeated keys to the duplicate count, with the counts reconciled at the end.

use crate::curated::{CuratedWriter, Lineage};
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Raw;
use crate::model::dataset::Dataset;
use crate::model::datum::Datum;
use crate::quarantine::{Payload, QuarantineWriter};
use crate::report::DatasetReport;
use serde_json::{Map, Value};
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_128;

pub use crate::dedup::{KeySet, key_set};

/// The outputs of one dataset for one source unit.
pub struct DatasetSink<'a> {
    dataset: Arc<Dataset>,
    curated: CuratedWriter<'a>,
    quarantine: QuarantineWriter<'a>,
    report: DatasetReport,
}

impl<'a> DatasetSink<'a> {
    /// A sink over the given writers.
    pub fn new(
        dataset: Arc<Dataset>,
        curated: CuratedWriter<'a>,
        quarantine: QuarantineWriter<'a>,
    ) -> Self {
        DatasetSink {
            dataset,
            curated,
            quarantine,
            report: DatasetReport::default(),
        }
    }

    /// The dataset's name.
    pub fn dataset_name(&self) -> &str {
        &self.dataset.name
    }

    /// Records received so far.
    pub fn received(&self) -> u64 {
        self.report.received
    }

    /// Counts a tombstone (no record).
    pub fn tombstone(&mut self) {
        self.report.tombstones += 1;
    }

    /// Takes one decoded (or undecodable) record: validate, de-duplicate, write.
    pub fn accept(
        &mut self,
        seen: &mut KeySet,
        outcome: Result<Datum<'_>, RecordError>,
        raw: Raw<'_>,
        lineage: &Lineage<'_>,
        max_future_skew_ms: i64,
        source: &dyn Fn() -> Map<String, Value>,
    ) -> Result<(), IngestError> {
        self.report.received += 1;
        let record = match outcome {
            Ok(record) => record,
            Err(error) => return self.reject(source(), &error, raw, None),
        };
        // The key's slot is fetched from memory while the rules run.
        let mut scratch = [0u8; 8];
        let digest = self.dataset.key_bytes(&record, &mut scratch).map(xxh3_128);
        if let Some(digest) = digest {
            seen.prefetch(digest);
        }
        if let Err(e) = self
            .dataset
            .validate(&record, lineage.arrival_ms, max_future_skew_ms)
        {
            let error = RecordError::from_field(RecordErrorKind::Rule, e);
            return self.reject(source(), &error, raw, Some(&record));
        }
        if let Some(digest) = digest
            && !seen.insert(digest)
        {
            self.report.duplicates += 1;
            return Ok(());
        }
        self.curated.push(&record, lineage)?;
        self.report.curated += 1;
        if let Some(t) = self.dataset.event_time_of(&record) {
            let lag = Some(lineage.arrival_ms.saturating_sub(t));
            if lag > self.report.max_event_lag_ms {
                self.report.max_event_lag_ms = lag;
            }
        }
        Ok(())
    }

    fn reject(
        &mut self,
        source: Map<String, Value>,
        error: &RecordError,
        raw: Raw<'_>,
        record: Option<&Datum<'_>>,
    ) -> Result<(), IngestError> {
        let rendered;
        let bytes = raw.to_bytes();
        let payload = if let Some(bytes) = &bytes {
            Payload::Bytes(bytes)
        } else if let Some(record) = record {
            rendered = record.to_json(&self.dataset.record_ty()).to_string();
            Payload::Bytes(rendered.as_bytes())
        } else {
            Payload::None
        };
        self.quarantine.write(source, error, payload)?;
        self.report.quarantined += 1;
        Ok(())
    }

    /// Quarantines something received that is not a decodable record (an unreadable object,
    /// an unroutable value): counted as received and quarantined.
    pub fn refuse(
        &mut self,
        source: Map<String, Value>,
        error: &RecordError,
        payload: Payload<'_>,
    ) -> Result<(), IngestError> {
        self.report.received += 1;
        self.quarantine.write(source, error, payload)?;
        self.report.quarantined += 1;
        Ok(())
    }

    /// Closes every object and checks `received = curated + quarantined + duplicates`.
    pub fn finish(mut self) -> Result<DatasetReport, IngestError> {
        self.report.objects = self.curated.finish()?;
        if let Some(q) = self.quarantine.finish()? {
            self.report.objects.push(q);
        }
        let written: u64 = self
            .report
            .objects
            .iter()
            .filter(|o| o.kind == "curated")
            .map(|o| o.records)
            .sum();
        if !self.report.reconciles() || written != self.report.curated {
            return Err(IngestError::CountMismatch {
                dataset: self.dataset.name.clone(),
                detail: format!(
                    "received {} curated {} (rows written {written}) quarantined {} duplicates {}",
                    self.report.received,
                    self.report.curated,
                    self.report.quarantined,
                    self.report.duplicates
                ),
            });
        }
        Ok(self.report)
    }
}
