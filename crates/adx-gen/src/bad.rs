//! Bad records: the kinds of contract violations and how a good record is turned into one.
//!
//! Each kind breaks exactly one check of the dataset's contract (type, required field, enum
//! symbol, syntax, or one rule of the `adx` block of the schema) and keeps the record's own key,
//! so that no bad record is mistaken for a duplicate.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::good::{add_conversion, time_like};
use crate::records::RecordValue;
use crate::{Dataset, Format, GenConfig};

/// 1999-12-31T00:00:00Z in epoch milliseconds: one day before the oldest allowed event time.
const Y1999_12_31_MS: i64 = 946_598_400_000;
const HOUR_MS: i64 = 3_600_000;

/// One way a record breaks the data contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// The key field is the empty string (an empty cell, read as null, in CSV).
    EmptyId,
    /// A `*_micros` amount is negative.
    NegativeMicros,
    /// `country` (`user.country` in bid requests) is `usa`.
    BadCountry,
    /// `currency` is `us$`.
    BadCurrency,
    /// The event time is on 1999-12-31, before the oldest allowed.
    TooOld,
    /// The event time is an hour after the arrival time.
    TooFarInFuture,
    /// A required field is absent.
    MissingRequiredField,
    /// A field holds a value of the wrong type.
    WrongType,
    /// An enum field holds a symbol the schema does not list.
    UnknownEnumSymbol,
    /// A CONVERSION without `conversion_type`.
    ConversionWithoutType,
    /// A CLICK with `revenue_micros` (and a currency).
    ClickWithRevenue,
    /// `revenue_micros` without `currency`.
    RevenueWithoutCurrency,
    /// A bid request with an empty `imps` array.
    NoImps,
    /// A JSON line that is not valid JSON (a truncated object).
    MalformedSyntax,
}

impl BadKind {
    /// Every kind, in the order bad records cycle through them.
    pub const ALL: [BadKind; 14] = [
        Self::EmptyId,
        Self::NegativeMicros,
        Self::BadCountry,
        Self::BadCurrency,
        Self::TooOld,
        Self::TooFarInFuture,
        Self::MissingRequiredField,
        Self::WrongType,
        Self::UnknownEnumSymbol,
        Self::ConversionWithoutType,
        Self::ClickWithRevenue,
        Self::RevenueWithoutCurrency,
        Self::NoImps,
        Self::MalformedSyntax,
    ];

    /// The snake_case name used in [`crate::Counts::bad_by_kind`], e.g. `empty_id`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EmptyId => "empty_id",
            Self::NegativeMicros => "negative_micros",
            Self::BadCountry => "bad_country",
            Self::BadCurrency => "bad_currency",
            Self::TooOld => "too_old",
            Self::TooFarInFuture => "too_far_in_future",
            Self::MissingRequiredField => "missing_required_field",
            Self::WrongType => "wrong_type",
            Self::UnknownEnumSymbol => "unknown_enum_symbol",
            Self::ConversionWithoutType => "conversion_without_type",
            Self::ClickWithRevenue => "click_with_revenue",
            Self::RevenueWithoutCurrency => "revenue_without_currency",
            Self::NoImps => "no_imps",
            Self::MalformedSyntax => "malformed_syntax",
        }
    }

    /// Whether this kind can be produced for `dataset` written as `format`.
    ///
    /// Avro's types cannot carry a missing required field, a wrong type, an unknown enum symbol
    /// or broken syntax; broken syntax is only produced in JSON Lines (it would break a JSON
    /// array as a whole, and CSV readers cannot isolate it).
    pub fn applies_to(self, dataset: Dataset, format: &Format) -> bool {
        let avro = matches!(format, Format::Avro(_));
        match self {
            Self::EmptyId | Self::NegativeMicros | Self::TooOld | Self::TooFarInFuture => true,
            Self::BadCountry => dataset != Dataset::ClickConversions,
            Self::BadCurrency => dataset != Dataset::BidRequests,
            Self::MissingRequiredField | Self::WrongType | Self::UnknownEnumSymbol => !avro,
            Self::ConversionWithoutType | Self::ClickWithRevenue | Self::RevenueWithoutCurrency => {
                dataset == Dataset::ClickConversions
            }
            Self::NoImps => dataset == Dataset::BidRequests,
            Self::MalformedSyntax => *format == Format::JsonLines,
        }
    }

    /// The kinds that apply to `dataset` in `format`, in cycling order.
    pub fn applicable(dataset: Dataset, format: &Format) -> Vec<BadKind> {
        Self::ALL
            .into_iter()
            .filter(|k| k.applies_to(dataset, format))
            .collect()
    }
}

impl std::fmt::Display for BadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for BadKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Turns the good record `good` into a record of the bad `kind`.
pub(crate) fn make_bad(
    kind: BadKind,
    dataset: Dataset,
    good: Value,
    cfg: &GenConfig,
    r: &mut StdRng,
) -> RecordValue {
    let Value::Object(mut m) = good else {
        return RecordValue::Json(good);
    };
    let time = m.get("event_time").cloned();
    match (kind, dataset) {
        (BadKind::EmptyId, _) => {
            m.insert(dataset.key_field().into(), json!(""));
        }
        (BadKind::NegativeMicros, Dataset::AdImpressions) => {
            m.insert(
                "win_price_micros".into(),
                json!(-r.random_range(1..=5_000_000)),
            );
            if !m.get("currency").is_some_and(Value::is_string) {
                m.insert("currency".into(), json!("USD"));
            }
        }
        (BadKind::NegativeMicros, Dataset::ClickConversions) => {
            add_conversion(&mut m, r, true);
            m.insert(
                "revenue_micros".into(),
                json!(-r.random_range(1..=5_000_000)),
            );
        }
        (BadKind::NegativeMicros, Dataset::BidRequests) => {
            if let Some(imp) = first_imp(&mut m) {
                imp.insert(
                    "bid_floor_micros".into(),
                    json!(-r.random_range(1..=500_000)),
                );
            }
        }
        (BadKind::BadCountry, Dataset::BidRequests) => {
            if let Some(Value::Object(user)) = m.get_mut("user") {
                user.insert("country".into(), json!("usa"));
            }
        }
        (BadKind::BadCountry, _) => {
            m.insert("country".into(), json!("usa"));
        }
        (BadKind::BadCurrency, Dataset::ClickConversions) => {
            add_conversion(&mut m, r, true);
            m.insert("currency".into(), json!("us$"));
        }
        (BadKind::BadCurrency, _) => {
            m.insert("currency".into(), json!("us$"));
        }
        (BadKind::TooOld, _) => {
            let ms = Y1999_12_31_MS + r.random_range(0..20 * HOUR_MS);
            m.insert("event_time".into(), time_like(time.as_ref(), ms));
        }
        (BadKind::TooFarInFuture, _) => {
            let ms = cfg.arrival_ms + HOUR_MS + r.random_range(0..600_000);
            m.insert("event_time".into(), time_like(time.as_ref(), ms));
        }
        (BadKind::MissingRequiredField, Dataset::BidRequests) => {
            m.remove("auction_type");
        }
        (BadKind::MissingRequiredField, _) => {
            m.remove("campaign_id");
        }
        (BadKind::WrongType, Dataset::AdImpressions) => {
            m.insert("win_price_micros".into(), json!("lots"));
            if !m.get("currency").is_some_and(Value::is_string) {
                m.insert("currency".into(), json!("USD"));
            }
        }
        (BadKind::WrongType, Dataset::ClickConversions) => {
            m.insert("event_time".into(), json!("yesterday"));
        }
        (BadKind::WrongType, Dataset::BidRequests) => {
            m.insert("tmax_ms".into(), json!("fast"));
        }
        (BadKind::UnknownEnumSymbol, Dataset::AdImpressions) => {
            m.insert("ad_format".into(), json!("POPUP"));
        }
        (BadKind::UnknownEnumSymbol, Dataset::ClickConversions) => {
            m.insert("event_type".into(), json!("VIEW"));
            m.remove("conversion_type");
            m.remove("revenue_micros");
        }
        (BadKind::UnknownEnumSymbol, Dataset::BidRequests) => {
            m.insert("auction_type".into(), json!("THIRD_PRICE"));
        }
        (BadKind::ConversionWithoutType, _) => {
            let revenue = r.random_bool(0.7);
            add_conversion(&mut m, r, revenue);
            m.remove("conversion_type");
        }
        (BadKind::ClickWithRevenue, _) => {
            m.insert("event_type".into(), json!("CLICK"));
            m.remove("conversion_type");
            m.insert(
                "revenue_micros".into(),
                json!(r.random_range(1..=40) * 250_000),
            );
            m.insert("currency".into(), json!("USD"));
        }
        (BadKind::RevenueWithoutCurrency, _) => {
            add_conversion(&mut m, r, true);
            m.remove("currency");
        }
        (BadKind::NoImps, _) => {
            m.insert("imps".into(), json!([]));
        }
        (BadKind::MalformedSyntax, _) => return RecordValue::Raw(truncated(&m, r)),
    }
    RecordValue::Json(Value::Object(m))
}

/// The first imp of a bid request, as a mutable object.
fn first_imp(m: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    m.get_mut("imps")?
        .as_array_mut()?
        .first_mut()?
        .as_object_mut()
}

/// The record's JSON text cut off somewhere in its first half: never valid JSON.
fn truncated(m: &Map<String, Value>, r: &mut StdRng) -> String {
    let text = Value::Object(m.clone()).to_string();
    let low = text.len() / 4;
    let mut end = r.random_range(low..(text.len() / 2).max(low + 1)).max(1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
