//! The MSK-triggered stream-ingest Lambda: builds the adapters once, then runs the shared
//! handler of `adx-handlers` on each batch (on a blocking thread: the core is CPU work).

use adx_handlers::{Adapters, HandlerConfig, HandlerError, handle_kafka_event};
use aws_lambda_events::event::kafka::KafkaEvent;
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KafkaEvent>| {
        let config = config.clone();
        let adapters = adapters.clone();
        async move {
            let report = tokio::task::spawn_blocking(move || {
                handle_kafka_event(&adapters, &config, &event.payload)
            })
            .await
            .map_err(|e| HandlerError::Event(format!("handler thread: {e}")))??;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
