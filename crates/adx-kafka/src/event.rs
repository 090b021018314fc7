//! The `KafkaEvent` JSON that Lambda hands to a function for a batch of an MSK (or
//! self-managed Kafka) event source mapping: records grouped by `topic-partition`, keys and
//! values in base64, headers as lists of byte values, and the mapping's ARN and brokers.

use base64::Engine;
use rdkafka::message::{Headers, Message, OwnedMessage, Timestamp};
use serde_json::{Map, Value, json};

/// What the event says of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    /// `eventSourceArn`: the MSK cluster's ARN.
    pub arn: String,
    /// `bootstrapServers`.
    pub bootstrap_servers: String,
}

/// Bytes a record adds to the event's JSON, for the 6 MB payload bound of an invocation.
pub fn record_size(message: &OwnedMessage) -> usize {
    let b64 = |n: usize| n.div_ceil(3) * 4;
    let headers: usize = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| h.key.len() + 4 * h.value.map_or(0, <[u8]>::len) + 8)
                .sum()
        })
        .unwrap_or(0);
    200 + message.topic().len()
        + b64(message.key().map_or(0, <[u8]>::len))
        + b64(message.payload().map_or(0, <[u8]>::len))
        + headers
}

fn record(message: &OwnedMessage) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (timestamp, timestamp_type) = match message.timestamp() {
        Timestamp::CreateTime(ms) => (json!(ms), "CREATE_TIME"),
        Timestamp::LogAppendTime(ms) => (json!(ms), "LOG_APPEND_TIME"),
        Timestamp::NotAvailable => (json!(-1), "NO_TIMESTAMP_TYPE"),
    };
    let headers: Vec<Value> = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    let bytes: Vec<Value> = h
                        .value
                        .unwrap_or_default()
                        .iter()
                        .map(|b| json!(i8::from_ne_bytes([*b])))
                        .collect();
                    json!({ h.key: bytes })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut r = Map::new();
    r.insert("topic".into(), json!(message.topic()));
    r.insert("partition".into(), json!(message.partition()));
    r.insert("offset".into(), json!(message.offset()));
    r.insert("timestamp".into(), timestamp);
    r.insert("timestampType".into(), json!(timestamp_type));
    if let Some(key) = message.key() {
        r.insert("key".into(), json!(b64.encode(key)));
    }
    r.insert(
        "value".into(),
        message
            .payload()
            .map(|v| json!(b64.encode(v)))
            .unwrap_or(Value::Null),
    );
    r.insert("headers".into(), Value::Array(headers));
    Value::Object(r)
}

/// The event of one batch, as JSON bytes.
pub fn kafka_event(source: &EventSource, messages: &[OwnedMessage]) -> Vec<u8> {
    let mut records: Map<String, Value> = Map::new();
    for message in messages {
        let group = format!("{}-{}", message.topic(), message.partition());
        if let Value::Array(list) = records
            .entry(group)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(record(message));
        }
    }
    let event = json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": source.arn,
        "bootstrapServers": source.bootstrap_servers,
        "records": records,
    });
    // A map of strings, numbers and arrays always serializes.
    serde_json::to_vec(&event).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{Header, OwnedHeaders};

    #[test]
    fn records_are_grouped_by_topic_partition_in_base64() {
        let headers = OwnedHeaders::new().insert(Header {
            key: "h",
            value: Some(&[104u8, 0xff][..]),
        });
        let messages = vec![
            OwnedMessage::new(
                Some(b"{\"a\":1}".to_vec()),
                Some(b"k".to_vec()),
                "ad_impressions".into(),
                Timestamp::CreateTime(1_795_845_600_000),
                1,
                15,
                Some(headers),
            ),
            OwnedMessage::new(
                None,
                None,
                "ad_impressions".into(),
                Timestamp::CreateTime(1_795_845_600_001),
                1,
                16,
                None,
            ),
        ];
        let source = EventSource {
            arn: "arn:aws:kafka:us-east-1:000000000000:cluster/local/x".into(),
            bootstrap_servers: "127.0.0.1:9092".into(),
        };
        let event: Value = serde_json::from_slice(&kafka_event(&source, &messages)).unwrap();
        let list = &event["records"]["ad_impressions-1"];
        assert_eq!(list[0]["value"], "eyJhIjoxfQ==");
        assert_eq!(list[0]["key"], "aw==");
        assert_eq!(list[0]["offset"], 15);
        assert_eq!(list[0]["timestampType"], "CREATE_TIME");
        assert_eq!(list[0]["headers"], json!([{"h": [104, -1]}]));
        assert_eq!(list[1]["value"], Value::Null);
        assert!(list[1].get("key").is_none());
        assert_eq!(event["eventSource"], "aws:kafka");
        assert_eq!(event["bootstrapServers"], "127.0.0.1:9092");
        assert!(record_size(&messages[0]) > 200);
    }
}
