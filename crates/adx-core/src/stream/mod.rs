//! Stream ingestion of one batch of Kafka records (what the MSK event source mapping hands to
//! Lambda): route each value to a dataset and decode it ([`routing`]: Glue-framed Avro, or plain
//! JSON), and send it through the same sinks as files, one set per topic-partition ([`unit`]).
//! Objects are named per (dataset, topic, partition) after the Kafka Connect convention, so a
//! retried batch overwrites its earlier output. With more than one core, a partition's objects
//! are encoded and stored on a thread of their own while the next partition is read
//! ([`finishers`]); the objects are the same bytes either way.

mod finishers;
mod routing;
mod unit;

use crate::error::IngestError;
pub use crate::kafka_record::{SchemaMetadata, StreamRecord};
use crate::model::datum::Datum;
use crate::pipeline::{IngestConfig, Ports};
use crate::report::InvocationReport;
use finishers::{Finishers, MAX_UNITS_FINISHING};
pub(crate) use routing::{Routed, Router};
use std::collections::BTreeMap;
use std::sync::Arc;
use unit::{BatchKeys, UnitSinks};

/// Settings of stream ingestion.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The pipeline settings shared with file ingestion.
    pub ingest: IngestConfig,
    /// `TOPIC_DATASETS`: topic → dataset, for topics not named after their dataset.
    pub topic_datasets: BTreeMap<String, String>,
    /// Largest size a zlib-compressed datum may inflate to.
    pub max_datum_bytes: u64,
}

/// Records of one topic share its name (`Arc`): compared by address before by text.
fn same_topic(a: &StreamRecord, b: &StreamRecord) -> bool {
    Arc::ptr_eq(&a.topic, &b.topic) || a.topic == b.topic
}

/// The batch's records by topic, partition and offset.
fn in_unit_order(records: &[StreamRecord]) -> Vec<&StreamRecord> {
    let mut order: Vec<&StreamRecord> = records.iter().collect();
    order.sort_by(|a, b| {
        let topic = if same_topic(a, b) {
            std::cmp::Ordering::Equal
        } else {
            a.topic.cmp(&b.topic)
        };
        topic.then((a.partition, a.offset).cmp(&(b.partition, b.offset)))
    });
    order
}

/// Ingests one batch; fails (so that Lambda retries the batch) on any store or registry fault.
pub fn ingest_batch(
    ports: Ports<'_>,
    config: &StreamConfig,
    records: &[StreamRecord],
) -> Result<InvocationReport, IngestError> {
    let order = in_unit_order(records);
    let mut router = Router::new(ports, config);
    let mut keys = BatchKeys::default();
    let mut report = InvocationReport::default();
    let ingest = &config.ingest;
    // One topic-partition at a time: each object is named after the first record it holds.
    // De-duplication across units stays on this thread, in record order, so the objects are
    // the same whether units are finished here or on threads of their own.
    let threads = if ingest.encode_thread {
        MAX_UNITS_FINISHING
    } else {
        0
    };
    std::thread::scope(|scope| {
        let mut finishers = Finishers::new(scope, threads);
        let mut units = order
            .chunk_by(|a, b| a.partition == b.partition && same_topic(a, b))
            .peekable();
        while let Some(unit) = units.next() {
            let Some(first) = unit.first() else {
                continue;
            };
            let mut sinks = UnitSinks::new(ports, ingest, first.topic.clone(), first.partition);
            for &record in unit {
                let routed = match &record.value {
                    None => Routed {
                        dataset: router.topic_dataset(&record.topic)?,
                        outcome: Ok(Datum::Null),
                    },
                    Some(value) => router.route(record, value)?,
                };
                sinks.take(&mut keys, record, routed)?;
            }
            finishers.push(sinks, units.peek().is_none(), &mut report)?;
        }
        finishers.drain(&mut report)?;
        Ok(report)
    })
}
