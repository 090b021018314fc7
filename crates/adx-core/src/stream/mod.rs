//! Stream ingestion of one batch of Kafka records (what the MSK event source mapping hands to
//! Lambda): route each value to a dataset and decode it ([`routing`]: Glue-framed Avro, or plain
//! JSON), and send it through the same sinks as files, one per dataset for the whole batch
//! ([`batch`]): the batch writes one data file per dataset and event-time hour, however many
//! partitions it holds, named after the batch's offsets, and one pending manifest per dataset
//! with the batch's offset range of each topic-partition. Quarantine objects stay per
//! (dataset, topic, partition), named after their first entry. With more than one core, each
//! dataset's Parquet is encoded on a thread of its own while the batch is read; the objects are
//! the same bytes either way.

mod batch;
mod routing;

use crate::error::IngestError;
pub use crate::kafka_record::{SchemaMetadata, StreamRecord};
use crate::model::datum::Datum;
use crate::naming::batch_name;
use crate::pipeline::{IngestConfig, Ports};
use crate::report::InvocationReport;
use batch::BatchSinks;
pub(crate) use routing::{Routed, Router};
use std::collections::BTreeMap;
use std::sync::Arc;

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
    let units: Vec<&[&StreamRecord]> = order
        .chunk_by(|a, b| a.partition == b.partition && same_topic(a, b))
        .collect();
    let name = batch_name(units.iter().filter_map(|unit| {
        let (first, last) = (unit.first()?, unit.last()?);
        Some((&*first.topic, first.partition, first.offset, last.offset))
    }));
    let mut router = Router::new(ports, config);
    let mut report = InvocationReport::default();
    std::thread::scope(|scope| {
        let mut sinks = BatchSinks::new(scope, ports, &config.ingest, name);
        for (number, unit) in units.iter().enumerate() {
            let Some(first) = unit.first() else {
                continue;
            };
            sinks.begin_unit(number, first.topic.clone(), first.partition);
            for &record in *unit {
                let routed = match &record.value {
                    None => Routed {
                        dataset: router.topic_dataset(&record.topic)?,
                        outcome: Ok(Datum::Null),
                    },
                    Some(value) => router.route(record, value)?,
                };
                sinks.take(record, routed)?;
            }
        }
        sinks.finish(&mut report)?;
        Ok(report)
    })
}
