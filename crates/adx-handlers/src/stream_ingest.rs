//! The stream-ingest handler: one MSK event (a batch of Kafka records) through the core.

use crate::kafka_event::stream_records;
use crate::{Adapters, HandlerConfig, HandlerError};
use adx_core::InvocationReport;
use adx_core::stream::ingest_batch;
use aws_lambda_events::event::kafka::KafkaEvent;

/// Handles one MSK event; fails (so Lambda retries the batch) on any store or registry fault.
pub fn handle_kafka_event(
    adapters: &Adapters,
    config: &HandlerConfig,
    event: &KafkaEvent,
) -> Result<InvocationReport, HandlerError> {
    let records = stream_records(event).map_err(HandlerError::Event)?;
    let report = ingest_batch(adapters.ports(), &config.stream_config(), &records)?;
    for (dataset, r) in &report.datasets {
        tracing::info!(
            dataset = %dataset, received = r.received, curated = r.curated, quarantined = r.quarantined,
            duplicates = r.duplicates, tombstones = r.tombstones, "batch ingested"
        );
    }
    Ok(report)
}
