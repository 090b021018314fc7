//! The S3-triggered file-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

fn main() -> Result<(), lambda_runtime::Error> {
    // Before the runtime starts any thread.
    adx_handlers::allocator::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(adx_handlers::lambda::serve::<
            aws_lambda_events::event::s3::S3Event,
        >(adx_handlers::handle_s3_event))
}
