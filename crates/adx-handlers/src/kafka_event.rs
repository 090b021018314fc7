//! Reading MSK events: each record's topic, partition, offset, timestamp, base64 value, and the
//! `valueSchemaMetadata` the event source mapping adds when its schema-registry integration is on.
//!
//! The event is read in one pass (sonic-rs, SIMD) straight into [`StreamRecord`]s: values are
//! base64-decoded as they are read into one buffer that all records share (no allocation per
//! value, none per topic), and the fields the core does not use (key, headers) are skipped. The
//! Lambda mains parse with this too, so an event that aws_lambda_events would panic on (a
//! timestamp with a fraction of a millisecond) is an error here, never a crash.

use adx_core::Skip;
use adx_core::{SchemaMetadata, StreamRecord};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// An MSK event, its records decoded, in the order the event lists its partitions.
#[derive(Debug, Default)]
pub struct MskEvent {
    /// The records of every topic-partition.
    pub records: Vec<StreamRecord>,
}

/// Parses an MSK event from JSON. Only the first line of a parser message is kept (sonic-rs
/// follows it with a snippet of the input).
pub fn parse_event(json: &[u8]) -> Result<MskEvent, String> {
    let shared = RefCell::new(Shared {
        values: BytesMut::new(),
        topic: None,
    });
    let mut de = sonic_rs::Deserializer::from_slice(json);
    EventSeed(&shared)
        .deserialize(&mut de)
        .and_then(|event| de.end().map(|()| event))
        .map_err(|e| {
            let message = e.to_string();
            format!(
                "not an MSK event: {}",
                message.lines().next().unwrap_or(&message)
            )
        })
}

/// Size of the buffers that values are decoded into: below glibc's mmap threshold (see
/// [`crate::allocator`]), so that they come from the heap, whose pages are already mapped,
/// rather than from fresh zeroed pages for every event.
const VALUE_CHUNK_BYTES: usize = 1 << 20;

/// What the records of one event share: the buffer their values are decoded into, and the
/// last topic read (consecutive records of a partition name the same one).
struct Shared {
    values: BytesMut,
    topic: Option<Arc<str>>,
}

impl Shared {
    /// The topic `name`, shared with the previous record when it is the same.
    fn topic(&mut self, name: &str) -> Arc<str> {
        match &self.topic {
            Some(last) if **last == *name => last.clone(),
            _ => {
                let topic: Arc<str> = Arc::from(name);
                self.topic = Some(topic.clone());
                topic
            }
        }
    }

    /// `text` base64-decoded into the shared buffer; a value that is not base64 is kept as its
    /// text, so that it reaches quarantine instead of failing the batch.
    fn value(&mut self, text: &str) -> Bytes {
        // A decoded value is never longer than its text.
        if self.values.capacity() - self.values.len() < text.len() {
            self.values = BytesMut::with_capacity(VALUE_CHUNK_BYTES.max(text.len()));
        }
        let start = self.values.len();
        self.values.resize(start + text.len(), 0);
        let decoded = base64_simd::STANDARD
            .decode(
                text.as_bytes(),
                base64_simd::Out::from_slice(&mut self.values[start..]),
            )
            .map(|d| d.len());
        match decoded {
            Ok(n) => self.values.truncate(start + n),
            Err(_) => {
                self.values.truncate(start);
                self.values.extend_from_slice(text.as_bytes());
            }
        }
        self.values.split_to(self.values.len()).freeze()
    }
}

/// The event object: `records` read, every other member skipped. Only an object is an event.
struct EventSeed<'a>(&'a RefCell<Shared>);

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = MskEvent;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<MskEvent, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = MskEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an MSK event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MskEvent, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "records" {
                if records.is_some() {
                    return Err(de::Error::duplicate_field("records"));
                }
                records = Some(map.next_value_seed(Nullable(PartitionsSeed(self.0)))?);
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(MskEvent {
            records: records.flatten().unwrap_or_default(),
        })
    }
}

/// `null`, or what the inner seed reads.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or a value")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// The `records` map: topic-partition → records. A key given twice keeps its last list, as a
/// map would; the first is still read (and checked) in full.
struct PartitionsSeed<'a>(&'a RefCell<Shared>);

impl<'de> DeserializeSeed<'de> for PartitionsSeed<'_> {
    type Value = Vec<StreamRecord>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PartitionsSeed<'_> {
    type Value = Vec<StreamRecord>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of topic-partition to records")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Every list is read straight into one vector; `lists` says where each key's is.
        let mut records = Vec::new();
        let mut lists: Vec<(String, Range<usize>)> = Vec::new();
        let mut replaced = false;
        while let Some(key) = map.next_key::<String>()? {
            let start = records.len();
            map.next_value_seed(RecordsSeed {
                shared: self.0,
                key: &key,
                out: &mut records,
            })?;
            let range = start..records.len();
            match lists.iter_mut().find(|(k, _)| *k == key) {
                Some((_, slot)) => {
                    *slot = range;
                    replaced = true;
                }
                None => lists.push((key, range)),
            }
        }
        if !replaced {
            return Ok(records);
        }
        // A key given twice (no event source mapping does that): its last list, in the place
        // of its first.
        let mut read: Vec<Option<StreamRecord>> = records.into_iter().map(Some).collect();
        Ok(lists
            .into_iter()
            .flat_map(|(_, range)| range)
            .filter_map(|i| read.get_mut(i).and_then(Option::take))
            .collect())
    }
}

/// The records of one topic-partition key, appended to `out`.
struct RecordsSeed<'a, 'k, 'o> {
    shared: &'a RefCell<Shared>,
    key: &'k str,
    out: &'o mut Vec<StreamRecord>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Kafka records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.reserve(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element_seed(RecordSeed {
            shared: self.shared,
            key: self.key,
        })? {
            self.out.push(record);
        }
        Ok(())
    }
}

/// One record as the event holds it (key and headers are not read). Read by hand rather than
/// by derive: a derived struct skips unknown members with `IgnoredAny`, which sonic-rs skips
/// with no nesting limit.
struct RecordSeed<'a, 'k> {
    shared: &'a RefCell<Shared>,
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = StreamRecord;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// Fails on a member given twice, as a derived struct would.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = StreamRecord;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kafka record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StreamRecord, A::Error> {
        let (mut topic, mut partition, mut offset, mut timestamp) = (None, None, None, None);
        let (mut value, mut metadata) = (None, None);
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Topic => {
                    let name = map.next_value_seed(Nullable(TopicSeed(self.shared)))?;
                    once(&mut topic, name, "topic")?
                }
                Member::Partition => once(&mut partition, map.next_value::<i64>()?, "partition")?,
                Member::Offset => once(&mut offset, map.next_value::<i64>()?, "offset")?,
                Member::Timestamp => {
                    once(&mut timestamp, map.next_value::<Millis>()?, "timestamp")?
                }
                Member::Value => {
                    let bytes = map.next_value_seed(Nullable(ValueSeed(self.shared)))?;
                    once(&mut value, bytes, "value")?
                }
                Member::ValueSchemaMetadata => once(
                    &mut metadata,
                    map.next_value::<Option<serde_json::Value>>()?,
                    "valueSchemaMetadata",
                )?,
                Member::Other => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        let partition = partition.ok_or_else(|| de::Error::missing_field("partition"))?;
        let offset = offset.ok_or_else(|| de::Error::missing_field("offset"))?;
        let timestamp = timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?;
        let topic = match topic.flatten() {
            Some(t) => t,
            None => {
                let name = self.key.rsplit_once('-').map_or(self.key, |(t, _)| t);
                self.shared.borrow_mut().topic(name)
            }
        };
        let partition = i32::try_from(partition).map_err(|_| {
            de::Error::custom(format!(
                "record {topic}-{partition}@{offset}: partition out of range"
            ))
        })?;
        let schema_metadata = metadata.flatten().and_then(|m| {
            Some(SchemaMetadata {
                data_format: m.get("dataFormat")?.as_str()?.to_string(),
                schema_id: m.get("schemaId")?.as_str()?.to_string(),
            })
        });
        Ok(StreamRecord {
            topic,
            partition,
            offset,
            timestamp_ms: timestamp.0,
            value: value.flatten(),
            schema_metadata,
        })
    }
}

/// A member of a record object, named without allocating (serde's `Cow<str>` always owns).
enum Member {
    Topic,
    Partition,
    Offset,
    Timestamp,
    Value,
    ValueSchemaMetadata,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Member;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member, E> {
                Ok(match v {
                    "topic" => Member::Topic,
                    "partition" => Member::Partition,
                    "offset" => Member::Offset,
                    "timestamp" => Member::Timestamp,
                    "value" => Member::Value,
                    "valueSchemaMetadata" => Member::ValueSchemaMetadata,
                    _ => Member::Other,
                })
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A topic name, shared with the previous record's when it is the same.
struct TopicSeed<'a>(&'a RefCell<Shared>);

impl<'de> DeserializeSeed<'de> for TopicSeed<'_> {
    type Value = Arc<str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Arc<str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for TopicSeed<'_> {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a topic name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Arc<str>, E> {
        Ok(self.0.borrow_mut().topic(v))
    }
}

/// A base64 value, decoded into the shared buffer straight from the event's text.
struct ValueSeed<'a>(&'a RefCell<Shared>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Bytes;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Bytes, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for ValueSeed<'_> {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        Ok(self.0.borrow_mut().value(v))
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
                // Within the range of chrono's dates: two comparisons, not a calendar sum.
                static RANGE: std::sync::LazyLock<std::ops::RangeInclusive<i64>> =
                    std::sync::LazyLock::new(|| {
                        chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis()
                            ..=chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis()
                    });
                if RANGE.contains(&ms) {
                    Ok(Millis(ms))
                } else {
                    Err(E::custom(format!(
                        "record timestamp {ms} is out of the range of dates"
                    )))
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
    fn deep_nesting_in_unread_members_is_an_error_not_a_stack_overflow() {
        // On a thread with the stack of the threads that run handlers (8 MiB; 2 MiB is too
        // little for 255 levels in a debug build).
        std::thread::Builder::new()
            .stack_size(crate::lambda::HANDLER_STACK_BYTES)
            .spawn(deep_nesting_cases)
            .unwrap()
            .join()
            .unwrap();
    }

    fn deep_nesting_cases() {
        let deep = "[".repeat(100_000);
        for event in [
            format!(
                r#"{{"records":{{"t-0":[{{"topic":"t","partition":0,"offset":0,"timestamp":0,"headers":{deep}"#
            ),
            format!(r#"{{"eventSource":{deep}"#),
            format!(
                r#"{{"records":{{"t-0":[{{"topic":"t","partition":0,"offset":0,"timestamp":0,"valueSchemaMetadata":{{"x":{deep}"#
            ),
        ] {
            let e = parse_event(event.as_bytes()).unwrap_err();
            assert!(e.starts_with("not an MSK event: "), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        // Shallow unknown members are skipped, and a record member given twice is refused.
        let ok = parse_event(
            br#"{"x":{"y":[1,{"z":null}]},"records":{"t-0":[{"topic":"t","partition":0,"offset":3,"timestamp":0,"headers":[{"h":[1,2]}],"key":"AA=="}]}}"#,
        )
        .unwrap();
        assert_eq!(ok.records[0].offset, 3);
        let twice = parse_event(
            br#"{"records":{"t-0":[{"topic":"t","partition":0,"offset":3,"offset":4,"timestamp":0}]}}"#,
        )
        .unwrap_err();
        assert!(twice.contains("duplicate field `offset`"), "{twice}");
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
    fn partitions_keep_their_order_and_a_key_given_twice_its_last_list() {
        let record = |p: u32, o: u32| {
            format!(r#"{{"topic":"t","partition":{p},"offset":{o},"timestamp":1,"value":null}}"#)
        };
        let offsets = |json: String| -> Vec<(i32, i64)> {
            let event = parse_event(json.as_bytes()).unwrap_or_else(|e| panic!("{e}: {json}"));
            event
                .records
                .iter()
                .map(|r| (r.partition, r.offset))
                .collect()
        };
        let three = format!(
            r#"{{"records":{{"t-2":[{},{}],"t-0":[{}],"t-1":[{},{}]}}}}"#,
            record(2, 7),
            record(2, 8),
            record(0, 1),
            record(1, 4),
            record(1, 5)
        );
        assert_eq!(
            offsets(three),
            [(2, 7), (2, 8), (0, 1), (1, 4), (1, 5)],
            "in the order the event lists its partitions"
        );
        // t-0 given twice: its second list (three records) stands where its first (one) was.
        let twice = format!(
            r#"{{"records":{{"t-0":[{}],"t-1":[{}],"t-0":[{},{},{}],"t-2":[]}}}}"#,
            record(0, 1),
            record(1, 4),
            record(0, 10),
            record(0, 11),
            record(0, 12)
        );
        assert_eq!(offsets(twice), [(0, 10), (0, 11), (0, 12), (1, 4)]);
        // ... and a shorter second list.
        let shorter = format!(
            r#"{{"records":{{"t-0":[{},{}],"t-1":[{}],"t-0":[]}}}}"#,
            record(0, 1),
            record(0, 2),
            record(1, 4)
        );
        assert_eq!(offsets(shorter), [(1, 4)]);
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
        // Escaped base64 decodes; text that is not base64 is kept as it is (for quarantine);
        // an empty value is an empty record, not a tombstone.
        let values = parse_event(
            br#"{"records":{"t-0":[{"partition":0,"offset":0,"timestamp":0,"value":"eA\u003d\u003d"},
            {"partition":0,"offset":1,"timestamp":0,"value":"not base64!"},
            {"partition":0,"offset":2,"timestamp":0,"value":""},
            {"partition":0,"offset":3,"timestamp":0,"value":"eWVz"}]}}"#,
        )
        .unwrap();
        let values: Vec<Option<&[u8]>> =
            values.records.iter().map(|r| r.value.as_deref()).collect();
        assert_eq!(
            values,
            [
                Some(&b"x"[..]),
                Some(b"not base64!"),
                Some(b""),
                Some(b"yes")
            ]
        );
        // The topic falls back to the map key's topic part.
        let keyed = parse_event(
            br#"{"records":{"my-topic-3":[{"partition":3,"offset":0,"timestamp":0}]}}"#,
        )
        .unwrap();
        assert_eq!(&*keyed.records[0].topic, "my-topic");
    }
}
