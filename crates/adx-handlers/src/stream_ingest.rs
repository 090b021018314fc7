//! The stream-ingest handler: one MSK event (a batch of Kafka records) through the core.

use crate::kafka_event::MskEvent;
use crate::{Adapters, HandlerConfig, HandlerError};
use adx_core::InvocationReport;
use adx_core::ingest_batch;

/// Handles one MSK event; fails (so Lambda retries the batch) on any store or registry fault.
pub fn handle_kafka_event(
    adapters: &Adapters,
    config: &HandlerConfig,
    event: &MskEvent,
) -> Result<InvocationReport, HandlerError> {
    let report = ingest_batch(adapters.ports(), &config.stream_config(), &event.records)?;
    for (dataset, r) in &report.datasets {
        tracing::info!(
            dataset = %dataset, received = r.received, curated = r.curated, quarantined = r.quarantined,
            duplicates = r.duplicates, tombstones = r.tombstones, "batch ingested"
        );
    }
    Ok(report)
}
