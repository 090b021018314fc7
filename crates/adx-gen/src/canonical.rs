//! The canonical form of a record: what the curated Parquet must hold for it.

use serde_json::{Map, Value};

use crate::Dataset;
use crate::spec::{self, Field, Ty};

/// The record as the curated Parquet must hold it: every schema field present (absent optional
/// fields as `null`), timestamps as epoch-millis integers (RFC 3339 texts converted), enums as
/// symbol strings, nested records as JSON objects and arrays as JSON arrays. Fields that are not
/// in the schema are dropped.
///
/// Meant for good records; for other values it does its best and leaves what it cannot convert
/// as it is.
pub fn canonical(dataset: Dataset, value: &Value) -> Value {
    record(spec::fields(dataset), Some(value))
}

/// Epoch milliseconds of a timestamp written as a number, a numeric text or an RFC 3339 text.
pub(crate) fn millis(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .map(|t| t.timestamp_millis())
        }),
        _ => None,
    }
}

fn record(fields: &[Field], value: Option<&Value>) -> Value {
    let parsed;
    let value = match value {
        Some(Value::String(text)) => {
            parsed = serde_json::from_str::<Value>(text).ok();
            parsed.as_ref()
        }
        other => other,
    };
    let Some(Value::Object(m)) = value else {
        return value.cloned().unwrap_or(Value::Null);
    };
    let out: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_string(), convert(&f.ty, m.get(f.name))))
        .collect();
    Value::Object(out)
}

fn convert(ty: &Ty, value: Option<&Value>) -> Value {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match ty {
        Ty::Opt(inner) => convert(inner, Some(v)),
        Ty::Ts => millis(v).map_or_else(|| v.clone(), Value::from),
        Ty::Int | Ty::Long => match v {
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map_or_else(|_| v.clone(), Value::from),
            _ => v.clone(),
        },
        Ty::Str | Ty::Enum(_) => v.clone(),
        Ty::Array(items) => {
            let parsed = match v {
                Value::String(text) => serde_json::from_str::<Value>(text).ok(),
                _ => None,
            };
            match parsed.as_ref().unwrap_or(v) {
                Value::Array(list) => {
                    Value::Array(list.iter().map(|x| convert(items, Some(x))).collect())
                }
                other => other.clone(),
            }
        }
        Ty::Record(fields) => record(fields, Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_fills_converts_and_drops() {
        let v = json!({
            "impression_id": "a", "event_time": "2026-11-27T03:04:05.123Z",
            "campaign_id": "cmp-0001", "creative_id": "cr-00010", "site_domain": "x.example.com",
            "ad_format": "BANNER", "device_type": "MOBILE", "country": null, "extra": 1
        });
        let c = canonical(Dataset::AdImpressions, &v);
        assert_eq!(c["event_time"], json!(1_795_748_645_123_i64));
        assert_eq!(c["country"], Value::Null);
        assert_eq!(c["win_price_micros"], Value::Null);
        assert!(c.get("extra").is_none());
        assert_eq!(c.as_object().map(|m| m.len()), Some(12));
    }

    #[test]
    fn nested_json_text_is_parsed() {
        let v = json!({"request_id": "r", "event_time": 5, "imps": "[{\"imp_id\":\"1\"}]",
            "user": "{\"user_id\":\"u-1\"}"});
        let c = canonical(Dataset::BidRequests, &v);
        assert_eq!(c["imps"][0]["imp_id"], "1");
        assert_eq!(c["imps"][0]["width"], Value::Null);
        assert_eq!(c["user"]["segments"], Value::Null);
        assert_eq!(c["site"], Value::Null);
    }
}
