//! Handler settings, read from the environment under the names of DESIGN.md section 5 (the
//! same names in template.yaml and locally).

use crate::HandlerError;
use adx_core::IngestConfig;
use adx_core::MAX_ENCODE_WORKERS;
use adx_core::WriterLimits;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the handlers read from the environment.
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// Pipeline settings (buckets, skew, size bounds).
    pub ingest: IngestConfig,
    /// Glue registry name (`REGISTRY_NAME`, default `advertisex`).
    pub registry_name: String,
    /// `ADX_STORE_ROOT`: a local directory instead of S3.
    pub store_root: Option<PathBuf>,
    /// `ADX_SCHEMA_DIR`: a local folder of `.avsc` files instead of Glue.
    pub schema_dir: Option<PathBuf>,
    /// `TOPIC_DATASETS` (`topic=dataset,...`): topics not named after their dataset.
    pub topic_datasets: BTreeMap<String, String>,
    /// `SCHEMA_CACHE_TTL_SECONDS`: how long the latest reader schema is cached (default 300).
    pub schema_cache_ttl: Duration,
    /// `ADX_MAX_DATUM_BYTES`: the most a zlib-compressed datum may inflate to (default 16 MiB).
    pub max_datum_bytes: u64,
}

/// Parses `topic=dataset,topic=dataset`.
pub fn parse_topic_datasets(text: &str) -> Result<BTreeMap<String, String>, HandlerError> {
    let mut map = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (topic, dataset) = pair.split_once('=').ok_or_else(|| {
            HandlerError::Config(format!("TOPIC_DATASETS: `{pair}` is not topic=dataset"))
        })?;
        map.insert(topic.trim().to_string(), dataset.trim().to_string());
    }
    Ok(map)
}

fn parse_var<T: std::str::FromStr>(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, HandlerError> {
    match get(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| HandlerError::Config(format!("{name}={v} is not a valid number"))),
    }
}

/// `ADX_ENCODE_THREAD`: `1` encodes each object's Parquet on a second thread while the first
/// decodes (and an MSK batch's partitions' objects on threads of their own while the next
/// partition is read, and a `.gz` or `.zst` object decompressed on a third), `0` keeps all of
/// it on one; unset (or `auto`), the threads are used when the process may run on more than
/// one core (Lambda gives a second vCPU from 1,769 MB of memory).
fn encode_thread(get: &dyn Fn(&str) -> Option<String>) -> Result<bool, HandlerError> {
    match get("ADX_ENCODE_THREAD").as_deref().map(str::trim) {
        None | Some("") | Some("auto") => {
            Ok(std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
        }
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(HandlerError::Config(format!(
            "ADX_ENCODE_THREAD={other} is not 0, 1 or auto"
        ))),
    }
}

/// `ADX_ENCODE_WORKERS`: how many threads a part's Parquet columns are encoded on (the
/// encoding thread's own included); unset (or `auto`), one per core the process may use, at most
/// [`MAX_ENCODE_WORKERS`]. `1` encodes every column on the encoding thread.
fn encode_workers(get: &dyn Fn(&str) -> Option<String>) -> Result<usize, HandlerError> {
    match get("ADX_ENCODE_WORKERS").as_deref().map(str::trim) {
        None | Some("") | Some("auto") => Ok(std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_ENCODE_WORKERS)),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_ENCODE_WORKERS).contains(&n) => Ok(n),
            _ => Err(HandlerError::Config(format!(
                "ADX_ENCODE_WORKERS={v} is not auto or a number from 1 to {MAX_ENCODE_WORKERS}"
            ))),
        },
    }
}

impl HandlerConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<HandlerConfig, HandlerError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// The settings of stream ingestion (and of quarantine replay).
    pub fn stream_config(&self) -> adx_core::StreamConfig {
        adx_core::StreamConfig {
            ingest: self.ingest.clone(),
            topic_datasets: self.topic_datasets.clone(),
            max_datum_bytes: self.max_datum_bytes,
        }
    }

    /// Reads the settings through `get` (the environment, or a map in tests).
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HandlerConfig, HandlerError> {
        let required = |name: &str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| HandlerError::Config(format!("{name} is not set")))
        };
        let defaults = WriterLimits::default();
        let limits = WriterLimits {
            batch_rows: parse_var(get, "ADX_BATCH_ROWS", defaults.batch_rows)?,
            row_group_rows: parse_var(get, "ADX_ROW_GROUP_ROWS", defaults.row_group_rows)?,
            row_group_bytes: parse_var(get, "ADX_ROW_GROUP_BYTES", defaults.row_group_bytes)?,
            part_bytes: parse_var(get, "ADX_PART_BYTES", defaults.part_bytes)?,
            buffer_bytes: parse_var(get, "ADX_BUFFER_BYTES", defaults.buffer_bytes)?,
            zstd_level: parse_var(get, "ADX_ZSTD_LEVEL", defaults.zstd_level)?,
            max_open_hours: parse_var(get, "ADX_MAX_OPEN_HOURS", defaults.max_open_hours)?,
            encode_workers: encode_workers(get)?,
        };
        let skew_seconds: i64 = parse_var(get, "MAX_FUTURE_SKEW_SECONDS", 300)?;
        Ok(HandlerConfig {
            ingest: IngestConfig {
                curated_bucket: required("CURATED_BUCKET")?,
                quarantine_bucket: required("QUARANTINE_BUCKET")?,
                max_future_skew_ms: skew_seconds.saturating_mul(1000),
                limits,
                max_record_bytes: parse_var(get, "ADX_MAX_RECORD_BYTES", 16 << 20)?,
                max_inflated_bytes: parse_var(get, "ADX_MAX_INFLATED_BYTES", 16 << 30)?,
                encode_thread: encode_thread(get)?,
            },
            registry_name: get("REGISTRY_NAME")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "advertisex".into()),
            store_root: get("ADX_STORE_ROOT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            schema_dir: get("ADX_SCHEMA_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            topic_datasets: parse_topic_datasets(&get("TOPIC_DATASETS").unwrap_or_default())?,
            schema_cache_ttl: Duration::from_secs(parse_var(get, "SCHEMA_CACHE_TTL_SECONDS", 300)?),
            max_datum_bytes: parse_var(get, "ADX_MAX_DATUM_BYTES", 16 << 20)?,
        })
    }
}

/// Variables that only make sense on a workstation (the embedded default); a deployment must
/// not set them, or the functions would not use S3 and Glue.
pub const LOCAL_ONLY_VARIABLES: &[&str] = &["ADX_STORE_ROOT", "ADX_SCHEMA_DIR"];

/// Every environment variable the functions read (the handler configuration and the AWS
/// adapters' settings), found by recording what the parsers ask for. The AWS SDK's own
/// standard variables (`AWS_REGION`, `AWS_ENDPOINT_URL_*`, ...) are not included.
pub fn variables_read() -> std::collections::BTreeSet<String> {
    let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let record = |name: &str| {
        asked.borrow_mut().insert(name.to_string());
        match name {
            "CURATED_BUCKET" | "QUARANTINE_BUCKET" => Some("set".to_string()),
            _ => None,
        }
    };
    let _ = HandlerConfig::from_lookup(&record);
    #[cfg(feature = "aws")]
    let _ = adx_aws::AwsSettings::from_lookup(&record);
    asked.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<HandlerConfig, HandlerError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HandlerConfig::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn reads_names_and_defaults() {
        let c = config(&[
            ("CURATED_BUCKET", "c"),
            ("QUARANTINE_BUCKET", "q"),
            ("MAX_FUTURE_SKEW_SECONDS", "60"),
        ])
        .unwrap();
        assert_eq!(c.ingest.curated_bucket, "c");
        assert_eq!(c.ingest.max_future_skew_ms, 60_000);
        assert_eq!(c.registry_name, "advertisex");
        assert!(c.store_root.is_none());
        assert!(
            matches!(config(&[("QUARANTINE_BUCKET", "q")]), Err(HandlerError::Config(m)) if m.contains("CURATED_BUCKET"))
        );
        assert!(
            config(&[
                ("CURATED_BUCKET", "c"),
                ("QUARANTINE_BUCKET", "q"),
                ("ADX_PART_BYTES", "big")
            ])
            .is_err()
        );
        let c = config(&[
            ("CURATED_BUCKET", "c"),
            ("QUARANTINE_BUCKET", "q"),
            ("TOPIC_DATASETS", "imps=ad_impressions, bids = bid_requests"),
        ])
        .unwrap();
        assert_eq!(
            c.topic_datasets.get("bids").map(String::as_str),
            Some("bid_requests")
        );
        assert_eq!(c.schema_cache_ttl, Duration::from_secs(300));
        assert!(
            config(&[
                ("CURATED_BUCKET", "c"),
                ("QUARANTINE_BUCKET", "q"),
                ("TOPIC_DATASETS", "nonsense")
            ])
            .is_err()
        );
    }

    #[test]
    fn encode_workers_are_a_count_within_bounds_or_auto() {
        let workers = |v: &str| {
            config(&[
                ("CURATED_BUCKET", "c"),
                ("QUARANTINE_BUCKET", "q"),
                ("ADX_ENCODE_WORKERS", v),
            ])
            .map(|c| c.ingest.limits.encode_workers)
        };
        assert_eq!(workers("3").ok(), Some(3));
        assert_eq!(workers(" 1 ").ok(), Some(1));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workers("auto").ok(), Some(cores.min(MAX_ENCODE_WORKERS)));
        assert_eq!(workers("").ok(), Some(cores.min(MAX_ENCODE_WORKERS)));
        for bad in ["0", "17", "two", "-1"] {
            assert!(
                matches!(workers(bad), Err(HandlerError::Config(m)) if m.contains("ADX_ENCODE_WORKERS")),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_variables_read_are_found_by_asking_the_parsers() {
        let names = variables_read();
        for name in [
            "CURATED_BUCKET",
            "QUARANTINE_BUCKET",
            "REGISTRY_NAME",
            "TOPIC_DATASETS",
            "MAX_FUTURE_SKEW_SECONDS",
            "SCHEMA_CACHE_TTL_SECONDS",
            "ADX_STORE_ROOT",
            "ADX_SCHEMA_DIR",
            "ADX_AWS_MAX_ATTEMPTS",
            "ADX_ENCODE_WORKERS",
        ] {
            assert!(names.contains(name), "{name} not in {names:?}");
        }
    }
}
