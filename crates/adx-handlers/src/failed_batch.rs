//! MSK batches that failed past their retries, as the event source mapping keeps them in its S3
//! on-failure destination: one JSON invocation record per object, with the failure's metadata
//! (`requestContext`, `responseContext`, `KafkaBatchInfo`) and, for an S3 destination, the
//! whole event the function received in `payload`, as an escaped JSON string (the shape the
//! Lambda developer guide shows under "S3 destination example invocation record"). Listing
//! them, and handing each batch to the stream handler again (redrive): the handler writes what
//! it would have written, under the same names, and the committer drops what a table already
//! holds, so a redrive is exactly once however often it runs.

use crate::kafka_event::parse_event;
use crate::{Adapters, HandlerConfig, HandlerError, handle_kafka_event};
use adx_core::InvocationReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// One failed batch's invocation record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailedBatch {
    /// Why Lambda gave up on it.
    #[serde(rename = "requestContext")]
    pub request: RequestContext,
    /// When the record was written.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The batch: size, source, and the offsets of each topic-partition.
    #[serde(rename = "KafkaBatchInfo")]
    pub batch: KafkaBatchInfo,
    /// The whole event, as JSON text (S3 destinations only).
    #[serde(default)]
    pub payload: Option<String>,
}

/// The failure's request context.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequestContext {
    /// `RetryAttemptsExhausted`, `MaximumPayloadSizeExceeded`, ...
    pub condition: String,
    /// Invocations tried.
    #[serde(rename = "approximateInvokeCount", default)]
    pub invocations: u64,
}

/// The batch's description.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KafkaBatchInfo {
    /// Records in the batch.
    #[serde(rename = "batchSize", default)]
    pub size: u64,
    /// The cluster.
    #[serde(rename = "eventSourceArn", default)]
    pub event_source_arn: String,
    /// Per `<topic>-<partition>`: the first and last offsets and timestamps.
    #[serde(rename = "recordsInfo", default)]
    pub records: BTreeMap<String, RecordsInfo>,
}

/// The offsets of one topic-partition of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RecordsInfo {
    /// First offset (as text).
    #[serde(rename = "firstRecordOffset")]
    pub first_offset: String,
    /// Last offset (as text).
    #[serde(rename = "lastRecordOffset")]
    pub last_offset: String,
}

/// Reads a failed batch's invocation record.
pub fn parse_failed_batch(bytes: &[u8]) -> Result<FailedBatch, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not a Kafka failure record: {e}"))
}

/// One failed batch as `adx failed list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FailedBatchSummary {
    /// The object's key.
    pub key: String,
    /// Why Lambda gave up on it.
    pub condition: String,
    /// Invocations tried.
    pub invocations: u64,
    /// When.
    pub timestamp: Option<String>,
    /// Records in the batch.
    pub records: u64,
    /// Per `<topic>-<partition>`, the offsets it covers.
    pub partitions: BTreeMap<String, RecordsInfo>,
    /// Whether the record holds the batch itself (S3 destinations do), so it can be redriven.
    pub redrivable: bool,
}

/// One listed object: a failed batch, or the object's key and why it is not one.
pub type Listed = Result<FailedBatchSummary, (String, String)>;

/// The failed batches under `prefix` of `bucket`, in key order; an object that is not a
/// failure record is listed with the reason.
pub fn list_failed(
    adapters: &Adapters,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Listed>, HandlerError> {
    let mut keys = adapters
        .store
        .list(bucket, prefix)
        .map_err(adx_core::IngestError::Store)?;
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = read(adapters, bucket, &key)?;
        out.push(match parse_failed_batch(&bytes) {
            Ok(batch) => Ok(FailedBatchSummary {
                condition: batch.request.condition,
                invocations: batch.request.invocations,
                timestamp: batch.timestamp,
                records: batch.batch.size,
                partitions: batch.batch.records,
                redrivable: batch.payload.is_some(),
                key,
            }),
            Err(reason) => Err((key, reason)),
        });
    }
    Ok(out)
}

/// Hands the batch kept in `bucket`/`key` to the stream handler again; its report. An object
/// that is not a failure record, or holds no batch, is refused with the reason (an `Event`
/// error); a store or registry fault fails as the handler does.
pub fn redrive(
    adapters: &Adapters,
    config: &HandlerConfig,
    bucket: &str,
    key: &str,
) -> Result<InvocationReport, HandlerError> {
    let bytes = read(adapters, bucket, key)?;
    let batch = parse_failed_batch(&bytes).map_err(HandlerError::Event)?;
    let Some(payload) = batch.payload else {
        return Err(HandlerError::Event(format!(
            "s3://{bucket}/{key} holds the failure's metadata only (an SQS or SNS destination \
             writes no batch): read the offsets from it and consume them again"
        )));
    };
    let event = parse_event(payload.as_bytes()).map_err(HandlerError::Event)?;
    handle_kafka_event(adapters, config, &event)
}

fn read(adapters: &Adapters, bucket: &str, key: &str) -> Result<Vec<u8>, HandlerError> {
    let mut bytes = Vec::new();
    adapters
        .store
        .get(bucket, key)
        .map_err(adx_core::IngestError::Store)?
        .read_to_end(&mut bytes)
        .map_err(|e| HandlerError::Event(format!("reading s3://{bucket}/{key}: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The developer guide's example, its comments removed, with a real event as payload.
    fn record(payload: Option<&str>) -> String {
        let mut record = serde_json::json!({
            "requestContext": {
                "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:myfunction",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 1
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2019-11-14T00:38:06.021Z",
            "KafkaBatchInfo": {
                "batchSize": 500,
                "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2",
                "bootstrapServers": "...",
                "payloadSize": 2039086,
                "recordsInfo": {
                    "Topic-0": {
                        "firstRecordOffset": "49601189658422359378836298521827638475320189012309704722",
                        "lastRecordOffset": "49601189658422359378836298522902373528957594348623495186",
                        "firstRecordTimestamp": "2019-11-14T00:38:04.835Z",
                        "lastRecordTimestamp": "2019-11-14T00:38:05.580Z"
                    }
                }
            }
        });
        if let Some(p) = payload {
            record["payload"] = p.into();
        }
        record.to_string()
    }

    #[test]
    fn reads_the_guides_invocation_record_with_and_without_the_batch() {
        let with = parse_failed_batch(record(Some("{}")).as_bytes()).unwrap();
        assert_eq!(with.request.condition, "RetryAttemptsExhausted");
        assert_eq!(with.request.invocations, 1);
        assert_eq!(with.batch.size, 500);
        assert_eq!(with.batch.records.len(), 1);
        assert_eq!(
            with.batch.records["Topic-0"].first_offset,
            "49601189658422359378836298521827638475320189012309704722"
        );
        assert_eq!(with.payload.as_deref(), Some("{}"));
        let without = parse_failed_batch(record(None).as_bytes()).unwrap();
        assert_eq!(without.payload, None);
        assert!(parse_failed_batch(b"{\"a\":1}").is_err());
    }
}
