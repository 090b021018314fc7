//! Publishing records to Kafka at a target rate (`adx produce`), and creating the topic first
//! when asked, with the partitions wanted.

use crate::connect::{AdxContext, Connection, KafkaError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::time::{Duration, Instant};

/// One record to publish: key and value (`None`: a tombstone).
pub type Outgoing = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Settings of one run of the producer.
#[derive(Debug, Clone)]
pub struct ProduceConfig {
    /// Topic.
    pub topic: String,
    /// Records per second to aim at; `None`: as fast as the broker takes them.
    pub rate: Option<f64>,
    /// The records' CREATE_TIME timestamp, epoch millis; `None`: the time of sending.
    pub timestamp_ms: Option<i64>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProduceReport {
    /// Records the brokers acknowledged.
    pub produced: u64,
    /// Wall seconds, flush included.
    pub seconds: f64,
}

/// Creates `topic` with `partitions` partitions (replication 1) unless it exists.
pub fn create_topic(
    connection: &Connection,
    topic: &str,
    partitions: i32,
) -> Result<(), KafkaError> {
    let admin: AdminClient<AdxContext> = connection
        .client_config()
        .create_with_context(connection.context()?)
        .map_err(|e| KafkaError::client("creating the admin client", e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KafkaError::Other(format!("starting a runtime: {e}")))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = runtime
        .block_on(admin.create_topics([&new], &options))
        .map_err(|e| KafkaError::client(format!("creating topic {topic}"), e))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::Other(format!("creating topic {name}: {code}")));
            }
        }
    }
    Ok(())
}

/// Publishes `records` to `config.topic`, calling `progress` with the count sent so far now and
/// then; fails if the brokers refused any record.
pub fn produce(
    connection: &Connection,
    config: &ProduceConfig,
    records: impl Iterator<Item = Result<Outgoing, String>>,
    progress: &mut dyn FnMut(u64),
) -> Result<ProduceReport, KafkaError> {
    let producer: BaseProducer<AdxContext> = connection
        .client_config()
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .create_with_context(connection.context()?)
        .map_err(|e| KafkaError::client("creating the producer", e))?;
    let started = Instant::now();
    let mut sent = 0u64;
    for record in records {
        let (key, value) = record.map_err(KafkaError::Other)?;
        if let Some(rate) = config.rate.filter(|r| *r > 0.0) {
            let due = Duration::from_secs_f64(sent as f64 / rate);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                producer.poll(ahead);
                std::thread::sleep(due.saturating_sub(started.elapsed()));
            }
        }
        let mut out: BaseRecord<'_, Vec<u8>, Vec<u8>> = BaseRecord::to(&config.topic);
        if let Some(key) = &key {
            out = out.key(key);
        }
        if let Some(value) = &value {
            out = out.payload(value);
        }
        if let Some(ms) = config.timestamp_ms {
            out = out.timestamp(ms);
        }
        loop {
            match producer.send(out) {
                Ok(()) => break,
                Err((
                    rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                    back,
                )) => {
                    out = back;
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(KafkaError::client("producing", e)),
            }
        }
        sent += 1;
        if sent.is_multiple_of(1024) {
            producer.poll(Duration::ZERO);
            progress(sent);
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| KafkaError::client("flushing", e))?;
    progress(sent);
    let (failed, reason) = producer.context().delivery_failures();
    if failed > 0 {
        return Err(KafkaError::Other(format!(
            "{failed} of {sent} records were not delivered: {}",
            reason.unwrap_or_default()
        )));
    }
    Ok(ProduceReport {
        produced: sent,
        seconds: started.elapsed().as_secs_f64(),
    })
}
