//! A local event source mapping: what Lambda's MSK trigger does, on a developer's machine.
//!
//! It joins a consumer group on the given topics, gathers records into a batch until the batch
//! holds `BatchSize` records, or its event would pass Lambda's 6 MB payload bound, or
//! `MaximumBatchingWindowInSeconds` passed since its first record; hands the batch, as the
//! exact `KafkaEvent` JSON, to the handler; and commits the batch's offsets only once the
//! handler succeeded. A failed batch is handed again, the very same records, after a backoff,
//! until it succeeds (or `max_retries` is reached: then the mapping stops, offsets uncommitted,
//! and a later run starts again from that batch).

use crate::connect::{AdxContext, Connection, KafkaError};
use crate::event::{EventSource, kafka_event, record_size};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Lambda's bound on an invocation's payload.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Where a consumer group without committed offsets starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still held (`TRIM_HORIZON`).
    TrimHorizon,
    /// Only records produced from now on (`LATEST`).
    Latest,
}

/// When a run of the mapping ends (it runs until stopped otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopWhen {
    /// No record came for this long and no batch is pending.
    pub idle: Option<Duration>,
    /// This many records were handled.
    pub records: Option<u64>,
}

/// The settings of the mapping, named after those of the event source mapping.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// Topics.
    pub topics: Vec<String>,
    /// Consumer group id.
    pub group_id: String,
    /// `BatchSize`: the most records in one batch.
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`: how long a batch may wait for more records.
    pub batching_window: Duration,
    /// `StartingPosition`.
    pub starting_position: StartingPosition,
    /// What the events say of their source.
    pub source: EventSource,
    /// Attempts after the first for one batch; `None`: until it succeeds.
    pub max_retries: Option<u32>,
    /// Wait before the first retry (doubled each time, up to 30 s).
    pub retry_backoff: Duration,
    /// When to stop.
    pub stop: StopWhen,
    /// Set from outside (a Ctrl-C handler) to end the run: the batch being gathered is handed
    /// over and committed first, and a batch being retried stops with its offsets uncommitted.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MappingReport {
    /// Batches handed to the handler and committed.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Failed attempts (each retried).
    pub failed_attempts: u64,
    /// Seconds from the first record received to the last batch committed.
    pub busy_seconds: f64,
    /// Records on the topics not yet handled by the group, the last time it was measured
    /// (the high watermark less the group's position, summed over its partitions).
    pub lag: Option<i64>,
    /// Whether the run ended because it was interrupted.
    pub interrupted: bool,
}

/// Whether the run was asked to stop.
fn interrupted(config: &MappingConfig) -> bool {
    config
        .interrupt
        .as_ref()
        .is_some_and(|flag| flag.load(Ordering::Relaxed))
}

/// The group's lag over the partitions assigned to it: each partition's high watermark less
/// the group's position on it. A partition not read yet in this run has no position: the
/// group's committed offset stands for it, or, for a group without one, where `start` says a
/// new group begins. One watermark request per partition: callers measure every
/// [`LAG_EVERY`], not at every poll.
fn measure_lag(consumer: &BaseConsumer<AdxContext>, start: StartingPosition) -> Option<i64> {
    let positions = consumer.position().ok()?;
    let unread = positions
        .elements()
        .iter()
        .any(|e| !matches!(e.offset(), Offset::Offset(_)));
    let committed = if unread {
        consumer.committed(Duration::from_secs(1)).ok()
    } else {
        None
    };
    let mut lag = 0i64;
    for element in positions.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(1))
            .ok()?;
        let committed_at = committed
            .as_ref()
            .and_then(|c| c.find_partition(topic, partition))
            .map(|e| e.offset());
        let at = match (element.offset(), committed_at) {
            (Offset::Offset(at), _) | (_, Some(Offset::Offset(at))) => at,
            _ => match start {
                StartingPosition::TrimHorizon => low,
                StartingPosition::Latest => high,
            },
        };
        lag += (high - at).max(0);
    }
    Some(lag)
}

/// The handler: the batch's event JSON in, success or the reason of the failure out.
pub type Handler<'h> = dyn FnMut(&[u8]) -> Result<(), String> + 'h;

/// The offsets to commit after a batch: the next offset of each topic-partition.
fn next_offsets(batch: &[OwnedMessage]) -> Result<TopicPartitionList, KafkaError> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in batch {
        let at = next.entry((m.topic(), m.partition())).or_insert(0);
        *at = (*at).max(m.offset() + 1);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        list.add_partition_offset(topic, partition, Offset::Offset(offset))
            .map_err(|e| KafkaError::client("building the offsets to commit", e))?;
    }
    Ok(list)
}

/// The consumer of the mapping's group.
fn consumer(
    connection: &Connection,
    config: &MappingConfig,
) -> Result<BaseConsumer<AdxContext>, KafkaError> {
    let mut client = connection.client_config();
    client
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set(
            "auto.offset.reset",
            match config.starting_position {
                StartingPosition::TrimHorizon => "earliest",
                StartingPosition::Latest => "latest",
            },
        )
        // A batch may be retried for a long time without polling.
        .set("max.poll.interval.ms", "3600000");
    let consumer: BaseConsumer<AdxContext> = client
        .create_with_context(connection.context()?)
        .map_err(|e| KafkaError::client("creating the consumer", e))?;
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| KafkaError::client(format!("subscribing to {topics:?}"), e))?;
    Ok(consumer)
}

/// Hands one batch to the handler until it succeeds, then commits its offsets.
fn deliver(
    consumer: &BaseConsumer<AdxContext>,
    config: &MappingConfig,
    batch: &[OwnedMessage],
    handler: &mut Handler<'_>,
    report: &mut MappingReport,
) -> Result<(), KafkaError> {
    let event = kafka_event(&config.source, batch);
    let mut backoff = config.retry_backoff;
    let mut failures = 0u32;
    loop {
        match handler(&event) {
            Ok(()) => break,
            Err(reason) => {
                report.failed_attempts += 1;
                failures += 1;
                if interrupted(config) {
                    return Err(KafkaError::Other(format!(
                        "interrupted while a batch of {} records was failing ({reason}); its offsets are not committed, and the next run hands it over again",
                        batch.len()
                    )));
                }
                if config.max_retries.is_some_and(|max| failures > max) {
                    return Err(KafkaError::Other(format!(
                        "a batch of {} records failed {failures} times, the last: {reason}; its offsets are not committed",
                        batch.len()
                    )));
                }
                tracing::warn!(records = batch.len(), attempt = failures, %reason, "batch failed: retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    consumer
        .commit(&next_offsets(batch)?, CommitMode::Sync)
        .map_err(|e| KafkaError::client("committing offsets", e))?;
    report.batches += 1;
    report.records += batch.len() as u64;
    tracing::info!(records = batch.len(), "batch handled and committed");
    Ok(())
}

/// Runs the mapping until `config.stop` says so (or forever); returns what it did.
pub fn run(
    connection: &Connection,
    config: &MappingConfig,
    handler: &mut Handler<'_>,
) -> Result<MappingReport, KafkaError> {
    drive(connection, config, handler, None)
}

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How often the lag is measured while running (and once at the end).
pub const LAG_EVERY: Duration = Duration::from_secs(5);

/// [`run`], calling `progress` with the report so far about once a second and after the
/// last batch (the lag is measured for it).
pub fn run_with_progress(
    connection: &Connection,
    config: &MappingConfig,
    handler: &mut Handler<'_>,
    progress: &mut dyn FnMut(&MappingReport),
) -> Result<MappingReport, KafkaError> {
    drive(connection, config, handler, Some(progress))
}

/// The mapping's loop; with `progress`, the lag is measured and reported (without, no request
/// beyond the consumer's own is made, as benchmarks need).
fn drive(
    connection: &Connection,
    config: &MappingConfig,
    handler: &mut Handler<'_>,
    mut progress: Option<&mut dyn FnMut(&MappingReport)>,
) -> Result<MappingReport, KafkaError> {
    let mut lag_measured: Option<Instant> = None;
    let mut tell = |report: &mut MappingReport, consumer: &BaseConsumer<AdxContext>, last: bool| {
        if let Some(progress) = progress.as_mut() {
            if last || lag_measured.is_none_or(|at| at.elapsed() >= LAG_EVERY) {
                report.lag = measure_lag(consumer, config.starting_position);
                lag_measured = Some(Instant::now());
            }
            progress(report);
        }
    };
    let consumer = consumer(connection, config)?;
    let mut last_progress = Instant::now();
    let batch_size = config.batch_size.max(1);
    let mut report = MappingReport::default();
    let mut batch: Vec<OwnedMessage> = Vec::new();
    let mut bytes = 0usize;
    let mut opened: Option<Instant> = None;
    let mut last_record = Instant::now();
    let mut first_record: Option<Instant> = None;
    loop {
        let wait = match opened {
            Some(at) => config.batching_window.saturating_sub(at.elapsed()),
            None => Duration::from_millis(200),
        };
        match consumer.poll(wait) {
            Some(Ok(message)) => {
                last_record = Instant::now();
                first_record.get_or_insert(last_record);
                let message = message.detach();
                let size = record_size(&message);
                if !batch.is_empty() && bytes + size > MAX_PAYLOAD_BYTES {
                    deliver(&consumer, config, &batch, handler, &mut report)?;
                    batch.clear();
                    bytes = 0;
                    opened = None;
                }
                opened.get_or_insert_with(Instant::now);
                bytes += size;
                batch.push(message);
            }
            Some(Err(e)) => {
                return Err(KafkaError::client("consuming", e));
            }
            None => {}
        }
        let full = batch.len() >= batch_size || bytes >= MAX_PAYLOAD_BYTES;
        let window_over = opened.is_some_and(|at| at.elapsed() >= config.batching_window);
        if !batch.is_empty() && (full || window_over) {
            deliver(&consumer, config, &batch, handler, &mut report)?;
            batch.clear();
            bytes = 0;
            opened = None;
            report.busy_seconds = first_record.map_or(0.0, |t| t.elapsed().as_secs_f64());
        }
        if interrupted(config) {
            if !batch.is_empty() {
                deliver(&consumer, config, &batch, handler, &mut report)?;
                batch.clear();
                report.busy_seconds = first_record.map_or(0.0, |t| t.elapsed().as_secs_f64());
            }
            report.interrupted = true;
            tell(&mut report, &consumer, true);
            return Ok(report);
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            tell(&mut report, &consumer, false);
            last_progress = Instant::now();
        }
        if batch.is_empty() {
            let idle = config.stop.idle.is_some_and(|d| last_record.elapsed() >= d);
            let enough = config.stop.records.is_some_and(|n| report.records >= n);
            if idle || enough {
                tell(&mut report, &consumer, true);
                return Ok(report);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Timestamp;

    fn message(topic: &str, partition: i32, offset: i64) -> OwnedMessage {
        OwnedMessage::new(
            Some(b"v".to_vec()),
            None,
            topic.into(),
            Timestamp::CreateTime(0),
            partition,
            offset,
            None,
        )
    }

    #[test]
    fn the_offsets_committed_are_the_next_ones_per_partition() {
        let batch = [
            message("a", 0, 5),
            message("a", 1, 9),
            message("a", 0, 7),
            message("b", 0, 1),
        ];
        let list = next_offsets(&batch).unwrap();
        let got: Vec<(String, i32, Offset)> = list
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition(), e.offset()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), 0, Offset::Offset(8)),
                ("a".to_string(), 1, Offset::Offset(10)),
                ("b".to_string(), 0, Offset::Offset(2)),
            ]
        );
    }
}
