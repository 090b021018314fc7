//! The MSK-triggered stream-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

fn main() -> Result<(), lambda_runtime::Error> {
    // Before the runtime starts any thread.
    adx_handlers::allocator::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(adx_handlers::lambda::serve::<
            adx_handlers::kafka_event::MskEvent,
        >(adx_handlers::handle_kafka_event))
}
