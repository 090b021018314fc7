//! The MSK-triggered stream-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

fn main() -> Result<(), lambda_runtime::Error> {
    adx_handlers::lambda::main::<adx_handlers::kafka_event::MskEvent>(
        adx_handlers::handle_kafka_event,
    )
}
