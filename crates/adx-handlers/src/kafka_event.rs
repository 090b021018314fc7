//! Reading MSK events: each record's topic, partition, offset, timestamp, base64 value, and the
//! `valueSchemaMetadata` the event source mapping adds when its schema-registry integration is on.

use adx_core::stream::{SchemaMetadata, StreamRecord};
use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine;

/// Why a record of the event cannot be read at all (the event itself is malformed).
fn bad(record: &KafkaRecord, what: &str) -> String {
    format!(
        "record {}-{}@{}: {what}",
        record.topic.as_deref().unwrap_or("?"),
        record.partition,
        record.offset
    )
}

/// The records of an event, values decoded. A value that is not base64 is kept as its text, so
/// that it reaches quarantine instead of failing the batch.
pub fn stream_records(event: &KafkaEvent) -> Result<Vec<StreamRecord>, String> {
    let mut out = Vec::new();
    for (key, records) in &event.records {
        for record in records {
            let topic = match &record.topic {
                Some(t) => t.clone(),
                None => key
                    .rsplit_once('-')
                    .map(|(t, _)| t.to_string())
                    .unwrap_or_else(|| key.clone()),
            };
            let partition = i32::try_from(record.partition)
                .map_err(|_| bad(record, "partition out of range"))?;
            let value = record.value.as_ref().map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .unwrap_or_else(|_| v.as_bytes().to_vec())
            });
            let schema_metadata = record.other.get("valueSchemaMetadata").and_then(|m| {
                Some(SchemaMetadata {
                    data_format: m.get("dataFormat")?.as_str()?.to_string(),
                    schema_id: m.get("schemaId")?.as_str()?.to_string(),
                })
            });
            out.push(StreamRecord {
                topic,
                partition,
                offset: record.offset,
                timestamp_ms: record.timestamp.0.timestamp_millis(),
                value,
                schema_metadata,
            });
        }
    }
    Ok(out)
}

/// Parses an MSK event from JSON.
///
/// aws_lambda_events 1.2 asserts (it panics, in release builds too) when a record's
/// `timestamp` has a fraction of a millisecond (`1.5`, `"1.5"`); the event is read once for
/// its timestamps first, so that such an event is refused with an error instead.
pub fn parse_event(json: &[u8]) -> Result<KafkaEvent, String> {
    serde_json::from_slice::<EventTimestamps>(json)
        .and_then(|_| serde_json::from_slice(json))
        .map_err(|e| format!("not an MSK event: {e}"))
}

/// The record timestamps of an MSK event, checked as they are read (every occurrence, even of
/// a key that a later duplicate replaces), the rest of the event skipped.
#[derive(serde::Deserialize)]
struct EventTimestamps {
    #[serde(default, rename = "records")]
    _records: Option<std::collections::HashMap<String, Vec<RecordTimestamp>>>,
}

#[derive(serde::Deserialize)]
struct RecordTimestamp {
    #[serde(default, rename = "timestamp", deserialize_with = "whole_millis")]
    _timestamp: (),
}

/// Refuses a timestamp (number, or text as aws_lambda_events also takes) with a fraction.
fn whole_millis<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    use serde::Deserialize;
    let value = serde_json::Value::deserialize(deserializer)?;
    let millis = match &value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match millis {
        Some(ms) if ms.is_finite() && ms.fract() != 0.0 => Err(serde::de::Error::custom(format!(
            "record timestamp {value} is not a whole number of milliseconds"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_with_timestamps(timestamps: &[&str]) -> String {
        let records: Vec<String> = timestamps
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    r#"{{"topic":"t","partition":0,"offset":{i},"timestamp":{t},"key":null,"value":null,"headers":[]}}"#
                )
            })
            .collect();
        format!(r#"{{"records":{{"t-0":[{}]}}}}"#, records.join(","))
    }

    #[test]
    fn fractional_timestamps_are_refused_not_a_panic() {
        // Found by the msk_event fuzz target (fuzz/regressions/msk_event/).
        for bad in ["179.7484", "\"1795748400000.5\"", "-0.25"] {
            let e =
                parse_event(event_with_timestamps(&["1795748400000", bad]).as_bytes()).unwrap_err();
            assert!(
                e.contains("not a whole number of milliseconds"),
                "{bad}: {e}"
            );
        }
        // A key given twice: the replaced value is checked too (aws_lambda_events reads it).
        let twice = r#"{"records":{"t-0":[{"topic":"t","partition":0,"offset":0,"timestamp":1,"key":null,"value":null,"headers":[]}],
            "t-0":[{"topic":"t","partition":0,"offset":0,"timestamp":1.5,"key":null,"value":null,"headers":[]}]}}"#;
        assert!(parse_event(twice.as_bytes()).is_err());
        let twice_first = r#"{"records":{"t-0":[{"topic":"t","partition":0,"offset":0,"timestamp":1.5,"key":null,"value":null,"headers":[]}],
            "t-0":[{"topic":"t","partition":0,"offset":0,"timestamp":1,"key":null,"value":null,"headers":[]}]}}"#;
        assert!(parse_event(twice_first.as_bytes()).is_err());
        // Whole numbers in any spelling aws_lambda_events takes still parse.
        let ok = parse_event(
            event_with_timestamps(&[
                "1795748400000",
                "1795748400000.0",
                "\"1795748400001\"",
                "1.7957484e12",
            ])
            .as_bytes(),
        )
        .unwrap();
        let records = stream_records(&ok).unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[3].timestamp_ms, 1_795_748_400_000);
        assert!(
            parse_event(br#"{"records":null}"#)
                .unwrap()
                .records
                .is_empty()
        );
        assert!(parse_event(b"[]").is_err());
    }

    #[test]
    fn reads_records_metadata_and_tombstones() {
        let event = parse_event(
            br#"{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:us-east-1:123456789012:cluster/c/abc","bootstrapServers":"b-1:9098",
            "records":{"ad_impressions-0":[
              {"topic":"ad_impressions","partition":0,"offset":15,"timestamp":1795845600000,"timestampType":"CREATE_TIME","key":null,"value":"eyJhIjoxfQ==","headers":[{"h":[104,105]}]},
              {"topic":"ad_impressions","partition":0,"offset":16,"timestamp":1795845600001,"timestampType":"CREATE_TIME","key":null,"value":null,"headers":[]},
              {"topic":"ad_impressions","partition":0,"offset":17,"timestamp":1795845600002,"timestampType":"CREATE_TIME","value":"AAE=","headers":[],
               "valueSchemaMetadata":{"dataFormat":"AVRO","schemaId":"12345678-9abc-def0-1122-334455667788"}}
            ]}}"#,
        )
        .unwrap();
        let records = stream_records(&event).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].value.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(records[0].timestamp_ms, 1_795_845_600_000);
        assert!(records[1].value.is_none());
        assert_eq!(
            records[2]
                .schema_metadata
                .as_ref()
                .map(|m| m.data_format.as_str()),
            Some("AVRO")
        );
    }
}
