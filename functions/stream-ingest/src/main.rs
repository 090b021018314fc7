//! The MSK-triggered stream-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    adx_handlers::lambda::serve::<aws_lambda_events::event::kafka::KafkaEvent>(
        adx_handlers::handle_kafka_event,
    )
    .await
}
