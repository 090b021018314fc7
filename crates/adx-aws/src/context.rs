//! The process-wide AWS context: the shared SDK configuration (region, credentials, endpoints,
//! retries, timeouts), the clients built from it once, and the runtime their calls run on.

use crate::AwsError;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::future::Future;
use std::time::Duration;

/// Retry and timeout settings of every SDK client.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Attempts per call, the first included (throttling and transient errors are retried with
    /// exponential backoff and jitter by the SDK's standard retry strategy).
    pub max_attempts: u32,
    /// First backoff before a retry.
    pub initial_backoff: Duration,
    /// Connection set-up bound.
    pub connect_timeout: Duration,
    /// Bound on one socket read while waiting for an answer or streaming a body.
    pub read_timeout: Duration,
    /// Bound on one attempt of one call, up to its answer's head.
    pub attempt_timeout: Duration,
    /// An endpoint for every service, in place of `AWS_ENDPOINT_URL` (tests, emulators).
    pub endpoint_url: Option<String>,
    /// A region, in place of the standard sources.
    pub region: Option<String>,
    /// Fixed credentials (access key id, secret), in place of the standard chain.
    pub static_credentials: Option<(String, String)>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(60),
            endpoint_url: None,
            region: None,
            static_credentials: None,
        }
    }
}

impl AwsSettings {
    /// Defaults, overridden by `ADX_AWS_MAX_ATTEMPTS`, `ADX_AWS_CONNECT_TIMEOUT_MS`,
    /// `ADX_AWS_READ_TIMEOUT_MS` and `ADX_AWS_ATTEMPT_TIMEOUT_MS` where set.
    pub fn from_env() -> Result<AwsSettings, AwsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// The same, with the variables read through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<AwsSettings, AwsError> {
        let number = |name: &str| -> Result<Option<u64>, AwsError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                Some(text) => text.trim().parse().map(Some).map_err(|_| AwsError::Config {
                    message: format!("{name}={text:?} is not a whole number"),
                }),
                None => Ok(None),
            }
        };
        let mut settings = AwsSettings::default();
        if let Some(n) = number("ADX_AWS_MAX_ATTEMPTS")? {
            settings.max_attempts = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        }
        if let Some(ms) = number("ADX_AWS_CONNECT_TIMEOUT_MS")? {
            settings.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number("ADX_AWS_READ_TIMEOUT_MS")? {
            settings.read_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = number("ADX_AWS_ATTEMPT_TIMEOUT_MS")? {
            settings.attempt_timeout = Duration::from_millis(ms);
        }
        Ok(settings)
    }
}

/// The SDK configuration and clients of one process, with the runtime their calls run on.
///
/// Built once, outside the handler; cheap to share by reference. Nothing here talks to AWS
/// until a call is made (credentials are resolved on first use).
pub struct AwsContext {
    runtime: Option<tokio::runtime::Runtime>,
    s3: aws_sdk_s3::Client,
    glue: aws_sdk_glue::Client,
    kafka: aws_sdk_kafka::Client,
    region: Option<String>,
    sdk: aws_config::SdkConfig,
}

impl AwsContext {
    /// Loads the SDK configuration from the standard sources (environment variables such as
    /// `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_GLUE`, profiles,
    /// the Lambda role) and builds the clients. S3 uses path-style addressing when an endpoint
    /// is set, as emulators need.
    pub fn load(settings: &AwsSettings) -> Result<AwsContext, AwsError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("adx-aws")
            .enable_all()
            .build()
            .map_err(|e| AwsError::Config {
                message: format!("starting the AWS I/O runtime: {e}"),
            })?;
        let retry = RetryConfig::standard()
            .with_max_attempts(settings.max_attempts)
            .with_initial_backoff(settings.initial_backoff);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .operation_attempt_timeout(settings.attempt_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some((id, secret)) = &settings.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                secret,
                None,
                None,
                "adx-settings",
            ));
        }
        let sdk = runtime.block_on(loader.load());
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(settings.endpoint_url.is_some() || endpoint_is_set("S3"))
            .build();
        Ok(AwsContext {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            glue: aws_sdk_glue::Client::new(&sdk),
            kafka: aws_sdk_kafka::Client::new(&sdk),
            region: sdk.region().map(|r| r.to_string()),
            sdk,
            runtime: Some(runtime),
        })
    }

    /// Runs `future` to completion on the context's runtime. Call it from plain threads (the
    /// handler's blocking thread, the CLI), never from inside an async task.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            None => unreachable!("the runtime lives as long as the context"),
        }
    }

    /// A handle on the runtime, for readers and writers that outlive one call.
    pub fn handle(&self) -> tokio::runtime::Handle {
        match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable!("the runtime lives as long as the context"),
        }
    }

    /// The S3 client.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// The Glue client.
    pub fn glue(&self) -> &aws_sdk_glue::Client {
        &self.glue
    }

    /// The MSK (Kafka) control-plane client.
    pub fn kafka(&self) -> &aws_sdk_kafka::Client {
        &self.kafka
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The shared SDK configuration, for the clients only some commands need (each built
    /// where it is used, so that the Lambda functions never compile them).
    pub fn sdk_config(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }
}

impl Drop for AwsContext {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's task panics; shutting it down in the
        // background never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Whether an endpoint override is set for `service` (`AWS_ENDPOINT_URL_<SERVICE>` or
/// `AWS_ENDPOINT_URL`), as for an emulator.
pub fn endpoint_is_set(service: &str) -> bool {
    let specific = format!("AWS_ENDPOINT_URL_{service}");
    [specific.as_str(), "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
        && std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").map_or(true, |v| v != "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings that never reach AWS (the calls made here need no answer).
    fn offline() -> AwsSettings {
        AwsSettings {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            static_credentials: Some(("test".into(), "test".into())),
            ..AwsSettings::default()
        }
    }

    #[test]
    fn calls_block_on_from_the_contexts_own_blocking_threads() {
        // The S3 writer completes objects with `spawn_blocking` on the context's runtime, and
        // the completion blocks on that same runtime.
        let settings = offline();
        let Ok(context) = AwsContext::load(&settings) else {
            panic!("building the context failed");
        };
        let handle = context.handle();
        let inner = handle.clone();
        let task = handle.spawn_blocking(move || inner.block_on(async { 7 }));
        assert_eq!(context.block_on(task).ok(), Some(7));
    }

    #[test]
    fn calls_block_on_from_a_blocking_thread_of_another_runtime() {
        // The Lambda loop runs the handler with spawn_blocking on its own runtime; the adapters
        // then block on the context's runtime from that thread.
        let settings = offline();
        let context = std::sync::Arc::new(AwsContext::load(&settings).map_err(|e| e.to_string()));
        let lambda = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string());
        let (Ok(lambda), Ok(_)) = (lambda, context.as_ref()) else {
            panic!("building the runtimes failed");
        };
        let shared = context.clone();
        let answer = lambda.block_on(async move {
            tokio::task::spawn_blocking(move || match shared.as_ref() {
                Ok(context) => context.block_on(async { 7 }),
                Err(_) => 0,
            })
            .await
        });
        assert_eq!(answer.ok(), Some(7));
    }
}
