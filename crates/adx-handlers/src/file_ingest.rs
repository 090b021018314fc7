//! The file-ingest handler: every object an S3 event announces goes through the core, and the
//! answer gathers the per-dataset reports.

use crate::s3_event::object_source;
use crate::{Adapters, HandlerConfig, HandlerError};
use adx_core::StoreError;
use adx_core::{IngestError, InvocationReport, ingest_object};
use aws_lambda_events::event::s3::S3Event;

/// Handles one S3 event; fails (so Lambda retries) on any store or registry fault.
pub fn handle_s3_event(
    adapters: &Adapters,
    config: &HandlerConfig,
    event: &S3Event,
) -> Result<InvocationReport, HandlerError> {
    let mut report = InvocationReport::default();
    for record in &event.records {
        let Some(source) = object_source(record).map_err(HandlerError::Event)? else {
            tracing::info!(event_name = ?record.event_name, "skipping a record that is not an object creation");
            continue;
        };
        let (dataset, dataset_report) =
            match ingest_object(adapters.ports(), &config.ingest, &source) {
                Ok(result) => result,
                // The object was deleted (or replaced) before its event was handled: retrying
                // cannot bring it back, so it is logged and skipped.
                Err(IngestError::Store(StoreError::NotFound { bucket, key })) => {
                    tracing::warn!(%bucket, %key, "the object no longer exists; skipped");
                    continue;
                }
                // The key holds newer content than the event announced: that content has its
                // own event, which ingests it.
                Err(IngestError::Store(e @ StoreError::Changed { .. })) => {
                    tracing::warn!(error = %e, "the object was replaced since its event; skipped");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
        tracing::info!(
            bucket = %source.bucket, key = %source.key, dataset = %dataset,
            received = dataset_report.received, curated = dataset_report.curated,
            quarantined = dataset_report.quarantined, duplicates = dataset_report.duplicates,
            "object ingested"
        );
        report.add(&dataset, dataset_report);
    }
    Ok(report)
}
