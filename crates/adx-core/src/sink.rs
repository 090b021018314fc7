//! Where the records of one dataset from one source unit (an S3 object, a Kafka batch) go:
//! validated records to curated Parquet, refused ones to quarantine (a Kafka batch's, to one
//! quarantine object per topic-partition), repeated keys to the duplicate count, with the counts
//! reconciled at the end; then, when curated files were written, the unit's pending manifest of
//! the dataset (after the files are complete, before the invocation answers).

use crate::curated::{CuratedWriter, Lineage};
use crate::dedup::key_digest;
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Raw;
use crate::model::dataset::Dataset;
use crate::model::datum::Datum;
use crate::pending::{KafkaRange, PendingFile, PendingManifest, PendingUnit, write_manifest};
use crate::quarantine::{Payload, QuarantineWriter, Source};
use crate::report::DatasetReport;
use std::sync::Arc;

pub use crate::dedup::{KeySet, key_set};

/// The outputs of one dataset for one source unit.
pub struct DatasetSink<'a> {
    dataset: Arc<Dataset>,
    curated: CuratedWriter<'a>,
    /// The quarantine writers, the one in use last (a Kafka batch has one per topic-partition).
    quarantines: Vec<QuarantineWriter<'a>>,
    report: DatasetReport,
    /// The source unit, which names the pending manifest.
    unit: PendingUnit,
    /// The offsets of the Kafka records taken, per topic-partition, in the order first seen.
    ranges: Vec<KafkaRange>,
}

impl<'a> DatasetSink<'a> {
    /// A sink over the given writers, of the records of `unit`.
    pub fn new(
        dataset: Arc<Dataset>,
        curated: CuratedWriter<'a>,
        quarantine: QuarantineWriter<'a>,
        unit: PendingUnit,
    ) -> Self {
        DatasetSink {
            dataset,
            curated,
            quarantines: vec![quarantine],
            report: DatasetReport::default(),
            unit,
            ranges: Vec::new(),
        }
    }

    /// Sends the refused records from now on to `quarantine` (the next topic-partition's).
    pub(crate) fn switch_quarantine(&mut self, quarantine: QuarantineWriter<'a>) {
        self.quarantines.push(quarantine);
    }

    /// Extends the offset range of the record's topic-partition (Kafka lineage only).
    fn track_offset(&mut self, lineage: &Lineage<'_>) {
        let Some(partition) = lineage.partition else {
            return;
        };
        let offset = lineage.offset;
        // A batch's records come partition by partition: almost always the last range.
        let at = match self.ranges.last() {
            Some(r) if r.partition == partition && r.topic == lineage.source => {
                Some(self.ranges.len() - 1)
            }
            _ => self
                .ranges
                .iter()
                .position(|r| r.partition == partition && r.topic == lineage.source),
        };
        match at {
            Some(i) => {
                let r = &mut self.ranges[i];
                r.first_offset = r.first_offset.min(offset);
                r.last_offset = r.last_offset.max(offset);
            }
            None => self.ranges.push(KafkaRange {
                topic: lineage.source.to_string(),
                partition,
                first_offset: offset,
                last_offset: offset,
            }),
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
        source: &dyn Fn() -> Source,
    ) -> Result<(), IngestError> {
        self.report.received += 1;
        self.track_offset(lineage);
        let record = match outcome {
            Ok(record) => record,
            Err(error) => return self.reject(&source(), &error, raw, None),
        };
        // The key's slot is fetched from memory while the rules run.
        let mut scratch = [0u8; 8];
        let digest = self
            .dataset
            .key_bytes(&record, &mut scratch)
            .map(key_digest);
        if let Some(digest) = digest {
            seen.prefetch(digest);
        }
        if let Err(e) = self
            .dataset
            .validate(&record, lineage.arrival_ms, max_future_skew_ms)
        {
            let error = RecordError::from_field(RecordErrorKind::Rule, e);
            return self.reject(&source(), &error, raw, Some(&record));
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
        source: &Source,
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
        self.quarantine()?.write(source, error, payload)?;
        self.report.quarantined += 1;
        Ok(())
    }

    /// The quarantine writer in use.
    fn quarantine(&mut self) -> Result<&mut QuarantineWriter<'a>, IngestError> {
        let dataset = &self.dataset.name;
        self.quarantines
            .last_mut()
            .ok_or_else(|| IngestError::CountMismatch {
                dataset: dataset.clone(),
                detail: "a sink without a quarantine writer".into(),
            })
    }

    /// Quarantines something received that is not a decodable record (an unreadable object,
    /// an unroutable value): counted as received and quarantined.
    pub fn refuse(
        &mut self,
        source: &Source,
        error: &RecordError,
        payload: Payload<'_>,
    ) -> Result<(), IngestError> {
        self.report.received += 1;
        self.quarantine()?.write(source, error, payload)?;
        self.report.quarantined += 1;
        Ok(())
    }

    /// Closes every object, checks `received = curated + quarantined + duplicates`, and (when
    /// curated files were written) writes the unit's pending manifest of the dataset, once
    /// every file it names is complete.
    pub fn finish(mut self) -> Result<DatasetReport, IngestError> {
        let (store, bucket) = self.curated.target();
        let bucket = bucket.to_string();
        let files = self.curated.finish()?;
        self.report.objects = files.iter().map(PendingFile::written).collect();
        for quarantine in std::mem::take(&mut self.quarantines) {
            if let Some(q) = quarantine.finish()? {
                self.report.objects.push(q);
            }
        }
        let written: u64 = files.iter().map(|f| f.records).sum();
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
        if files.is_empty() {
            return Ok(self.report);
        }
        let Some((unit, source)) = self.unit.name_and_source(&self.ranges) else {
            return Err(IngestError::CountMismatch {
                dataset: self.dataset.name.clone(),
                detail: format!("{} curated files of no record offset", files.len()),
            });
        };
        let manifest = PendingManifest {
            dataset: self.dataset.name.clone(),
            schema_version_id: self.dataset.version_id.clone(),
            source,
            files,
        };
        write_manifest(store, &bucket, &unit, &manifest)?;
        Ok(self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curated::WriterLimits;
    use crate::formats::Position;
    use crate::naming::PartNames;
    use crate::quarantine::ObjectOrigin;
    use crate::test_support::{MemoryStore, dataset};
    use serde_json::{Value, json};

    const ARRIVAL_MS: i64 = 1_795_845_600_000;

    fn click(id: &str, extra: Value) -> Datum<'static> {
        let mut v = json!({"event_id": id, "event_type": "CLICK", "event_time": ARRIVAL_MS - 1_000, "campaign_id": "c"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        crate::convert::json::json_to_record(&v, &dataset("click_conversions").shape).unwrap()
    }

    fn source(line: u64) -> Source {
        Source::Object(ObjectOrigin {
            bucket: "landing".into(),
            key: "click_conversions/f.csv".into(),
            version: None,
            arrival_ms: ARRIVAL_MS,
            position: Some(Position::Line(line)),
        })
    }

    /// A sink of click_conversions into `store`: curated parts `f-*`, quarantine `q.jsonl`.
    fn clicks_sink(store: &MemoryStore) -> DatasetSink<'_> {
        let ds = dataset("click_conversions");
        let curated = CuratedWriter::new(
            ds.clone(),
            store,
            "curated",
            PartNames::Object { base: "f".into() },
            WriterLimits::default(),
        );
        let quarantine = QuarantineWriter::new(store, "quarantine", "q.jsonl".into(), &ds.name);
        let unit = PendingUnit::Object {
            bucket: "landing".into(),
            key: "click_conversions/f.csv".into(),
            version: None,
            name: "f".into(),
        };
        DatasetSink::new(ds, curated, quarantine, unit)
    }

    /// The quarantine lines written, parsed.
    fn entries(store: &MemoryStore) -> Vec<Value> {
        let bytes = store.object("quarantine", "q.jsonl").unwrap_or_default();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn records_go_to_curated_quarantine_or_the_duplicate_count_and_the_counts_reconcile() {
        let store = MemoryStore::new();
        let mut sink = clicks_sink(&store);
        let mut seen = key_set();
        let inputs: Vec<(Result<Datum<'static>, RecordError>, Raw<'_>)> = vec![
            (Ok(click("e-1", json!({}))), Raw::Bytes(b"row 1")),
            // The same key again.
            (Ok(click("e-1", json!({}))), Raw::Bytes(b"row 2")),
            // A CLICK with revenue breaks a rule; no raw form: the record is rendered as JSON.
            (
                Ok(click(
                    "e-2",
                    json!({"revenue_micros": 5, "currency": "USD"}),
                )),
                Raw::None,
            ),
            (
                Err(RecordError::new(RecordErrorKind::Parse, "bad row")),
                Raw::Bytes(b"row 4"),
            ),
        ];
        for (n, (outcome, raw)) in inputs.into_iter().enumerate() {
            let line = n as u64 + 1;
            let lineage = Lineage {
                source: "s3://landing/click_conversions/f.csv",
                version: None,
                partition: None,
                offset: line as i64,
                arrival_ms: ARRIVAL_MS,
            };
            sink.accept(&mut seen, outcome, raw, &lineage, 300_000, &|| source(line))
                .unwrap();
        }
        let error = RecordError::new(RecordErrorKind::Object, "unreadable");
        sink.refuse(&source(9), &error, Payload::None).unwrap();
        let report = sink.finish().unwrap();
        assert_eq!(
            (
                report.received,
                report.curated,
                report.quarantined,
                report.duplicates
            ),
            (5, 1, 3, 1)
        );
        let kinds: Vec<&str> = report.objects.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, ["curated", "quarantine"]);
        assert_eq!(report.objects[0].records, 1);
        let entries = entries(&store);
        let lines: Vec<&Value> = entries.iter().map(|e| &e["source"]["line"]).collect();
        assert_eq!(lines, [&json!(3), &json!(4), &json!(9)]);
        assert_eq!(entries[0]["error"]["kind"], "rule");
        let rendered: Value =
            serde_json::from_str(entries[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(rendered["event_id"], "e-2");
        assert_eq!(entries[1]["payload"], "row 4");
        assert!(entries[2].get("payload").is_none());
        // The unit's pending manifest, naming the curated part, after it.
        let manifest: PendingManifest = serde_json::from_slice(
            &store
                .object(
                    "curated",
                    &crate::pending::pending_key("click_conversions", "f"),
                )
                .unwrap(),
        )
        .unwrap();
        assert_eq!(manifest.files.len(), 1);
        assert_eq!(manifest.files[0].written(), report.objects[0]);
        assert_eq!(
            manifest.schema_version_id,
            dataset("click_conversions").version_id
        );
        assert_eq!(store.objects("curated").len(), 2);
    }

    #[test]
    fn a_tombstone_is_counted_apart_from_received() {
        let store = MemoryStore::new();
        let mut sink = clicks_sink(&store);
        sink.tombstone();
        let report = sink.finish().unwrap();
        assert_eq!((report.received, report.tombstones), (0, 1));
        assert!(report.objects.is_empty());
        assert!(store.objects("curated").is_empty());
    }
}
