//! `adx bench --kafka <bootstrap servers>`: the whole local stream path on a real broker. Per
//! case and run it creates a fresh topic of 3 partitions, publishes the records (`adx produce`'s
//! producer), then runs the local event source mapping with the stream handler in this process
//! (batches of up to 10,000 records, the MSK maximum) until every record is committed. Reports
//! the medians of the producer's records/s and of the mapping's records/s, from the first
//! record received to the last batch committed (broker → handler → Parquet → commit).

use crate::samples::stream_encoding;
use adx_gen::{Dataset, GenConfig, MskConfig, StreamValue};
use adx_handlers::{Adapters, HandlerConfig, handle_kafka_event, kafka_event::parse_event};
use adx_kafka::Connection;
use adx_kafka::event::EventSource;
use adx_kafka::mapping::{MappingConfig, StartingPosition, StopWhen, run as run_mapping};
use adx_kafka::produce::{ProduceConfig, create_topic, produce};
use std::path::Path;
use std::time::Duration;

/// One case: a dataset in a stream encoding.
pub struct KafkaCase {
    /// Dataset.
    pub dataset: Dataset,
    /// `json`, `glue` or `glue-zlib`.
    pub encoding: String,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Runs the cases `runs` times each and prints a table of medians.
pub fn run(
    bootstrap: &str,
    dir: &Path,
    schema_dir: &Path,
    config: &GenConfig,
    cases: &[KafkaCase],
    runs: usize,
) -> Result<(), String> {
    let connection = Connection::plaintext(bootstrap);
    println!(
        "{:<18} {:<9} {:>9} {:>16} {:>16} {:>8}",
        "dataset", "encoding", "records", "produce rec/s", "mapping rec/s", "batches"
    );
    for case in cases {
        let (schema_text, encoding) =
            stream_encoding(schema_dir, case.dataset, &case.encoding, &[])?;
        let schema = apache_avro::Schema::parse_str(&schema_text).map_err(|e| e.to_string())?;
        let (mut produced, mut mapped, mut batches) = (Vec::new(), Vec::new(), 0);
        for run in 0..runs.max(1) {
            let topic = format!(
                "bench-{}-{}-{}-{run}",
                case.dataset.name(),
                case.encoding,
                std::process::id()
            );
            create_topic(&connection, &topic, 3).map_err(|e| e.to_string())?;
            let msk = MskConfig {
                topic: topic.clone(),
                partitions: 1,
                encoding: encoding.clone(),
                framing_bad_share: 0.0,
                tombstone_share: 0.0,
                event_window_ms: Some(600_000),
            };
            let values = adx_gen::stream_values(case.dataset, config, &msk, &schema)
                .map_err(|e| e.to_string())?;
            let records = values.map(|v| {
                v.map(|StreamValue { key, value }| (key.map(String::into_bytes), value))
                    .map_err(|e| e.to_string())
            });
            let produce_config = ProduceConfig {
                topic: topic.clone(),
                rate: None,
                timestamp_ms: Some(config.arrival_ms),
            };
            let sent = produce(&connection, &produce_config, records, &mut |_| {})
                .map_err(|e| e.to_string())?;
            produced.push(sent.produced as f64 / sent.seconds.max(1e-9));

            let root = dir.join(format!("kafka-{run}"));
            let root_text = root.to_string_lossy().to_string();
            let schemas_text = schema_dir.to_string_lossy().to_string();
            let lookup = |name: &str| match name {
                "ADX_STORE_ROOT" => Some(root_text.clone()),
                "ADX_SCHEMA_DIR" => Some(schemas_text.clone()),
                "CURATED_BUCKET" => Some("curated".to_string()),
                "QUARANTINE_BUCKET" => Some("quarantine".to_string()),
                "MAX_FUTURE_SKEW_SECONDS" => Some("315360000".to_string()),
                _ => None,
            };
            let handler_config = HandlerConfig::from_lookup(&lookup).map_err(|e| e.to_string())?;
            let adapters = Adapters::from_config(&handler_config).map_err(|e| e.to_string())?;
            let mapping = MappingConfig {
                topics: vec![topic.clone()],
                group_id: format!("{topic}-group"),
                batch_size: 10_000,
                batching_window: Duration::from_millis(500),
                starting_position: StartingPosition::TrimHorizon,
                source: EventSource {
                    arn: "arn:aws:kafka:us-east-1:000000000000:cluster/adx-bench/x".into(),
                    bootstrap_servers: bootstrap.to_string(),
                },
                max_retries: Some(0),
                retry_backoff: Duration::from_millis(100),
                stop: StopWhen {
                    idle: Some(Duration::from_secs(30)),
                    records: Some(sent.produced),
                },
                interrupt: None,
            };
            let mut handler = |event: &[u8]| -> Result<(), String> {
                let event = parse_event(event)?;
                handle_kafka_event(&adapters, &handler_config, &event)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            let report =
                run_mapping(&connection, &mapping, &mut handler).map_err(|e| e.to_string())?;
            if report.records != sent.produced {
                return Err(format!(
                    "the mapping handled {} of {} records",
                    report.records, sent.produced
                ));
            }
            mapped.push(report.records as f64 / report.busy_seconds.max(1e-9));
            batches = report.batches;
            let _ = std::fs::remove_dir_all(&root);
        }
        println!(
            "{:<18} {:<9} {:>9} {:>16.0} {:>16.0} {:>8}",
            case.dataset.name(),
            case.encoding,
            config.records,
            median(produced),
            median(mapped),
            batches
        );
    }
    Ok(())
}
