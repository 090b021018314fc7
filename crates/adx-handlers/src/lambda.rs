//! The Lambda runtime loop shared by the function mains: JSON logs, configuration and adapters
//! built once per process, then each event handled on a blocking thread (the core is CPU work).

use crate::{Adapters, HandlerConfig, HandlerError, observe};
use adx_core::InvocationReport;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A handler of events of type `E`.
pub type Handler<E> = fn(&Adapters, &HandlerConfig, &E) -> Result<InvocationReport, HandlerError>;

/// The whole main of a Lambda function: tunes the allocator before any thread exists, then
/// starts the Tokio runtime and serves `handler` until the Lambda runtime stops.
pub fn main<E>(handler: Handler<E>) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
{
    crate::allocator::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(handler))
}

/// Serves `handler` until the runtime stops.
pub async fn serve<E>(handler: Handler<E>) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = Arc::new(HandlerConfig::from_env()?);
    // The AWS adapters start their own runtime and block on it, which a task of this runtime
    // must not do: build them on a blocking thread.
    let for_adapters = config.clone();
    let adapters = Arc::new(
        tokio::task::spawn_blocking(move || Adapters::from_config(&for_adapters))
            .await
            .map_err(|e| HandlerError::Config(format!("building the adapters: {e}")))??,
    );
    let function =
        Arc::new(std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "adx".to_string()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let function = function.clone();
        let config = config.clone();
        let adapters = adapters.clone();
        async move {
            let started = std::time::Instant::now();
            let outcome =
                tokio::task::spawn_blocking(move || handler(&adapters, &config, &event.payload))
                    .await
                    .map_err(|e| HandlerError::Event(format!("handler thread: {e}")))
                    .and_then(|r| r);
            let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            let report = match outcome {
                Ok(report) => report,
                Err(e) => {
                    // Lambda retries the invocation; its Errors metric counts it.
                    tracing::error!(function = %function, duration_ms, error = %e, "invocation failed");
                    return Err(Error::from(e));
                }
            };
            let now_ms = chrono::Utc::now().timestamp_millis();
            for document in observe::emf_documents(&function, &report, now_ms, duration_ms) {
                // EMF documents go to stdout as they are: CloudWatch Logs extracts the metrics.
                println!("{document}");
            }
            println!("{}", observe::summary(&function, &report, duration_ms));
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
