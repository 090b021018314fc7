//! The Lambda runtime loop shared by the function mains: JSON logs, configuration and adapters
//! built once per process, then each event parsed and handled on a blocking thread (the core is
//! CPU work). The event is parsed by its own parser ([`Event::parse`]), not by the runtime.

use crate::event::Event;
use crate::raw_body::{RawBodies, RawBodyLayer, Unread};
use crate::{Adapters, HandlerConfig, HandlerError, observe};
use adx_core::InvocationReport;
use lambda_runtime::{Error, LambdaEvent, Runtime, layers::TracingLayer, service_fn};
use std::sync::Arc;

/// Stack of the threads that parse events and run handlers: that of a main thread, as under
/// `adx invoke`. Parsers refuse nesting past 255 levels, which needs more than Tokio's 2 MiB in
/// a debug build.
pub const HANDLER_STACK_BYTES: usize = 8 << 20;

/// A handler of events of type `E`.
pub type Handler<E> = fn(&Adapters, &HandlerConfig, &E) -> Result<InvocationReport, HandlerError>;

/// The whole main of a Lambda function: tunes the allocator before any thread exists, then
/// starts the Tokio runtime and serves `handler` until the Lambda runtime stops.
pub fn main<E: Event>(handler: Handler<E>) -> Result<(), Error> {
    crate::allocator::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(HANDLER_STACK_BYTES)
        .build()?
        .block_on(serve(handler))
}

/// Serves `handler` until the runtime stops.
pub async fn serve<E: Event>(handler: Handler<E>) -> Result<(), Error> {
    let metrics_level = Arc::new(observe::init_lambda_logs());
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
    let bodies = RawBodies::default();
    let taken = bodies.clone();
    let service = service_fn(move |event: LambdaEvent<Unread>| {
        let function = function.clone();
        let metrics_level = metrics_level.clone();
        let config = config.clone();
        let adapters = adapters.clone();
        let body = taken.take(&event.context.request_id);
        async move {
            let started = std::time::Instant::now();
            let outcome = tokio::task::spawn_blocking(move || {
                let body = body.ok_or_else(|| {
                    HandlerError::Event("the invocation's body was not kept".into())
                })?;
                let event = E::parse(&body).map_err(HandlerError::Event)?;
                handler(&adapters, &config, &event)
            })
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
            for document in
                observe::emf_documents(&function, &report, now_ms, duration_ms, &metrics_level)
            {
                // EMF documents go to stdout as they are: CloudWatch Logs extracts the metrics.
                println!("{document}");
            }
            println!("{}", observe::summary(&function, &report, duration_ms));
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    });
    // As `lambda_runtime::run` does, plus the layer that keeps the body for `E::parse`.
    Runtime::new(service)
        .layer(TracingLayer::new())
        .layer(RawBodyLayer(bodies))
        .run()
        .await
}
