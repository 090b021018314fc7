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
pub fn parse_event(json: &[u8]) -> Result<KafkaEvent, String> {
    serde_json::from_slice(json).map_err(|e| format!("not an MSK event: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
