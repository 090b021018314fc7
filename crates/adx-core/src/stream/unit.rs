//! The outputs of one unit of a batch (the records of one topic-partition): a sink per dataset
//! its records go to, named after the unit (Kafka Connect style, so that a retried batch
//! overwrites its earlier output), and a quarantine object for the records of no dataset.
//! De-duplication spans the batch: the key sets live in [`BatchKeys`], outside the units.

use super::routing::Routed;
use crate::curated::CuratedWriter;
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::Raw;
use crate::kafka_record::StreamRecord;
use crate::model::dataset::Dataset;
use crate::naming::PartNames;
use crate::pending::PendingUnit;
use crate::pipeline::{IngestConfig, Ports, UNROUTED};
use crate::quarantine::{Payload, QuarantineWriter, Source};
use crate::report::DatasetReport;
use crate::sink::{DatasetSink, KeySet, key_set};
use std::sync::Arc;

/// The de-duplication keys of a batch, one set per dataset, in the order datasets appeared.
#[derive(Default)]
pub(crate) struct BatchKeys {
    sets: Vec<(String, KeySet)>,
}

impl BatchKeys {
    /// The index of `dataset`'s key set, made when it is the dataset's first record.
    fn index(&mut self, dataset: &str) -> usize {
        match self.sets.iter().position(|(n, _)| n == dataset) {
            Some(i) => i,
            None => {
                self.sets.push((dataset.to_string(), key_set()));
                self.sets.len() - 1
            }
        }
    }
}

/// Records refused before any dataset could be named.
struct Unrouted<'a> {
    writer: QuarantineWriter<'a>,
    report: DatasetReport,
}

/// The outputs of one topic-partition of a batch.
pub(crate) struct UnitSinks<'a> {
    ports: Ports<'a>,
    config: &'a IngestConfig,
    topic: Arc<str>,
    partition: i32,
    sinks: Vec<DatasetSink<'a>>,
    unrouted: Option<Unrouted<'a>>,
    /// The dataset of the last record, its sink and its key set: consecutive records almost
    /// always go to the dataset of the one before, found by its address without comparing names.
    last: Option<(Arc<Dataset>, usize, usize)>,
}

impl<'a> UnitSinks<'a> {
    /// The (empty) outputs of the unit of `topic` and `partition`.
    pub(crate) fn new(
        ports: Ports<'a>,
        config: &'a IngestConfig,
        topic: Arc<str>,
        partition: i32,
    ) -> Self {
        UnitSinks {
            ports,
            config,
            topic,
            partition,
            sinks: Vec::new(),
            unrouted: None,
            last: None,
        }
    }

    /// Takes one record of the unit as the router saw it: to its dataset's sink (validated,
    /// de-duplicated in `keys`, written), or to the unit's unrouted quarantine.
    pub(crate) fn take(
        &mut self,
        keys: &mut BatchKeys,
        record: &StreamRecord,
        routed: Routed<'_>,
    ) -> Result<(), IngestError> {
        let Some(dataset) = routed.dataset else {
            return self.unrouted(record, routed.outcome.err());
        };
        let (at, i) = self.sink_of(keys, &dataset);
        let sink = &mut self.sinks[at];
        let Some(value) = &record.value else {
            sink.tombstone();
            return Ok(());
        };
        sink.accept(
            &mut keys.sets[i].1,
            routed.outcome,
            Raw::Bytes(value),
            &record.lineage(),
            self.config.max_future_skew_ms,
            &|| Source::kafka(record),
        )
    }

    /// The positions of `dataset`'s sink in this unit and of its key set in the batch.
    fn sink_of(&mut self, keys: &mut BatchKeys, dataset: &Arc<Dataset>) -> (usize, usize) {
        if let Some((d, at, i)) = &self.last
            && Arc::ptr_eq(d, dataset)
        {
            return (*at, *i);
        }
        let at = match self
            .sinks
            .iter()
            .position(|s| s.dataset_name() == dataset.name)
        {
            Some(at) => at,
            None => {
                self.sinks.push(self.new_sink(dataset));
                self.sinks.len() - 1
            }
        };
        let i = keys.index(&dataset.name);
        self.last = Some((dataset.clone(), at, i));
        (at, i)
    }

    /// A sink for `dataset`'s records of this unit.
    fn new_sink(&self, dataset: &Arc<Dataset>) -> DatasetSink<'a> {
        let curated = CuratedWriter::new(
            dataset.clone(),
            self.ports.store,
            &self.config.curated_bucket,
            PartNames::Kafka {
                topic: self.topic.to_string(),
                partition: self.partition,
            },
            self.config.limits,
        );
        let unit = PendingUnit::Kafka {
            topic: self.topic.to_string(),
            partition: self.partition,
        };
        DatasetSink::new(
            dataset.clone(),
            curated,
            self.quarantine(&dataset.name),
            unit,
        )
    }

    /// The unit's quarantine writer for `dataset`.
    fn quarantine(&self, dataset: &str) -> QuarantineWriter<'a> {
        QuarantineWriter::for_partition(
            self.ports.store,
            &self.config.quarantine_bucket,
            &self.topic,
            self.partition,
            dataset,
        )
    }

    /// A record of no dataset: quarantined as unrouted (a tombstone is only counted).
    fn unrouted(
        &mut self,
        record: &StreamRecord,
        error: Option<RecordError>,
    ) -> Result<(), IngestError> {
        if self.unrouted.is_none() {
            self.unrouted = Some(Unrouted {
                writer: self.quarantine(UNROUTED),
                report: DatasetReport::default(),
            });
        }
        let Some(entry) = self.unrouted.as_mut() else {
            return Ok(());
        };
        let Some(value) = &record.value else {
            entry.report.tombstones += 1;
            return Ok(());
        };
        let error =
            error.unwrap_or_else(|| RecordError::new(RecordErrorKind::Unrouted, "no dataset"));
        entry
            .writer
            .write(&Source::kafka(record), &error, Payload::Bytes(value))?;
        entry.report.received += 1;
        entry.report.quarantined += 1;
        Ok(())
    }

    /// Completes the unit's curated and quarantine objects: its datasets and their reports.
    pub(crate) fn finish(self) -> Result<Vec<(String, DatasetReport)>, IngestError> {
        let mut reports = Vec::with_capacity(self.sinks.len() + 1);
        for sink in self.sinks {
            let dataset = sink.dataset_name().to_string();
            reports.push((dataset, sink.finish()?));
        }
        if let Some(mut u) = self.unrouted {
            if let Some(object) = u.writer.finish()? {
                u.report.objects.push(object);
            }
            reports.push((UNROUTED.to_string(), u.report));
        }
        Ok(reports)
    }
}
