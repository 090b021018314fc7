//! The MSK-triggered stream-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    adx_handlers::lambda::serve::<adx_handlers::kafka_event::MskEvent>(
        adx_handlers::handle_kafka_event,
    )
    .await
}
