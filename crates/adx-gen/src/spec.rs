//! The shape of the three dataset schemas, as the generator needs it.
//!
//! It mirrors `schemas/<dataset>.avsc` (a test checks that they agree) and drives the CSV
//! header, the conversion to Avro values and [`crate::canonical`].

use crate::Dataset;

/// The type of a field.
#[derive(Debug)]
pub(crate) enum Ty {
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `long`.
    Long,
    /// `long` with `logicalType: timestamp-millis`.
    Ts,
    /// An enum with its symbols.
    Enum(&'static [&'static str]),
    /// The union `["null", T]`.
    Opt(&'static Ty),
    /// An array of items.
    Array(&'static Ty),
    /// A record with its fields.
    Record(&'static [Field]),
}

/// A named field of a record.
#[derive(Debug)]
pub(crate) struct Field {
    /// Field name.
    pub name: &'static str,
    /// Field type.
    pub ty: Ty,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty }
}

const AD_FORMAT: &[&str] = &["BANNER", "VIDEO", "NATIVE", "AUDIO"];
const DEVICE_TYPE: &[&str] = &["DESKTOP", "MOBILE", "TABLET", "CTV", "OTHER"];

/// Fields of `ad_impressions`.
static AD_IMPRESSIONS: &[Field] = &[
    f("impression_id", Ty::Str),
    f("event_time", Ty::Ts),
    f("request_id", Ty::Opt(&Ty::Str)),
    f("user_id", Ty::Opt(&Ty::Str)),
    f("campaign_id", Ty::Str),
    f("creative_id", Ty::Str),
    f("site_domain", Ty::Str),
    f("ad_format", Ty::Enum(AD_FORMAT)),
    f("device_type", Ty::Enum(DEVICE_TYPE)),
    f("country", Ty::Opt(&Ty::Str)),
    f("win_price_micros", Ty::Opt(&Ty::Long)),
    f("currency", Ty::Opt(&Ty::Str)),
];

/// Fields of `click_conversions`.
static CLICK_CONVERSIONS: &[Field] = &[
    f("event_id", Ty::Str),
    f("event_type", Ty::Enum(&["CLICK", "CONVERSION"])),
    f("event_time", Ty::Ts),
    f("user_id", Ty::Opt(&Ty::Str)),
    f("campaign_id", Ty::Str),
    f("impression_id", Ty::Opt(&Ty::Str)),
    f("click_id", Ty::Opt(&Ty::Str)),
    f(
        "conversion_type",
        Ty::Opt(&Ty::Enum(&[
            "PURCHASE", "SIGNUP", "INSTALL", "LEAD", "OTHER",
        ])),
    ),
    f("revenue_micros", Ty::Opt(&Ty::Long)),
    f("currency", Ty::Opt(&Ty::Str)),
];

/// Fields of `bid_requests`.
static BID_REQUESTS: &[Field] = &[
    f("request_id", Ty::Str),
    f("event_time", Ty::Ts),
    f("auction_type", Ty::Enum(&["FIRST_PRICE", "SECOND_PRICE"])),
    f("tmax_ms", Ty::Opt(&Ty::Int)),
    f(
        "imps",
        Ty::Array(&Ty::Record(&[
            f("imp_id", Ty::Str),
            f("ad_format", Ty::Enum(AD_FORMAT)),
            f("bid_floor_micros", Ty::Long),
            f("width", Ty::Opt(&Ty::Int)),
            f("height", Ty::Opt(&Ty::Int)),
        ])),
    ),
    f(
        "site",
        Ty::Opt(&Ty::Record(&[
            f("domain", Ty::Str),
            f("page_url", Ty::Opt(&Ty::Str)),
            f("publisher_id", Ty::Str),
            f("categories", Ty::Array(&Ty::Str)),
        ])),
    ),
    f(
        "device",
        Ty::Record(&[
            f("device_type", Ty::Enum(DEVICE_TYPE)),
            f("os", Ty::Opt(&Ty::Str)),
            f("ip_truncated", Ty::Opt(&Ty::Str)),
        ]),
    ),
    f(
        "user",
        Ty::Record(&[
            f("user_id", Ty::Opt(&Ty::Str)),
            f("country", Ty::Opt(&Ty::Str)),
            f("segments", Ty::Array(&Ty::Str)),
        ]),
    ),
    f(
        "targeting",
        Ty::Record(&[
            f("keywords", Ty::Array(&Ty::Str)),
            f("age_range", Ty::Opt(&Ty::Str)),
            f("interests", Ty::Array(&Ty::Str)),
        ]),
    ),
];

/// The top-level fields of a dataset, in schema order.
pub(crate) fn fields(dataset: Dataset) -> &'static [Field] {
    match dataset {
        Dataset::AdImpressions => AD_IMPRESSIONS,
        Dataset::ClickConversions => CLICK_CONVERSIONS,
        Dataset::BidRequests => BID_REQUESTS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Whether the Avro JSON type `avsc` has the shape `ty`.
    fn agrees(ty: &Ty, avsc: &Value) -> bool {
        match (ty, avsc) {
            (Ty::Str, Value::String(s)) => s == "string",
            (Ty::Int, Value::String(s)) => s == "int",
            (Ty::Long, Value::String(s)) => s == "long",
            (Ty::Opt(inner), Value::Array(branches)) => {
                branches.len() == 2 && branches[0] == "null" && agrees(inner, &branches[1])
            }
            (_, Value::Object(o)) => match (ty, o.get("type").and_then(Value::as_str)) {
                (Ty::Ts, Some("long")) => o["logicalType"] == "timestamp-millis",
                (Ty::Enum(symbols), Some("enum")) => o["symbols"] == serde_json::json!(symbols),
                (Ty::Array(items), Some("array")) => agrees(items, &o["items"]),
                (Ty::Record(fs), Some("record")) => record_agrees(fs, &o["fields"]),
                _ => false,
            },
            _ => false,
        }
    }

    fn record_agrees(fields: &[Field], avsc: &Value) -> bool {
        let Some(list) = avsc.as_array() else {
            return false;
        };
        list.len() == fields.len()
            && fields
                .iter()
                .zip(list)
                .all(|(f, a)| a["name"] == f.name && agrees(&f.ty, &a["type"]))
    }

    #[test]
    fn spec_matches_the_avsc_files() {
        for dataset in Dataset::all() {
            let path = format!(
                "{}/../../schemas/{}.avsc",
                env!("CARGO_MANIFEST_DIR"),
                dataset.name()
            );
            let text = std::fs::read_to_string(&path).unwrap();
            let avsc: Value = serde_json::from_str(&text).unwrap();
            assert!(
                record_agrees(fields(dataset), &avsc["fields"]),
                "{dataset} differs from {path}"
            );
            assert_eq!(avsc["adx"]["key"], dataset.key_field());
        }
    }
}
