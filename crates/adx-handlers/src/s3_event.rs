//! Reading S3 event notifications: which records are object creations, the URL-decoded key,
//! and the object's identity (version id, else ETag) and arrival time.

use adx_core::ObjectSource;
use adx_core::Pin;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};

/// Decodes an event key: `+` is a space, then percent-decoding (UTF-8).
pub fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The object a record announces, or `None` for records that are not object creations.
pub fn object_source(record: &S3EventRecord) -> Result<Option<ObjectSource>, String> {
    let name = record.event_name.as_deref().unwrap_or("");
    if !name.starts_with("ObjectCreated") {
        return Ok(None);
    }
    let bucket = record
        .s3
        .bucket
        .name
        .clone()
        .ok_or("a record without s3.bucket.name")?;
    let raw_key = record
        .s3
        .object
        .key
        .as_deref()
        .ok_or("a record without s3.object.key")?;
    let version = record
        .s3
        .object
        .version_id
        .clone()
        .filter(|v| !v.is_empty() && v != "null")
        .or_else(|| record.s3.object.e_tag.clone().filter(|e| !e.is_empty()));
    let pin = if let Some(id) = record
        .s3
        .object
        .version_id
        .clone()
        .filter(|v| !v.is_empty() && v != "null")
    {
        Pin::VersionId(id)
    } else if let Some(etag) = record.s3.object.e_tag.clone().filter(|e| !e.is_empty()) {
        Pin::ETag(etag)
    } else {
        Pin::Latest
    };
    Ok(Some(ObjectSource {
        pin,
        bucket,
        key: decode_key(raw_key),
        version,
        arrival_ms: record.event_time.timestamp_millis(),
        size: record.s3.object.size.and_then(|s| u64::try_from(s).ok()),
    }))
}

/// What S3 leaves unescaped in event keys (besides letters and digits); a space becomes `+`.
const KEY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b' ');

/// Encodes a key as S3 does in event notifications.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ESCAPES)
        .to_string()
        .replace(' ', "+")
}

/// The notification S3 sends for one `ObjectCreated:Put`, as JSON (for `adx`, tests and demos).
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    event_time_rfc3339: &str,
) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": event_time_rfc3339,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "landing-object-created",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": encode_key(key), "size": size, "eTag": etag, "sequencer": "0"}
        }
    }]})
}

/// Parses an S3 event from JSON.
pub fn parse_event(json: &[u8]) -> Result<S3Event, String> {
    serde_json::from_slice(json).map_err(|e| format!("not an S3 event: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_events_round_trip() {
        let key = "ad_impressions/a b+c/été.json";
        let event = object_created_event("landing", key, 3, "e1", "2026-11-27T03:00:00.000Z");
        let parsed = parse_event(event.to_string().as_bytes()).unwrap();
        let source = object_source(&parsed.records[0]).unwrap().unwrap();
        assert_eq!(source.key, key);
        assert_eq!(encode_key(key), "ad_impressions/a+b%2Bc/%C3%A9t%C3%A9.json");
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_key("ad_impressions/a+b%2Bc/%C3%A9t%C3%A9.json"),
            "ad_impressions/a b+c/été.json"
        );
    }

    #[test]
    fn reads_created_records_only() {
        let event = parse_event(
            br#"{"Records":[
              {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1","eventTime":"2026-11-27T03:00:00.000Z",
               "eventName":"ObjectCreated:Put","userIdentity":{"principalId":"x"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},
               "responseElements":{},"s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"landing","arn":"arn:aws:s3:::landing"},
               "object":{"key":"click_conversions/x+y.csv","size":3,"eTag":"abc","sequencer":"1"}}},
              {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1","eventTime":"2026-11-27T03:00:00.000Z",
               "eventName":"ObjectRemoved:Delete","userIdentity":{"principalId":"x"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},
               "responseElements":{},"s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"landing","arn":"arn:aws:s3:::landing"},
               "object":{"key":"click_conversions/x.csv","sequencer":"2"}}}]}"#,
        )
        .unwrap();
        let first = object_source(&event.records[0]).unwrap().unwrap();
        assert_eq!(
            (first.key.as_str(), first.version.as_deref()),
            ("click_conversions/x y.csv", Some("abc"))
        );
        assert_eq!(first.arrival_ms, 1_795_748_400_000);
        assert!(object_source(&event.records[1]).unwrap().is_none());
    }
}
