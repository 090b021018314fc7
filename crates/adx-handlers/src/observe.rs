//! What operators see of each invocation: one structured JSON log line with the counts and
//! the duration, and the same counts as CloudWatch embedded metric format (EMF) documents,
//! one per dataset, which CloudWatch turns into metrics (namespace [`NAMESPACE`]) with the
//! dimensions `Function` and `Function, Dataset`.

use adx_core::InvocationReport;
use serde_json::{Map, Value, json};

/// The CloudWatch namespace of the functions' metrics.
pub const NAMESPACE: &str = "AdvertiseX/Ingestion";

/// The application log level Lambda filters the function's logs at (`AWS_LAMBDA_LOG_LEVEL`,
/// which Lambda sets from the function's ApplicationLogLevel), upper case; none when unset.
pub fn platform_log_level(get: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    get("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.trim().to_ascii_uppercase())
        .filter(|l| !l.is_empty())
}

/// The `tracing` filter for Lambda's level: its logs below the level would be dropped by Lambda
/// anyway, so they are not even formatted. `info` when no level is set.
pub fn tracing_directive(level: Option<&str>) -> &'static str {
    match level {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR" | "FATAL") => "error",
        _ => "info",
    }
}

/// The level the metric documents carry: Lambda's own filter level, so that its log-level
/// filtering never drops a metric (a line without a level counts as INFO, which a WARN filter
/// drops); INFO when no level is set.
pub fn metrics_level(level: Option<&str>) -> &str {
    level.unwrap_or("INFO")
}

/// Starts the JSON logs of a Lambda function at Lambda's log level (`AWS_LAMBDA_LOG_LEVEL`);
/// returns the level its metric documents carry ([`metrics_level`]).
pub fn init_lambda_logs() -> String {
    let level = platform_log_level(&|name| std::env::var(name).ok());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(tracing_directive(
            level.as_deref(),
        )))
        .with_target(false)
        .without_time()
        .init();
    metrics_level(level.as_deref()).to_string()
}

/// The EMF documents of one invocation, one per dataset of the report, at `level` (see
/// [`metrics_level`]).
pub fn emf_documents(
    function: &str,
    report: &InvocationReport,
    timestamp_ms: i64,
    duration_ms: f64,
    level: &str,
) -> Vec<Value> {
    report
        .datasets
        .iter()
        .map(|(dataset, r)| {
            let mut metrics = vec![
                ("Received", "Count", json!(r.received)),
                ("Curated", "Count", json!(r.curated)),
                ("Quarantined", "Count", json!(r.quarantined)),
                ("Duplicates", "Count", json!(r.duplicates)),
                ("Tombstones", "Count", json!(r.tombstones)),
                ("BytesWritten", "Bytes", json!(r.bytes_written())),
                ("DurationMs", "Milliseconds", json!(duration_ms)),
            ];
            if let Some(lag) = r.max_event_lag_ms {
                metrics.push(("EventTimeLagMs", "Milliseconds", json!(lag)));
            }
            let definitions: Vec<Value> = metrics
                .iter()
                .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
                .collect();
            let mut document = Map::new();
            document.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Function"], ["Function", "Dataset"]],
                        "Metrics": definitions,
                    }],
                }),
            );
            document.insert("level".into(), json!(level));
            document.insert("Function".into(), json!(function));
            document.insert("Dataset".into(), json!(dataset));
            for (name, _, value) in metrics {
                document.insert(name.into(), value);
            }
            Value::Object(document)
        })
        .collect()
}

/// The invocation's log line: counts per dataset and in total, and the duration.
pub fn summary(function: &str, report: &InvocationReport, duration_ms: f64) -> Value {
    let mut total =
        json!({"received": 0, "curated": 0, "quarantined": 0, "duplicates": 0, "tombstones": 0});
    let mut datasets = Map::new();
    for (name, r) in &report.datasets {
        for (key, value) in [
            ("received", r.received),
            ("curated", r.curated),
            ("quarantined", r.quarantined),
            ("duplicates", r.duplicates),
            ("tombstones", r.tombstones),
        ] {
            total[key] = json!(total[key].as_u64().unwrap_or(0) + value);
        }
        datasets.insert(
            name.clone(),
            json!({
                "received": r.received, "curated": r.curated, "quarantined": r.quarantined,
                "duplicates": r.duplicates, "tombstones": r.tombstones,
                "objects": r.objects.len(), "bytes_written": r.bytes_written(),
                "max_event_lag_ms": r.max_event_lag_ms,
            }),
        );
    }
    json!({
        "message": "invocation done",
        "function": function,
        "duration_ms": duration_ms,
        "totals": total,
        "datasets": datasets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use adx_core::DatasetReport;

    fn report() -> InvocationReport {
        let mut report = InvocationReport::default();
        report.add(
            "click_conversions",
            DatasetReport {
                received: 10,
                curated: 7,
                quarantined: 2,
                duplicates: 1,
                max_event_lag_ms: Some(1500),
                ..DatasetReport::default()
            },
        );
        report.add(
            "ad_impressions",
            DatasetReport {
                received: 4,
                curated: 4,
                ..DatasetReport::default()
            },
        );
        report
    }

    #[test]
    fn every_declared_metric_and_dimension_is_in_the_document() {
        let documents = emf_documents("file-ingest", &report(), 1_795_845_600_000, 12.5, "WARN");
        assert_eq!(documents.len(), 2);
        for document in &documents {
            let spec = &document["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(spec["Namespace"], NAMESPACE);
            for set in spec["Dimensions"].as_array().into_iter().flatten() {
                for dimension in set.as_array().into_iter().flatten() {
                    let name = dimension.as_str().unwrap_or_default();
                    assert!(document[name].is_string(), "dimension {name}: {document}");
                }
            }
            for metric in spec["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default();
                assert!(document[name].is_number(), "metric {name}: {document}");
            }
        }
        let clicks = documents
            .iter()
            .find(|d| d["Dataset"] == "click_conversions");
        assert_eq!(clicks.map(|d| d["Quarantined"].clone()), Some(json!(2)));
        assert_eq!(
            clicks.map(|d| d["EventTimeLagMs"].clone()),
            Some(json!(1500))
        );
        let impressions = documents.iter().find(|d| d["Dataset"] == "ad_impressions");
        assert!(impressions.is_some_and(|d| d.get("EventTimeLagMs").is_none()));
    }

    #[test]
    fn the_summary_adds_up_the_datasets() {
        let line = summary("stream-ingest", &report(), 3.0);
        assert_eq!(
            line["totals"],
            json!({"received": 14, "curated": 11, "quarantined": 2, "duplicates": 1, "tombstones": 0})
        );
        assert_eq!(
            line["datasets"]["click_conversions"]["max_event_lag_ms"],
            1500
        );
    }

    #[test]
    fn metrics_pass_lambdas_log_level_filter_and_logs_follow_it() {
        let env = |level: &'static str| {
            move |name: &str| (name == "AWS_LAMBDA_LOG_LEVEL").then(|| level.to_string())
        };
        let warn = platform_log_level(&env("warn"));
        assert_eq!(warn.as_deref(), Some("WARN"));
        assert_eq!(tracing_directive(warn.as_deref()), "warn");
        assert_eq!(metrics_level(warn.as_deref()), "WARN");
        assert_eq!(platform_log_level(&|_| None), None);
        assert_eq!(metrics_level(None), "INFO");
        assert_eq!(tracing_directive(None), "info");
        assert_eq!(tracing_directive(Some("FATAL")), "error");
        for document in emf_documents("f", &report(), 0, 1.0, "ERROR") {
            assert_eq!(document["level"], "ERROR");
        }
    }
}
