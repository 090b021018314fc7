//! The data contract (`shared/DESIGN.md`, section 2), rule by rule, against `schemas/`: for
//! each dataset, one record the contract accepts and one it refuses for every rule, and one
//! accepted record for each case the contract allows without a rule (a win price without a
//! currency, a negative `tmax_ms`, ...). Each record goes through the stream path as its own
//! Kafka record; a refused one must be in the quarantine with the field its rule names.

use adx_core::{IngestConfig, ObjectStore};
use adx_core::{StreamConfig, StreamRecord, WriterLimits, ingest_batch};
use adx_local::MemoryStore;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;

mod common;

/// When the records arrived (2026-11-28T06:00:00Z).
const ARRIVAL_MS: i64 = 1_795_845_600_000;
/// An event time an hour before arrival.
const T: &str = "2026-11-28T05:00:00Z";

/// What the contract says of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Curated.
    Accepted,
    /// Quarantined, the reason naming this field.
    Refused(&'static str),
}
use Verdict::{Accepted, Refused};

/// `base` with `changes` applied (a null removes the field).
fn with(base: &Value, changes: Value) -> Value {
    let mut out = base.clone();
    for (k, v) in changes.as_object().unwrap() {
        let target = out.as_object_mut().unwrap();
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
    out
}

fn impressions() -> Vec<(&'static str, Value, Verdict)> {
    let base = json!({"impression_id": "i-1", "event_time": T, "request_id": "r-1",
        "user_id": "u-1", "campaign_id": "c-1", "creative_id": "cr-1",
        "site_domain": "news.example", "ad_format": "BANNER", "device_type": "MOBILE",
        "country": "DE", "win_price_micros": 1200, "currency": "EUR"});
    let mut cases = vec![("a complete impression", base.clone(), Accepted)];
    for field in ["impression_id", "campaign_id", "creative_id", "site_domain"] {
        cases.push((
            "a required string empty",
            with(&base, json!({field: ""})),
            Refused(field),
        ));
    }
    for field in ["request_id", "user_id"] {
        cases.push((
            "an optional id empty",
            with(&base, json!({field: ""})),
            Refused(field),
        ));
        cases.push((
            "an optional id absent",
            with(&base, json!({field: null})),
            Accepted,
        ));
    }
    cases.extend([
        (
            "a negative win price",
            with(&base, json!({"win_price_micros": -1})),
            Refused("win_price_micros"),
        ),
        (
            "a win price of zero",
            with(&base, json!({"win_price_micros": 0})),
            Accepted,
        ),
        (
            "a country in lower case",
            with(&base, json!({"country": "de"})),
            Refused("country"),
        ),
        (
            "no country",
            with(&base, json!({"country": null})),
            Accepted,
        ),
        (
            "a currency in lower case",
            with(&base, json!({"currency": "eur"})),
            Refused("currency"),
        ),
        // The contract asks for a currency only with revenue_micros (click_conversions).
        (
            "a win price without a currency",
            with(&base, json!({"currency": null})),
            Accepted,
        ),
        (
            "a currency without a win price",
            with(&base, json!({"win_price_micros": null})),
            Accepted,
        ),
        (
            "an event time before 2000",
            with(&base, json!({"event_time": "1999-12-31T23:59:59Z"})),
            Refused("event_time"),
        ),
        (
            "an event time on 2000-01-01",
            with(&base, json!({"event_time": "2000-01-01T00:00:00Z"})),
            Accepted,
        ),
        (
            "an event time 6 minutes ahead of arrival",
            with(&base, json!({"event_time": "2026-11-28T06:06:00Z"})),
            Refused("event_time"),
        ),
        (
            "an event time 4 minutes ahead of arrival",
            with(&base, json!({"event_time": "2026-11-28T06:04:00Z"})),
            Accepted,
        ),
    ]);
    cases
}

fn clicks() -> Vec<(&'static str, Value, Verdict)> {
    let click = json!({"event_id": "e-1", "event_type": "CLICK", "event_time": T,
        "user_id": "u-1", "campaign_id": "c-1", "impression_id": "i-1", "click_id": "k-1"});
    let conversion = with(
        &click,
        json!({"event_type": "CONVERSION", "conversion_type": "PURCHASE",
               "revenue_micros": 5000, "currency": "USD"}),
    );
    let mut cases = vec![
        ("a complete click", click.clone(), Accepted),
        ("a complete conversion", conversion.clone(), Accepted),
    ];
    for field in ["event_id", "campaign_id"] {
        cases.push((
            "a required string empty",
            with(&click, json!({field: ""})),
            Refused(field),
        ));
    }
    for field in ["user_id", "impression_id", "click_id"] {
        cases.push((
            "an optional id empty",
            with(&click, json!({field: ""})),
            Refused(field),
        ));
        cases.push((
            "an optional id absent",
            with(&click, json!({field: null})),
            Accepted,
        ));
    }
    cases.extend([
        (
            "negative revenue",
            with(&conversion, json!({"revenue_micros": -1})),
            Refused("revenue_micros"),
        ),
        (
            "revenue of zero",
            with(&conversion, json!({"revenue_micros": 0})),
            Accepted,
        ),
        (
            "a currency in lower case",
            with(&conversion, json!({"currency": "usd"})),
            Refused("currency"),
        ),
        (
            "a conversion without its type",
            with(&conversion, json!({"conversion_type": null})),
            Refused("conversion_type"),
        ),
        (
            "a click with a conversion type",
            with(&click, json!({"conversion_type": "PURCHASE"})),
            Refused("conversion_type"),
        ),
        (
            "a click with revenue",
            with(&click, json!({"revenue_micros": 10, "currency": "USD"})),
            Refused("revenue_micros"),
        ),
        (
            "revenue without a currency",
            with(&conversion, json!({"currency": null})),
            Refused("currency"),
        ),
        (
            "a conversion without revenue",
            with(
                &conversion,
                json!({"revenue_micros": null, "currency": null}),
            ),
            Accepted,
        ),
        (
            "a click with a currency and no revenue",
            with(&click, json!({"currency": "USD"})),
            Accepted,
        ),
        (
            "an event time before 2000",
            with(&click, json!({"event_time": "1999-12-31T23:59:59Z"})),
            Refused("event_time"),
        ),
    ]);
    cases
}

fn bids() -> Vec<(&'static str, Value, Verdict)> {
    let imp = json!({"imp_id": "imp-1", "ad_format": "BANNER", "bid_floor_micros": 100});
    let base = json!({"request_id": "b-1", "event_time": T, "auction_type": "FIRST_PRICE",
        "tmax_ms": 120, "imps": [imp],
        "site": {"domain": "news.example", "publisher_id": "p-1", "categories": ["IAB1"]},
        "device": {"device_type": "MOBILE"},
        "user": {"user_id": "u-1", "country": "DE", "segments": []},
        "targeting": {"keywords": [], "interests": []}});
    let site = |changes: Value| with(&base, json!({"site": with(&base["site"], changes)}));
    let user = |changes: Value| with(&base, json!({"user": with(&base["user"], changes)}));
    vec![
        ("a complete bid request", base.clone(), Accepted),
        (
            "an empty request id",
            with(&base, json!({"request_id": ""})),
            Refused("request_id"),
        ),
        (
            "an empty imp id",
            with(&base, json!({"imps": [with(&imp, json!({"imp_id": ""}))]})),
            Refused("imp_id"),
        ),
        (
            "a negative bid floor",
            with(
                &base,
                json!({"imps": [with(&imp, json!({"bid_floor_micros": -1}))]}),
            ),
            Refused("bid_floor_micros"),
        ),
        (
            "a bid floor of zero",
            with(
                &base,
                json!({"imps": [with(&imp, json!({"bid_floor_micros": 0}))]}),
            ),
            Accepted,
        ),
        ("no imp", with(&base, json!({"imps": []})), Refused("imps")),
        (
            "an empty site domain",
            site(json!({"domain": ""})),
            Refused("domain"),
        ),
        (
            "an empty publisher id",
            site(json!({"publisher_id": ""})),
            Refused("publisher_id"),
        ),
        ("no site", with(&base, json!({"site": null})), Accepted),
        (
            "an empty user id",
            user(json!({"user_id": ""})),
            Refused("user_id"),
        ),
        ("no user id", user(json!({"user_id": null})), Accepted),
        (
            "a user country in lower case",
            user(json!({"country": "de"})),
            Refused("country"),
        ),
        // The contract has no rule on tmax_ms.
        (
            "a negative tmax",
            with(&base, json!({"tmax_ms": -5})),
            Accepted,
        ),
        ("no tmax", with(&base, json!({"tmax_ms": null})), Accepted),
        (
            "an event time before 2000",
            with(&base, json!({"event_time": "1999-12-31T23:59:59Z"})),
            Refused("event_time"),
        ),
    ]
}

/// Every quarantine entry of `store`, by (topic, offset).
fn quarantined(store: &MemoryStore) -> BTreeMap<(String, i64), Value> {
    let mut out = BTreeMap::new();
    for key in store.list("quarantine", "").unwrap() {
        let mut text = String::new();
        store
            .get("quarantine", &key)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let source = &entry["source"];
            out.insert(
                (
                    source["topic"].as_str().unwrap().to_string(),
                    source["offset"].as_i64().unwrap(),
                ),
                entry,
            );
        }
    }
    out
}

#[test]
fn every_rule_of_the_contract_accepts_and_refuses_as_the_contract_says() {
    let store = MemoryStore::new();
    let config = StreamConfig {
        ingest: IngestConfig {
            curated_bucket: "curated".into(),
            quarantine_bucket: "quarantine".into(),
            max_future_skew_ms: 300_000,
            limits: WriterLimits::default(),
            max_record_bytes: 1 << 20,
            max_inflated_bytes: 1 << 30,
            encode_thread: false,
        },
        topic_datasets: BTreeMap::new(),
        max_datum_bytes: 1 << 20,
    };
    let mut cases = Vec::new();
    for (topic, list) in [
        ("ad_impressions", impressions()),
        ("click_conversions", clicks()),
        ("bid_requests", bids()),
    ] {
        for (i, (what, mut value, verdict)) in list.into_iter().enumerate() {
            // Each record its own key, so that none is a duplicate of another.
            let key = match topic {
                "ad_impressions" => "impression_id",
                "click_conversions" => "event_id",
                _ => "request_id",
            };
            if value[key].as_str().is_some_and(|k| !k.is_empty()) {
                value[key] = json!(format!("{}-{i}", value[key].as_str().unwrap()));
            }
            cases.push((topic, i as i64, what, value, verdict));
        }
    }
    let batch: Vec<StreamRecord> = cases
        .iter()
        .map(|(topic, offset, _, value, _)| StreamRecord {
            topic: (*topic).into(),
            partition: 0,
            offset: *offset,
            timestamp_ms: ARRIVAL_MS,
            value: Some(value.to_string().into_bytes().into()),
            schema_metadata: None,
        })
        .collect();
    let report = ingest_batch(common::ports(&store), &config, &batch).unwrap();
    let quarantine = quarantined(&store);
    let mut wrong = Vec::new();
    for (topic, offset, what, value, verdict) in &cases {
        let entry = quarantine.get(&(topic.to_string(), *offset));
        match (verdict, entry) {
            (Accepted, None) => {}
            (Accepted, Some(e)) => wrong.push(format!(
                "{topic}: {what}: refused ({}): {value}",
                e["error"]["message"]
            )),
            (Refused(_), None) => wrong.push(format!("{topic}: {what}: accepted: {value}")),
            (Refused(field), Some(e)) => {
                let reason = e["error"].to_string();
                if !reason.contains(field) {
                    wrong.push(format!(
                        "{topic}: {what}: refused for another reason than {field}: {reason}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every accepted record is curated.
    for topic in ["ad_impressions", "click_conversions", "bid_requests"] {
        let accepted = cases
            .iter()
            .filter(|c| c.0 == topic && c.4 == Accepted)
            .count() as u64;
        assert_eq!(report.datasets[topic].curated, accepted, "{topic}");
    }
}
