//! Event handlers shared by the Lambda functions and the `adx` CLI: they turn a Lambda event
//! into calls of the core, with adapters chosen from the environment, and answer with the
//! per-dataset report. The Lambda mains and `adx invoke` run exactly this code.

#![warn(missing_docs)]

pub mod adapters;
pub mod allocator;
pub mod config;
pub mod event;
pub mod failed_batch;
pub mod file_ingest;
pub mod kafka_event;
pub mod lambda;
pub mod observe;
pub mod raw_body;
pub mod s3_event;
pub mod stream_ingest;

pub use adapters::Adapters;
pub use config::HandlerConfig;
pub use file_ingest::handle_s3_event;
pub use stream_ingest::handle_kafka_event;

/// Why an invocation failed (so Lambda retries it).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A setting is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The event cannot be understood.
    #[error("event: {0}")]
    Event(String),
    /// An infrastructure fault in the core (store, registry).
    #[error(transparent)]
    Ingest(#[from] adx_core::IngestError),
}
