//! Reading MSK events: each record's topic, partition, offset, timestamp, base64 value, and the
//! `valueSchemaMetadata` the event source mapping adds when its schema-registry integration is on.
//!
//! The event is read in one pass straight into [`StreamRecord`]s: values are base64-decoded as
//! they are read (no `String` of base64 kept per record), and the fields the core does not use
//! (key, headers) are skipped. This is the model the Lambda main deserializes too, so an event
//! that aws_lambda_events would panic on (a timestamp with a fraction of a millisecond) is an
//! error here, never a crash.

use adx_core::stream::{SchemaMetadata, StreamRecord};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

/// An MSK event, its records decoded, in the order the event lists its partitions.
#[derive(Debug, Default)]
pub struct MskEvent {
    /// The records of every topic-partition.
    pub records: Vec<StreamRecord>,
}

/// Parses an MSK event from JSON.
pub fn parse_event(json: &[u8]) -> Result<MskEvent, String> {
    serde_json::from_slice(json).map_err(|e| format!("not an MSK event: {e}"))
}

impl<'de> Deserialize<'de> for MskEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

/// The event object: `records` read, every other member skipped. Only an object is an event.
struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = MskEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an MSK event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MskEvent, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "records" {
                if records.is_some() {
                    return Err(de::Error::duplicate_field("records"));
                }
                records = Some(map.next_value::<Option<Partitions>>()?);
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(MskEvent {
            records: records.flatten().map(|p| p.0).unwrap_or_default(),
        })
    }
}

/// The `records` map: topic-partition → records. A key given twice keeps its last list, as a
/// map would; the first is still read (and checked) in full.
struct Partitions(Vec<StreamRecord>);

impl<'de> Deserialize<'de> for Partitions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PartitionsVisitor)
    }
}

struct PartitionsVisitor;

impl<'de> Visitor<'de> for PartitionsVisitor {
    type Value = Partitions;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of topic-partition to records")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Partitions, A::Error> {
        let mut lists: Vec<(String, Vec<StreamRecord>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let raws: Vec<RawRecord> = map.next_value()?;
            let mut records = Vec::with_capacity(raws.len());
            for raw in raws {
                records.push(raw.into_record(&key).map_err(de::Error::custom)?);
            }
            match lists.iter_mut().find(|(k, _)| *k == key) {
                Some((_, slot)) => *slot = records,
                None => lists.push((key, records)),
            }
        }
        Ok(Partitions(lists.into_iter().flat_map(|(_, r)| r).collect()))
    }
}

/// One record as the event holds it (key and headers are not read).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    #[serde(default)]
    topic: Option<String>,
    partition: i64,
    offset: i64,
    timestamp: Millis,
    #[serde(default)]
    value: Option<Base64Value>,
    #[serde(default)]
    value_schema_metadata: Option<serde_json::Value>,
}

impl RawRecord {
    fn into_record(self, key: &str) -> Result<StreamRecord, String> {
        let topic = match self.topic {
            Some(t) => t,
            None => key.rsplit_once('-').map_or(key, |(t, _)| t).to_string(),
        };
        let partition = i32::try_from(self.partition).map_err(|_| {
            format!(
                "record {topic}-{}@{}: partition out of range",
                self.partition, self.offset
            )
        })?;
        let schema_metadata = self.value_schema_metadata.and_then(|m| {
            Some(SchemaMetadata {
                data_format: m.get("dataFormat")?.as_str()?.to_string(),
                schema_id: m.get("schemaId")?.as_str()?.to_string(),
            })
        });
        Ok(StreamRecord {
            topic,
            partition,
            offset: self.offset,
            timestamp_ms: self.timestamp.0,
            value: self.value.map(|v| v.0),
            schema_metadata,
        })
    }
}

/// A value's bytes, base64-decoded as it is read. A value that is not base64 is kept as its
/// text, so that it reaches quarantine instead of failing the batch.
struct Base64Value(Vec<u8>);

impl<'de> Deserialize<'de> for Base64Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Base64Value;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Value, E> {
                Ok(Base64Value(
                    base64_simd::STANDARD
                        .decode_to_vec(v)
                        .unwrap_or_else(|_| v.as_bytes().to_vec()),
                ))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A record timestamp: epoch milliseconds as a number or as text (as aws_lambda_events takes
/// them), whole and within the range of a date.
struct Millis(i64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            fn checked<E: de::Error>(ms: i64) -> Result<Millis, E> {
                match chrono::DateTime::from_timestamp_millis(ms) {
                    Some(_) => Ok(Millis(ms)),
                    None => Err(E::custom(format!(
                        "record timestamp {ms} is out of the range of dates"
                    ))),
                }
            }
        }
        impl Visitor<'_> for V {
            type Value = Millis;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                V::checked(v)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                match i64::try_from(v) {
                    Ok(v) => V::checked(v),
                    Err(_) => Err(E::custom(format!(
                        "record timestamp {v} is out of the range of dates"
                    ))),
                }
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Millis, E> {
                if !v.is_finite() || v.fract() != 0.0 {
                    return Err(E::custom(format!(
                        "record timestamp {v} is not a whole number of milliseconds"
                    )));
                }
                if v.abs() >= 9.2e18 {
                    return Err(E::custom(format!(
                        "record timestamp {v} is out of the range of dates"
                    )));
                }
                V::checked(v as i64)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Millis, E> {
                match v.parse::<i64>() {
                    Ok(ms) => V::checked(ms),
                    Err(_) => match v.parse::<f64>() {
                        Ok(f) => self.visit_f64(f),
                        Err(_) => Err(E::custom(format!(
                            "record timestamp {v:?} is not a number of milliseconds"
                        ))),
                    },
                }
            }
        }
        deserializer.deserialize_any(V)
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
        let records = ok.records;
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
        let records = event.records;
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

    #[test]
    fn malformed_records_refuse_the_event_with_a_reason() {
        let record =
            |fields: &str| format!(r#"{{"records":{{"t-0":[{{"topic":"t",{fields}}}]}}}}"#);
        let cases = [
            (
                record(r#""partition":4294967296,"offset":1,"timestamp":1"#),
                "partition out of range",
            ),
            (
                record(r#""partition":0,"offset":1,"timestamp":18446744073709551615"#),
                "out of the range of dates",
            ),
            (
                record(r#""partition":0,"offset":1,"timestamp":"soon""#),
                "not a number of milliseconds",
            ),
            (
                record(r#""partition":0,"timestamp":1"#),
                "missing field `offset`",
            ),
        ];
        for (event, reason) in cases {
            let e = parse_event(event.as_bytes()).unwrap_err();
            assert!(e.contains(reason), "{event}: {e}");
        }
        // Key and headers are not read: a record without them still counts.
        let lean = parse_event(
            record(r#""partition":2,"offset":9,"timestamp":"5","value":"eA==""#).as_bytes(),
        )
        .unwrap();
        assert_eq!(lean.records[0].partition, 2);
        assert_eq!(lean.records[0].timestamp_ms, 5);
        assert_eq!(lean.records[0].value.as_deref(), Some(&b"x"[..]));
        // The topic falls back to the map key's topic part.
        let keyed = parse_event(
            br#"{"records":{"my-topic-3":[{"partition":3,"offset":0,"timestamp":0}]}}"#,
        )
        .unwrap();
        assert_eq!(keyed.records[0].topic, "my-topic");
    }
}
