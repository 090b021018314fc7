//! The scheduled table-commit Lambda: a thin main that builds the committer's adapters once
//! (S3, the Glue Schema Registry, the Glue Data Catalog; `adx_tables::aws`) and runs the
//! committer once per invocation (an EventBridge schedule, whatever its event says). A run that
//! refused a table (its contract cannot be followed) commits the others, then fails the
//! invocation, which raises the function's Errors alarm.

use adx_handlers::observe;
use adx_tables::aws::{AwsCommitter, CommitterSettings};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;

fn main() -> Result<(), Error> {
    let metrics_level = observe::init_lambda_logs();
    // The adapters start their own runtime and block on it: built before the Lambda's runtime.
    let committer = Arc::new(AwsCommitter::new(CommitterSettings::from_env()?)?);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_runtime::run(service_fn(
            move |_event: LambdaEvent<serde_json::Value>| {
                let committer = committer.clone();
                let metrics_level = metrics_level.clone();
                async move {
                    let report = tokio::task::spawn_blocking(move || committer.run_once())
                        .await
                        .map_err(|e| Error::from(format!("committer thread: {e}")))??;
                    let answer = serde_json::to_value(&report)?;
                    tracing::info!(records = report.records(), report = %answer, "committed");
                    // EMF on stdout: CloudWatch Logs turns it into the metrics the alarms watch.
                    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                        .unwrap_or_else(|_| "table-commit".into());
                    let now_ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    println!("{}", report.emf_document(&function, now_ms, &metrics_level));
                    if !report.refused.is_empty() {
                        return Err(Error::from(format!(
                            "tables refused (their manifests stay pending): {}",
                            serde_json::to_string(&report.refused)?
                        )));
                    }
                    Ok::<_, Error>(answer)
                }
            },
        )))
}
