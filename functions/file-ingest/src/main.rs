//! The S3-triggered file-ingest Lambda: builds the adapters once, then runs the shared handler
//! of `adx-handlers` on each event (on a blocking thread: the core is CPU work).

use adx_handlers::{Adapters, HandlerConfig, HandlerError, handle_s3_event};
use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = Arc::new(HandlerConfig::from_env()?);
    let adapters = Arc::new(Adapters::from_config(&config)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let config = config.clone();
        let adapters = adapters.clone();
        async move {
            let report = tokio::task::spawn_blocking(move || {
                handle_s3_event(&adapters, &config, &event.payload)
            })
            .await
            .map_err(|e| HandlerError::Event(format!("handler thread: {e}")))??;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
