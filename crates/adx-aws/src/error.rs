//! Errors of the AWS adapters and administration, and how an SDK error is described.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A failure outside the core's ports: configuration, or an AWS call of the administration.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The AWS configuration cannot be used.
    #[error("AWS configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// An AWS call failed.
    #[error("{operation} {target}: {message}")]
    Call {
        /// The API operation (`CreateSchema`, ...).
        operation: &'static str,
        /// What it was called on.
        target: String,
        /// The service's error code and message, or the transport failure.
        message: String,
    },
    /// A request was refused for a reason of ours (an incompatible schema change, ...).
    #[error("{0}")]
    Refused(String),
}

/// One line describing an SDK error: the service's code and message when the service answered,
/// the whole chain of causes otherwise.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => DisplayErrorContext(error).to_string(),
            }
        }
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// The service's error code, when the service answered.
pub fn code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The HTTP status of the answer, when there was one.
pub fn status<E>(error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}
