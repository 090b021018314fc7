//! MSK events (the JSON that the Lambda event source mapping hands to the stream function)
//! holding generated records, as Glue-framed Avro or plain JSON values, spread over partitions,
//! with an optional share of values broken at the framing level and of tombstones.

use crate::avro::to_avro;
use crate::encode::Counts;
use crate::records::{Expected, GenRecord, RecordValue};
use crate::{Dataset, Format, GenConfig, GenError, records_for};
use apache_avro::Schema;
use apache_avro::writer::datum::GenericDatumWriter;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::io::Write;

/// How values are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEncoding {
    /// Glue Schema Registry framing around the Avro datum, under this schema version id.
    GlueAvro {
        /// The writer schema's version id (a UUID).
        version_id: String,
        /// Compress the datum with zlib (Glue compression byte 5).
        zlib: bool,
    },
    /// Plain JSON values.
    Json,
}

/// Settings of one MSK event.
#[derive(Debug, Clone)]
pub struct MskConfig {
    /// Topic of every record.
    pub topic: String,
    /// Records are spread round-robin over this many partitions.
    pub partitions: u32,
    /// How values are written.
    pub encoding: StreamEncoding,
    /// Share of values broken at the framing level (unknown schema version id, Confluent framing,
    /// truncated header, corrupt zlib; for JSON: bytes that are not JSON).
    pub framing_bad_share: f64,
    /// Share of tombstones (null values), counted apart.
    pub tombstone_share: f64,
    /// Squeeze the generated event times (spread over the 6 hours before arrival) into this
    /// many milliseconds before arrival, as a live stream looks; out-of-window times (the bad
    /// ones) are left alone.
    pub event_window_ms: Option<i64>,
}

/// The event time of a record moved into the last `window_ms` before `arrival_ms`.
fn squeeze(value: &mut Value, arrival_ms: i64, window_ms: i64) {
    let Some(t) = value.get("event_time").and_then(crate::canonical::millis) else {
        return;
    };
    let six_hours = 6 * 3_600_000;
    if t <= arrival_ms && t >= arrival_ms - six_hours {
        let squeezed = arrival_ms - (arrival_ms - t) * window_ms / six_hours;
        value["event_time"] = json!(squeezed);
    }
}

/// What an MSK event holds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MskCounts {
    /// Counts of the records (good, bad, duplicates), framing-level bad ones included in `bad`.
    pub records: Counts,
    /// Tombstones.
    pub tombstones: u64,
}

fn every(share: f64, i: usize) -> bool {
    // Deterministic spreading: record i is picked when the running share crosses an integer.
    share > 0.0 && ((i + 1) as f64 * share).floor() > (i as f64 * share).floor()
}

fn frame(version_id: &str, zlib: bool, datum: &[u8]) -> Result<Vec<u8>, GenError> {
    let id = uuid::Uuid::parse_str(version_id).map_err(|e| GenError::Convert {
        field: "version_id".into(),
        message: e.to_string(),
    })?;
    let mut out = vec![3u8, if zlib { 5 } else { 0 }];
    out.extend_from_slice(id.as_bytes());
    if zlib {
        let mut enc = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
        enc.write_all(datum)?;
        out = enc.finish()?;
    } else {
        out.extend_from_slice(datum);
    }
    Ok(out)
}

fn broken(kind: usize, encoding: &StreamEncoding, good: &[u8]) -> (Vec<u8>, &'static str) {
    match encoding {
        StreamEncoding::Json => (b"{\"not json".to_vec(), "not_json"),
        StreamEncoding::GlueAvro { .. } => match kind % 4 {
            0 => {
                let mut v = good.to_vec();
                v[2..18].copy_from_slice(&[0xde; 16]);
                (v, "unknown_schema_version")
            }
            1 => {
                let mut v = vec![0u8, 0, 0, 0, 42];
                v.extend_from_slice(good.get(18..).unwrap_or_default());
                (v, "confluent_framing")
            }
            2 => (good[..good.len().min(10)].to_vec(), "truncated_header"),
            _ => {
                let mut v = good[..18.min(good.len())].to_vec();
                v[1] = 5;
                v.extend_from_slice(b"definitely not zlib");
                (v, "corrupt_zlib")
            }
        },
    }
}

/// One generated Kafka record: its key (the dataset key, when the record has one) and its
/// value (`None`: a tombstone).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamValue {
    /// The record's key.
    pub key: Option<String>,
    /// The value's bytes, or `None` for a tombstone.
    pub value: Option<Vec<u8>>,
}

/// The generated values of one dataset in order, as [`msk_event`] and `adx produce` write them;
/// [`StreamValues::counts`] says what the values yielded so far hold.
pub struct StreamValues<'s> {
    dataset: Dataset,
    cfg: GenConfig,
    msk: MskConfig,
    writer: GenericDatumWriter<'s>,
    records: crate::Records,
    index: usize,
    good_seen: usize,
    replaced: std::collections::HashSet<String>,
    counts: MskCounts,
}

/// The values of `cfg.records` records of `dataset` (`schema`: the writer schema of Glue-framed
/// values), with the framing-level breakage and tombstones `msk` asks for.
pub fn stream_values<'s>(
    dataset: Dataset,
    cfg: &GenConfig,
    msk: &MskConfig,
    schema: &'s Schema,
) -> Result<StreamValues<'s>, GenError> {
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .map_err(|e| GenError::Avro(Box::new(e)))?;
    let format = match msk.encoding {
        StreamEncoding::Json => Format::JsonLines,
        StreamEncoding::GlueAvro { .. } => Format::Avro(crate::AvroCodec::Null),
    };
    Ok(StreamValues {
        dataset,
        cfg: *cfg,
        msk: msk.clone(),
        writer,
        records: records_for(dataset, &format, cfg),
        index: 0,
        good_seen: 0,
        replaced: std::collections::HashSet::new(),
        counts: MskCounts::default(),
    })
}

impl StreamValues<'_> {
    /// What the values yielded so far hold.
    pub fn counts(&self) -> &MskCounts {
        &self.counts
    }

    fn value_of(&mut self, record: GenRecord) -> Result<StreamValue, GenError> {
        let i = self.index;
        self.index += 1;
        let (key, bytes) = match &record.value {
            RecordValue::Raw(text) => (None, text.as_bytes().to_vec()),
            RecordValue::Json(v) => {
                let mut v = v.clone();
                if let Some(window) = self.msk.event_window_ms {
                    squeeze(&mut v, self.cfg.arrival_ms, window);
                }
                let v = &v;
                let key = v
                    .get(self.dataset.key_field())
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let bytes = match &self.msk.encoding {
                    StreamEncoding::Json => serde_json::to_vec(v)?,
                    StreamEncoding::GlueAvro { version_id, zlib } => {
                        let datum = self
                            .writer
                            .write_value_to_vec(to_avro(self.dataset, v)?)
                            .map_err(|e| GenError::Avro(Box::new(e)))?;
                        frame(version_id, *zlib, &datum)?
                    }
                };
                (key, bytes)
            }
        };
        // Tombstones and framing-level breakage replace good records only, so the generator's
        // own bad records and duplicates all stay in the stream. A later duplicate of a replaced
        // record is then the first of its key to arrive: it counts as good.
        let mut record = record;
        if matches!(record.expected, Expected::Duplicate)
            && key.as_ref().is_some_and(|k| self.replaced.remove(k))
        {
            record.expected = Expected::Good;
        }
        let good_index = if matches!(record.expected, Expected::Good) {
            self.good_seen += 1;
            Some(self.good_seen - 1)
        } else {
            None
        };
        let counts = &mut self.counts;
        let value = if good_index.is_some_and(|g| every(self.msk.tombstone_share, g + 3)) {
            counts.tombstones += 1;
            self.replaced.extend(key.clone());
            None
        } else if good_index.is_some_and(|g| every(self.msk.framing_bad_share, g)) {
            self.replaced.extend(key.clone());
            let (broken, kind) = broken(i, &self.msk.encoding, &bytes);
            counts.records.bad += 1;
            *counts
                .records
                .bad_by_kind
                .entry(kind.to_string())
                .or_default() += 1;
            Some(broken)
        } else {
            counts.records.add(record.expected);
            Some(bytes)
        };
        Ok(StreamValue { key, value })
    }
}

impl Iterator for StreamValues<'_> {
    type Item = Result<StreamValue, GenError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some(self.value_of(record))
    }
}

/// Builds the MSK event JSON for `cfg.records` records of `dataset`, and what it holds.
pub fn msk_event(
    dataset: Dataset,
    cfg: &GenConfig,
    msk: &MskConfig,
    schema_json: &str,
) -> Result<(Value, MskCounts), GenError> {
    let schema = Schema::parse_str(schema_json).map_err(|e| GenError::Avro(Box::new(e)))?;
    let partitions = msk.partitions.max(1) as usize;
    let mut by_partition: Vec<Vec<Value>> = vec![Vec::new(); partitions];
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut values = stream_values(dataset, cfg, msk, &schema)?;
    for (i, value) in values.by_ref().enumerate() {
        let StreamValue { key, value } = value?;
        let partition = i % partitions;
        let offset = by_partition[partition].len();
        let mut r = Map::new();
        r.insert("topic".into(), json!(msk.topic));
        r.insert("partition".into(), json!(partition));
        r.insert("offset".into(), json!(offset));
        r.insert("timestamp".into(), json!(cfg.arrival_ms));
        r.insert("timestampType".into(), json!("CREATE_TIME"));
        r.insert(
            "key".into(),
            key.map(|k| Value::String(b64.encode(k)))
                .unwrap_or(Value::Null),
        );
        r.insert(
            "value".into(),
            value
                .map(|v| Value::String(b64.encode(v)))
                .unwrap_or(Value::Null),
        );
        r.insert("headers".into(), json!([]));
        by_partition[partition].push(Value::Object(r));
    }
    let counts = values.counts().clone();
    let mut records = Map::new();
    for (p, list) in by_partition.into_iter().enumerate() {
        if !list.is_empty() {
            records.insert(format!("{}-{p}", msk.topic), Value::Array(list));
        }
    }
    let event = json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/advertisex-local/00000000-0000-0000-0000-000000000000-1",
        "bootstrapServers": "127.0.0.1:9092",
        "records": records,
    });
    Ok((event, counts))
}

#[cfg(test)]
mod msk_tests {
    use super::*;

    #[test]
    fn events_hold_what_the_counts_say() {
        let schema = include_str!("../../../schemas/ad_impressions.avsc");
        let cfg = GenConfig {
            records: 200,
            bad_share: 0.1,
            duplicate_share: 0.05,
            ..GenConfig::default()
        };
        for encoding in [
            StreamEncoding::Json,
            StreamEncoding::GlueAvro {
                version_id: "12345678-9abc-def0-1122-334455667788".into(),
                zlib: true,
            },
        ] {
            let msk = MskConfig {
                topic: "ad_impressions".into(),
                partitions: 3,
                encoding,
                framing_bad_share: 0.05,
                tombstone_share: 0.02,
                event_window_ms: None,
            };
            let (event, counts) = msk_event(Dataset::AdImpressions, &cfg, &msk, schema).unwrap();
            let total: usize = event["records"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_array().unwrap().len())
                .sum();
            assert_eq!(total, 200);
            assert_eq!(counts.records.total() + counts.tombstones, 200);
            assert_eq!(counts.tombstones, 3, "2% of the 170 good records");
            assert!(counts.records.bad >= 20 + 7, "{counts:?}");
            assert_eq!(event["records"]["ad_impressions-1"][0]["offset"], 0);
        }
    }
}
