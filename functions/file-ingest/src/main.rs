//! The S3-triggered file-ingest Lambda: a thin main that serves the shared handler of `adx-handlers`.

fn main() -> Result<(), lambda_runtime::Error> {
    adx_handlers::lambda::main::<aws_lambda_events::event::s3::S3Event>(
        adx_handlers::handle_s3_event,
    )
}
