//! The outputs of one Kafka batch: per dataset one sink for the whole batch, so that the batch
//! writes one data file per dataset and event-time hour however many partitions it holds (named
//! after the batch, [`crate::naming::batch_name`]), with one quarantine object per dataset and
//! topic-partition (named after its first entry, as before); and, per topic-partition, a
//! quarantine object for the records of no dataset. De-duplication spans the batch: each
//! dataset has one key set. With a second core, each dataset's Parquet is encoded on a thread
//! of its own while the batch is read.

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
use crate::report::{DatasetReport, InvocationReport};
use crate::sink::{DatasetSink, KeySet, key_set};
use std::sync::Arc;
use std::thread::Scope;

/// One dataset's outputs in the batch.
struct BatchSink<'a> {
    sink: DatasetSink<'a>,
    keys: KeySet,
    /// The unit (topic-partition) whose quarantine writer the sink uses.
    unit: usize,
}

/// Records of one topic-partition refused before any dataset could be named.
struct Unrouted<'a> {
    writer: QuarantineWriter<'a>,
    report: DatasetReport,
}

/// The outputs of a batch.
pub(crate) struct BatchSinks<'s, 'a> {
    scope: &'s Scope<'s, 'a>,
    ports: Ports<'a>,
    config: &'a IngestConfig,
    /// The batch's name: its data files and pending manifests are named after it.
    name: String,
    sinks: Vec<(Arc<Dataset>, BatchSink<'a>)>,
    unrouted: Vec<Unrouted<'a>>,
    /// The unit being read: its number, topic and partition.
    unit: (usize, Arc<str>, i32),
    /// The dataset of the last record and its sink: consecutive records almost always go to the
    /// dataset of the one before, found by its address without comparing names.
    last: Option<(Arc<Dataset>, usize)>,
}

impl<'s, 'a> BatchSinks<'s, 'a> {
    /// The (empty) outputs of the batch named `name`; encoder threads, if any, run on `scope`.
    pub(crate) fn new(
        scope: &'s Scope<'s, 'a>,
        ports: Ports<'a>,
        config: &'a IngestConfig,
        name: String,
    ) -> Self {
        BatchSinks {
            scope,
            ports,
            config,
            name,
            sinks: Vec::new(),
            unrouted: Vec::new(),
            unit: (0, Arc::from(""), 0),
            last: None,
        }
    }

    /// The next unit's records follow: those of `topic` and `partition`.
    pub(crate) fn begin_unit(&mut self, number: usize, topic: Arc<str>, partition: i32) {
        self.unit = (number, topic, partition);
    }

    /// Takes one record as the router saw it: to its dataset's sink (validated, de-duplicated,
    /// written), or to the unit's unrouted quarantine.
    pub(crate) fn take(
        &mut self,
        record: &StreamRecord,
        routed: Routed<'_>,
    ) -> Result<(), IngestError> {
        let Some(dataset) = routed.dataset else {
            return self.unrouted(record, routed.outcome.err());
        };
        let at = self.sink_of(&dataset);
        let unit = self.unit.0;
        if self.sinks[at].1.unit != unit {
            let quarantine = self.quarantine(&dataset.name);
            let entry = &mut self.sinks[at].1;
            entry.sink.switch_quarantine(quarantine);
            entry.unit = unit;
        }
        let entry = &mut self.sinks[at].1;
        let Some(value) = &record.value else {
            entry.sink.tombstone();
            return Ok(());
        };
        entry.sink.accept(
            &mut entry.keys,
            routed.outcome,
            Raw::Bytes(value),
            &record.lineage(),
            self.config.max_future_skew_ms,
            &|| Source::kafka(record),
        )
    }

    /// The position of `dataset`'s sink, made at its first record.
    fn sink_of(&mut self, dataset: &Arc<Dataset>) -> usize {
        if let Some((d, at)) = &self.last
            && Arc::ptr_eq(d, dataset)
        {
            return *at;
        }
        let at = match self.sinks.iter().position(|(d, _)| d.name == dataset.name) {
            Some(at) => at,
            None => {
                let sink = self.new_sink(dataset);
                self.sinks.push((
                    dataset.clone(),
                    BatchSink {
                        sink,
                        keys: key_set(),
                        unit: self.unit.0,
                    },
                ));
                self.sinks.len() - 1
            }
        };
        self.last = Some((dataset.clone(), at));
        at
    }

    /// A sink for `dataset`'s records of the batch.
    fn new_sink(&self, dataset: &Arc<Dataset>) -> DatasetSink<'a> {
        let names = PartNames::Object {
            base: self.name.clone(),
        };
        let (store, bucket, limits) = (
            self.ports.store,
            &self.config.curated_bucket,
            self.config.limits,
        );
        let curated = if self.config.encode_thread {
            let (writer, encoder) =
                CuratedWriter::piped(dataset.clone(), store, bucket, names, limits);
            self.scope.spawn(move || encoder.run());
            writer
        } else {
            CuratedWriter::new(dataset.clone(), store, bucket, names, limits)
        };
        let unit = PendingUnit::Kafka {
            name: self.name.clone(),
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
            &self.unit.1,
            self.unit.2,
            dataset,
        )
    }

    /// A record of no dataset: quarantined as unrouted (a tombstone is only counted).
    fn unrouted(
        &mut self,
        record: &StreamRecord,
        error: Option<RecordError>,
    ) -> Result<(), IngestError> {
        let unit = self.unit.0;
        if self.unrouted.len() <= unit {
            // One entry per unit, in unit order; units without unrouted records stay empty.
            while self.unrouted.len() <= unit {
                self.unrouted.push(Unrouted {
                    writer: self.quarantine(UNROUTED),
                    report: DatasetReport::default(),
                });
            }
        }
        let entry = &mut self.unrouted[unit];
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

    /// Completes every object (each dataset's data files, then its quarantine objects and
    /// pending manifest; then the unrouted records' objects) and adds the reports.
    pub(crate) fn finish(self, report: &mut InvocationReport) -> Result<(), IngestError> {
        for (dataset, entry) in self.sinks {
            report.add(&dataset.name, entry.sink.finish()?);
        }
        for mut u in self.unrouted {
            if let Some(object) = u.writer.finish()? {
                u.report.objects.push(object);
            }
            if u.report != DatasetReport::default() {
                report.add(UNROUTED, u.report);
            }
        }
        Ok(())
    }
}
