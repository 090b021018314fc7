//! A dataset: its reader schema, compiled shape, key and event-time fields and rules, all read
//! from the schema text (the `adx` block beside the Avro fields), so that a new dataset needs a
//! schema and no code.

use crate::error::FieldError;
use crate::model::compile::SchemaError;
use crate::model::datum::Datum;
use crate::model::rules::{RuleError, RuleSpec, Rules};
use crate::model::shape::{Kind, RecordShape, Ty};
use crate::ports::RegisteredSchema;
use apache_avro::Schema;
use chrono::{DateTime, SecondsFormat};
use serde::Deserialize;
use std::sync::Arc;

/// The `adx` block of a schema file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Name of the top-level field that identifies a record (de-duplication key).
    pub key: String,
    /// Name of the top-level timestamp-millis field that places the record in time.
    pub event_time: String,
    /// Earliest event time accepted (RFC 3339); default 2000-01-01T00:00:00Z.
    #[serde(default)]
    pub event_time_not_before: Option<String>,
    /// Rules beyond types.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// The table column ids of the five lineage columns (`_source`, `_source_version`,
    /// `_source_partition`, `_offset`, `_arrival_time`), as the table was created with them.
    #[serde(default)]
    pub lineage_field_ids: Option<[i32; 5]>,
}

/// A dataset ready for ingestion.
#[derive(Debug)]
pub struct Dataset {
    /// Dataset name (= schema name).
    pub name: String,
    /// Registry version id of the reader schema.
    pub version_id: String,
    /// The reader schema.
    pub schema: Schema,
    /// The reader schema compiled.
    pub shape: Arc<RecordShape>,
    /// Position of the key field.
    pub key: usize,
    /// Position of the event-time field.
    pub event_time: usize,
    /// Earliest accepted event time, epoch millis.
    pub not_before_ms: i64,
    /// The compiled rules.
    pub rules: Rules,
    /// The table column ids of the lineage columns, when the schema gives them.
    pub lineage_ids: Option<[i32; 5]>,
}

/// Why a registered schema is not a usable dataset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DatasetError {
    /// apache-avro cannot parse it (its message).
    #[error("not a valid Avro schema: {0}")]
    InvalidAvro(String),
    /// It is not JSON (serde_json's message).
    #[error("not JSON: {0}")]
    NotJson(String),
    /// It has no `adx` block.
    #[error("the schema has no `adx` block (key, event_time, rules)")]
    NoAdxBlock,
    /// Its `adx` block does not read as a [`DatasetSpec`] (serde_json's message).
    #[error("adx block: {0}")]
    AdxBlock(String),
    /// Its Avro types cannot be compiled into a shape.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Its record is named otherwise than the schema.
    #[error("record name {record} differs from the schema name {schema}")]
    NameMismatch {
        /// The record's name.
        record: String,
        /// The schema's name.
        schema: String,
    },
    /// The `key` names no field.
    #[error("key field {0} is not a field")]
    UnknownKey(String),
    /// The `key` field is nullable or not a string, int or long.
    #[error("key field {0} must be a non-null string, int or long")]
    KeyType(String),
    /// The `event_time` names no field.
    #[error("event_time field {0} is not a field")]
    UnknownEventTime(String),
    /// The `event_time` field is nullable or not a timestamp-millis.
    #[error("event_time field {0} must be a non-null timestamp-millis")]
    EventTimeType(String),
    /// `event_time_not_before` is not an RFC 3339 time.
    #[error("event_time_not_before {value}: {error}")]
    NotBefore {
        /// The value as written.
        value: String,
        /// Why it does not parse.
        error: chrono::ParseError,
    },
    /// Its rules cannot be compiled.
    #[error(transparent)]
    Rules(#[from] RuleError),
}

const DEFAULT_NOT_BEFORE_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

impl Dataset {
    /// Compiles a registered schema into a dataset.
    pub fn from_registered(registered: &RegisteredSchema) -> Result<Dataset, DatasetError> {
        let schema = Schema::parse_str(&registered.definition)
            .map_err(|e| DatasetError::InvalidAvro(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&registered.definition)
            .map_err(|e| DatasetError::NotJson(e.to_string()))?;
        let spec: DatasetSpec = match json.get("adx") {
            Some(block) => serde_json::from_value(block.clone())
                .map_err(|e| DatasetError::AdxBlock(e.to_string()))?,
            None => return Err(DatasetError::NoAdxBlock),
        };
        let shape = RecordShape::from_avro(&schema)?;
        if shape.name != registered.name {
            return Err(DatasetError::NameMismatch {
                record: shape.name.clone(),
                schema: registered.name.clone(),
            });
        }
        let key = shape
            .position(&spec.key)
            .ok_or_else(|| DatasetError::UnknownKey(spec.key.clone()))?;
        if shape.fields[key].ty.nullable
            || !matches!(
                shape.fields[key].ty.kind,
                Kind::Str | Kind::Long | Kind::Int
            )
        {
            return Err(DatasetError::KeyType(spec.key.clone()));
        }
        let event_time = shape
            .position(&spec.event_time)
            .ok_or_else(|| DatasetError::UnknownEventTime(spec.event_time.clone()))?;
        if !matches!(
            shape.fields[event_time].ty,
            Ty {
                kind: Kind::TimestampMillis,
                nullable: false
            }
        ) {
            return Err(DatasetError::EventTimeType(spec.event_time.clone()));
        }
        let not_before_ms = match &spec.event_time_not_before {
            None => DEFAULT_NOT_BEFORE_MS,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map_err(|error| DatasetError::NotBefore {
                    value: t.clone(),
                    error,
                })?
                .timestamp_millis(),
        };
        let rules = Rules::compile(&shape, &spec.rules)?;
        Ok(Dataset {
            name: registered.name.clone(),
            version_id: registered.version_id.clone(),
            schema,
            shape,
            key,
            event_time,
            not_before_ms,
            rules,
            lineage_ids: spec.lineage_field_ids,
        })
    }

    /// The record type of this dataset.
    pub fn record_ty(&self) -> Ty {
        Ty {
            kind: Kind::Record(self.shape.clone()),
            nullable: false,
        }
    }

    /// Event time of a record of this dataset, in epoch millis.
    pub fn event_time_of(&self, record: &Datum) -> Option<i64> {
        match record {
            Datum::Record(fields) => match fields.get(self.event_time) {
                Some(Datum::Timestamp(ms)) => Some(*ms),
                _ => None,
            },
            _ => None,
        }
    }

    /// Applies the event-time window and the dataset's rules to a converted record.
    pub fn validate(
        &self,
        record: &Datum,
        arrival_ms: i64,
        max_future_skew_ms: i64,
    ) -> Result<(), FieldError> {
        let field = &self.shape.fields[self.event_time].name;
        let Some(t) = self.event_time_of(record) else {
            return Err(FieldError::new(field, "a timestamp", "none"));
        };
        if t < self.not_before_ms {
            return Err(FieldError::new(
                field,
                format!("a time not before {}", rfc3339(self.not_before_ms)),
                rfc3339(t),
            ));
        }
        if t > arrival_ms.saturating_add(max_future_skew_ms) {
            return Err(FieldError::new(
                field,
                format!(
                    "a time at most {} s after arrival at {}",
                    max_future_skew_ms / 1000,
                    rfc3339(arrival_ms)
                ),
                rfc3339(t),
            ));
        }
        self.rules.check(record)
    }

    /// The de-duplication key of a record, as bytes.
    pub fn key_bytes<'a>(&self, record: &'a Datum, scratch: &'a mut [u8; 8]) -> Option<&'a [u8]> {
        match record {
            Datum::Record(fields) => match fields.get(self.key) {
                Some(Datum::Str(s)) => Some(s.as_bytes()),
                Some(Datum::Long(v)) => {
                    *scratch = v.to_le_bytes();
                    Some(&scratch[..])
                }
                Some(Datum::Int(v)) => {
                    *scratch = i64::from(*v).to_le_bytes();
                    Some(&scratch[..])
                }
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::json::json_to_record;
    use serde_json::{Value, json};

    const CLICKS: &str = include_str!("../../../../schemas/click_conversions.avsc");
    const IMPRESSIONS: &str = include_str!("../../../../schemas/ad_impressions.avsc");
    const BIDS: &str = include_str!("../../../../schemas/bid_requests.avsc");

    /// 2023-11-14T22:13:20Z.
    const ARRIVAL: i64 = 1_700_000_000_000;
    const SKEW: i64 = 300_000;

    use crate::test_support::registered_as as registered;

    fn dataset(name: &str, definition: &str) -> Dataset {
        Dataset::from_registered(&registered(name, definition)).unwrap()
    }

    fn clicks() -> Dataset {
        dataset("click_conversions", CLICKS)
    }

    fn impressions() -> Dataset {
        dataset("ad_impressions", IMPRESSIONS)
    }

    fn bids() -> Dataset {
        dataset("bid_requests", BIDS)
    }

    fn valid_conversion() -> Value {
        json!({
            "event_id": "e1", "event_type": "CONVERSION", "event_time": ARRIVAL - 1_000,
            "user_id": "u1", "campaign_id": "c1", "impression_id": "i1", "click_id": "k1",
            "conversion_type": "PURCHASE", "revenue_micros": 1_500_000, "currency": "USD"
        })
    }

    fn valid_click() -> Value {
        json!({
            "event_id": "e2", "event_type": "CLICK", "event_time": "2023-11-14T22:00:00Z",
            "user_id": "u1", "campaign_id": "c1", "impression_id": "i1", "click_id": "k1"
        })
    }

    fn valid_impression() -> Value {
        json!({
            "impression_id": "imp1", "event_time": ARRIVAL, "request_id": "r1", "user_id": "u1",
            "campaign_id": "c1", "creative_id": "cr1", "site_domain": "example.com",
            "ad_format": "BANNER", "device_type": "MOBILE", "country": "US",
            "win_price_micros": 1_200, "currency": "USD"
        })
    }

    fn valid_bid() -> Value {
        json!({
            "request_id": "r1", "event_time": ARRIVAL, "auction_type": "FIRST_PRICE",
            "tmax_ms": 100,
            "imps": [
                {"imp_id": "1", "ad_format": "VIDEO", "bid_floor_micros": 0, "width": 300, "height": 250},
                {"imp_id": "2", "ad_format": "BANNER", "bid_floor_micros": 10}
            ],
            "site": {"domain": "example.com", "publisher_id": "p1", "categories": ["IAB1"]},
            "device": {"device_type": "CTV", "os": "tvOS"},
            "user": {"user_id": "u1", "country": "DE", "segments": ["s1"]},
            "targeting": {"keywords": [], "interests": ["sport"]}
        })
    }

    /// `base` with the top-level fields of `overrides` laid over it.
    fn with(mut base: Value, overrides: Value) -> Value {
        for (k, v) in overrides.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn validate(ds: &Dataset, value: &Value) -> Result<(), FieldError> {
        let record = json_to_record(value, &ds.shape).unwrap();
        ds.validate(&record, ARRIVAL, SKEW)
    }

    /// A schema text edited as JSON.
    fn edited(definition: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(definition).unwrap();
        edit(&mut v);
        v.to_string()
    }

    fn refused(name: &str, definition: &str) -> String {
        Dataset::from_registered(&registered(name, definition))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_real_schemas_compile() {
        let ds = clicks();
        assert_eq!(ds.name, "click_conversions");
        assert_eq!(ds.version_id, "click_conversions-v1");
        assert_eq!(ds.shape.fields[ds.key].name, "event_id");
        assert_eq!(ds.shape.fields[ds.event_time].name, "event_time");
        assert_eq!(ds.not_before_ms, DEFAULT_NOT_BEFORE_MS);
        assert!(matches!(ds.record_ty().kind, Kind::Record(_)));
        let ds = impressions();
        assert_eq!(ds.shape.fields[ds.key].name, "impression_id");
        let ds = bids();
        assert_eq!(ds.shape.fields[ds.key].name, "request_id");
        assert_eq!(ds.shape.fields[ds.event_time].name, "event_time");
    }

    #[test]
    fn valid_records_of_each_dataset_pass() {
        validate(&clicks(), &valid_conversion()).unwrap();
        validate(&clicks(), &valid_click()).unwrap();
        validate(&impressions(), &valid_impression()).unwrap();
        validate(
            &impressions(),
            &with(
                valid_impression(),
                json!({"request_id": null, "user_id": null, "country": null,
                       "win_price_micros": null, "currency": null}),
            ),
        )
        .unwrap();
        validate(&bids(), &valid_bid()).unwrap();
        validate(
            &bids(),
            &with(valid_bid(), json!({"site": null, "tmax_ms": null})),
        )
        .unwrap();
    }

    #[test]
    fn event_time_before_2000_fails() {
        let ds = clicks();
        let v = with(
            valid_click(),
            json!({"event_time": "1999-12-31T23:59:59.999Z"}),
        );
        let e = validate(&ds, &v).unwrap_err();
        assert_eq!(e.field, "event_time");
        assert_eq!(e.expected, "a time not before 2000-01-01T00:00:00.000Z");
        assert_eq!(e.found, "1999-12-31T23:59:59.999Z");
        let e = validate(&ds, &with(valid_click(), json!({"event_time": 0}))).unwrap_err();
        assert_eq!(e.field, "event_time");
        assert_eq!(e.found, "1970-01-01T00:00:00.000Z");
        let e = validate(&ds, &with(valid_click(), json!({"event_time": -1}))).unwrap_err();
        assert_eq!(e.field, "event_time");
        validate(
            &ds,
            &with(valid_click(), json!({"event_time": "2000-01-01T00:00:00Z"})),
        )
        .unwrap();
    }

    #[test]
    fn event_time_beyond_the_skew_fails_and_at_the_skew_passes() {
        let ds = impressions();
        let late = with(
            valid_impression(),
            json!({"event_time": ARRIVAL + SKEW + 1}),
        );
        let e = validate(&ds, &late).unwrap_err();
        assert_eq!(e.field, "event_time");
        assert_eq!(
            e.expected,
            "a time at most 300 s after arrival at 2023-11-14T22:13:20.000Z"
        );
        assert_eq!(e.found, "2023-11-14T22:18:20.001Z");
        let edge = with(valid_impression(), json!({"event_time": ARRIVAL + SKEW}));
        validate(&ds, &edge).unwrap();
        // The skew is the caller's: with none, a millisecond ahead fails.
        let record = json_to_record(
            &with(valid_impression(), json!({"event_time": ARRIVAL + 1})),
            &ds.shape,
        )
        .unwrap();
        assert_eq!(
            ds.validate(&record, ARRIVAL, 0).unwrap_err().field,
            "event_time"
        );
        ds.validate(&record, ARRIVAL, 1).unwrap();
    }

    #[test]
    fn event_time_window_does_not_overflow() {
        let ds = clicks();
        let record = json_to_record(&valid_click(), &ds.shape).unwrap();
        ds.validate(&record, i64::MAX, i64::MAX).unwrap();
    }

    #[test]
    fn a_custom_not_before_is_honoured() {
        let def = edited(CLICKS, |v| {
            v["adx"]["event_time_not_before"] = json!("2020-01-01T00:00:00Z");
        });
        let ds = dataset("click_conversions", &def);
        assert_eq!(ds.not_before_ms, 1_577_836_800_000);
        let v = with(valid_click(), json!({"event_time": "2019-12-31T23:59:59Z"}));
        let e = validate(&ds, &v).unwrap_err();
        assert_eq!(e.field, "event_time");
        assert!(e.expected.contains("2020-01-01T00:00:00.000Z"), "{e}");

        let def = edited(CLICKS, |v| {
            let removed = v["adx"]
                .as_object_mut()
                .unwrap()
                .remove("event_time_not_before");
            assert!(removed.is_some());
        });
        assert_eq!(
            dataset("click_conversions", &def).not_before_ms,
            DEFAULT_NOT_BEFORE_MS
        );
    }

    #[test]
    fn validate_a_record_without_event_time() {
        let ds = clicks();
        let e = ds.validate(&Datum::Null, ARRIVAL, SKEW).unwrap_err();
        assert_eq!(e.field, "event_time");
        assert_eq!(e.expected, "a timestamp");
        assert_eq!(e.found, "none");
        assert_eq!(ds.event_time_of(&Datum::Record(vec![])), None);
    }

    #[test]
    fn event_time_of_reads_the_field() {
        let ds = clicks();
        let record = json_to_record(&valid_conversion(), &ds.shape).unwrap();
        assert_eq!(ds.event_time_of(&record), Some(ARRIVAL - 1_000));
    }

    #[test]
    fn conversion_without_conversion_type_fails() {
        let v = with(valid_conversion(), json!({"conversion_type": null}));
        let e = validate(&clicks(), &v).unwrap_err();
        assert_eq!(e.field, "conversion_type");
        assert_eq!(e.expected, "a value, since event_type is CONVERSION");
        assert_eq!(e.found, "none");
    }

    #[test]
    fn click_with_revenue_or_conversion_type_fails() {
        let v = with(
            valid_click(),
            json!({"revenue_micros": 5, "currency": "USD"}),
        );
        let e = validate(&clicks(), &v).unwrap_err();
        assert_eq!(e.field, "revenue_micros");
        assert_eq!(e.expected, "no value, since event_type is CLICK");
        assert_eq!(e.found, "5");
        let v = with(valid_click(), json!({"conversion_type": "SIGNUP"}));
        let e = validate(&clicks(), &v).unwrap_err();
        assert_eq!(e.field, "conversion_type");
        assert_eq!(e.found, "SIGNUP");
    }

    #[test]
    fn revenue_without_currency_fails() {
        let v = with(valid_conversion(), json!({"currency": null}));
        let e = validate(&clicks(), &v).unwrap_err();
        assert_eq!(e.field, "currency");
        assert_eq!(e.expected, "a value, since revenue_micros is present");
        assert_eq!(e.found, "none");
        // A conversion without revenue needs no currency.
        let v = with(
            valid_conversion(),
            json!({"revenue_micros": null, "currency": null}),
        );
        validate(&clicks(), &v).unwrap();
    }

    #[test]
    fn click_conversions_field_rules() {
        let ds = clicks();
        let e = validate(
            &ds,
            &with(valid_conversion(), json!({"revenue_micros": -1})),
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.found.as_str()),
            ("revenue_micros", "-1")
        );
        let e = validate(&ds, &with(valid_conversion(), json!({"currency": "usd"}))).unwrap_err();
        assert_eq!(e.field, "currency");
        assert_eq!(e.found, "\"usd\"");
        let e = validate(&ds, &with(valid_conversion(), json!({"event_id": " "}))).unwrap_err();
        assert_eq!(e.field, "event_id");
        let e = validate(&ds, &with(valid_click(), json!({"click_id": ""}))).unwrap_err();
        assert_eq!(e.field, "click_id");
    }

    #[test]
    fn impression_with_negative_win_price_fails() {
        let v = with(valid_impression(), json!({"win_price_micros": -1}));
        let e = validate(&impressions(), &v).unwrap_err();
        assert_eq!(e.field, "win_price_micros");
        assert_eq!(e.expected, "a value >= 0");
        assert_eq!(e.found, "-1");
        let v = with(valid_impression(), json!({"win_price_micros": 0}));
        validate(&impressions(), &v).unwrap();
    }

    #[test]
    fn impression_with_a_bad_country_fails() {
        let v = with(valid_impression(), json!({"country": "usa"}));
        let e = validate(&impressions(), &v).unwrap_err();
        assert_eq!(e.field, "country");
        assert_eq!(e.expected, "a value matching ^[A-Z]{2}$");
        assert_eq!(e.found, "\"usa\"");
    }

    #[test]
    fn impression_other_rules() {
        let ds = impressions();
        // The contract asks for a currency only with revenue_micros: a win price without one
        // is valid.
        validate(&ds, &with(valid_impression(), json!({"currency": null}))).unwrap();
        let e = validate(&ds, &with(valid_impression(), json!({"currency": "US"}))).unwrap_err();
        assert_eq!(e.field, "currency");
        let e = validate(&ds, &with(valid_impression(), json!({"site_domain": ""}))).unwrap_err();
        assert_eq!(e.field, "site_domain");
        let e = validate(&ds, &with(valid_impression(), json!({"user_id": ""}))).unwrap_err();
        assert_eq!(e.field, "user_id");
    }

    #[test]
    fn bid_request_without_imps_fails() {
        let v = with(valid_bid(), json!({"imps": []}));
        let e = validate(&bids(), &v).unwrap_err();
        assert_eq!(e.field, "imps");
        assert_eq!(e.expected, "at least 1 item(s)");
        assert_eq!(e.found, "0 item(s)");
    }

    #[test]
    fn bid_request_with_a_negative_floor_names_the_imp() {
        let mut v = valid_bid();
        v["imps"][0]["bid_floor_micros"] = json!(-5);
        let e = validate(&bids(), &v).unwrap_err();
        assert_eq!(e.field, "imps[0].bid_floor_micros");
        assert_eq!(e.expected, "a value >= 0");
        assert_eq!(e.found, "-5");
        let mut v = valid_bid();
        v["imps"][1]["imp_id"] = json!("");
        let e = validate(&bids(), &v).unwrap_err();
        assert_eq!(e.field, "imps[1].imp_id");
    }

    #[test]
    fn bid_request_with_a_bad_user_country_fails() {
        let mut v = valid_bid();
        v["user"]["country"] = json!("Germany");
        let e = validate(&bids(), &v).unwrap_err();
        assert_eq!(e.field, "user.country");
        assert_eq!(e.found, "\"Germany\"");
        v["user"]["country"] = Value::Null;
        validate(&bids(), &v).unwrap();
    }

    #[test]
    fn bid_request_nested_rules() {
        let ds = bids();
        let mut v = valid_bid();
        v["site"]["publisher_id"] = json!(" ");
        assert_eq!(validate(&ds, &v).unwrap_err().field, "site.publisher_id");
        let mut v = valid_bid();
        v["user"]["user_id"] = json!("");
        assert_eq!(validate(&ds, &v).unwrap_err().field, "user.user_id");
        // The contract has no rule on tmax_ms.
        validate(&ds, &with(valid_bid(), json!({"tmax_ms": -1}))).unwrap();
    }

    #[test]
    fn a_schema_without_the_adx_block_is_refused() {
        let def = edited(CLICKS, |v| {
            v.as_object_mut().unwrap().remove("adx");
        });
        let e = refused("click_conversions", &def);
        assert!(e.contains("no `adx` block"), "{e}");
    }

    #[test]
    fn a_schema_with_an_unknown_key_field_is_refused() {
        let def = edited(CLICKS, |v| v["adx"]["key"] = json!("nope"));
        let e = refused("click_conversions", &def);
        assert_eq!(e, "key field nope is not a field");
    }

    #[test]
    fn a_key_of_the_wrong_type_is_refused() {
        let def = edited(CLICKS, |v| v["adx"]["key"] = json!("event_type"));
        let e = refused("click_conversions", &def);
        assert!(
            e.contains("key field event_type must be a non-null string, int or long"),
            "{e}"
        );
        let def = edited(CLICKS, |v| v["adx"]["key"] = json!("user_id"));
        let e = refused("click_conversions", &def);
        assert!(e.contains("key field user_id must be a non-null"), "{e}");
    }

    #[test]
    fn an_event_time_that_is_not_timestamp_millis_is_refused() {
        let def = edited(CLICKS, |v| v["adx"]["event_time"] = json!("campaign_id"));
        let e = refused("click_conversions", &def);
        assert_eq!(
            e,
            "event_time field campaign_id must be a non-null timestamp-millis"
        );
        // A plain long, without the logical type.
        let def = edited(CLICKS, |v| v["fields"][2]["type"] = json!("long"));
        let e = refused("click_conversions", &def);
        assert!(e.contains("event_time field event_time must be"), "{e}");
        // A nullable timestamp.
        let def = edited(CLICKS, |v| {
            v["fields"][2]["type"] =
                json!(["null", {"type": "long", "logicalType": "timestamp-millis"}]);
            v["fields"][2]["default"] = Value::Null;
        });
        let e = refused("click_conversions", &def);
        assert!(e.contains("non-null timestamp-millis"), "{e}");
        let def = edited(CLICKS, |v| v["adx"]["event_time"] = json!("when"));
        let e = refused("click_conversions", &def);
        assert!(e.contains("event_time field when is not a field"), "{e}");
    }

    #[test]
    fn other_bad_schemas_are_refused() {
        let e = refused("other_name", CLICKS);
        assert!(e.contains("differs from the schema name other_name"), "{e}");
        let e = refused("x", "{not json");
        assert!(e.starts_with("not a valid Avro schema"), "{e}");
        let def = edited(CLICKS, |v| v["adx"]["partition_by"] = json!("day"));
        let e = refused("click_conversions", &def);
        assert!(e.starts_with("adx block"), "{e}");
        let def = edited(CLICKS, |v| {
            v["adx"]["event_time_not_before"] = json!("2000")
        });
        let e = refused("click_conversions", &def);
        assert!(e.starts_with("event_time_not_before 2000"), "{e}");
        let def = edited(CLICKS, |v| {
            v["adx"]["rules"] = json!([{"rule": "non_empty", "fields": ["revenue_micros"]}]);
        });
        let e = refused("click_conversions", &def);
        assert!(e.contains("rule on revenue_micros"), "{e}");
    }

    #[test]
    fn key_bytes_returns_the_key() {
        let ds = clicks();
        let record = json_to_record(&valid_conversion(), &ds.shape).unwrap();
        let mut scratch = [0u8; 8];
        assert_eq!(ds.key_bytes(&record, &mut scratch), Some(&b"e1"[..]));
        let ds = bids();
        let record = json_to_record(&valid_bid(), &ds.shape).unwrap();
        assert_eq!(ds.key_bytes(&record, &mut scratch), Some(&b"r1"[..]));
        assert_eq!(ds.key_bytes(&Datum::Null, &mut scratch), None);
    }

    #[test]
    fn key_bytes_of_a_numeric_key() {
        let def = r#"{"type":"record","name":"nums","adx":{"key":"id","event_time":"t"},"fields":[
            {"name":"id","type":"long"},
            {"name":"small","type":"int"},
            {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}
        ]}"#;
        let ds = dataset("nums", def);
        let record =
            json_to_record(&json!({"id": 258, "small": 7, "t": ARRIVAL}), &ds.shape).unwrap();
        let mut scratch = [0u8; 8];
        assert_eq!(
            ds.key_bytes(&record, &mut scratch),
            Some(&258i64.to_le_bytes()[..])
        );
        let def = def.replace(r#""key":"id""#, r#""key":"small""#);
        let ds = dataset("nums", &def);
        let mut scratch = [0u8; 8];
        assert_eq!(
            ds.key_bytes(&record, &mut scratch),
            Some(&7i64.to_le_bytes()[..])
        );
        ds.validate(&record, ARRIVAL, 0).unwrap();
    }
}
