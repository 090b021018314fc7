//! Good records: realistic, schema-conforming values for record index `i` of each dataset.
//!
//! Each record is a pure function of `(seed, dataset, index)` (and the record count and arrival
//! time of the configuration), written the way producers write JSON: timestamps as epoch millis
//! or RFC 3339 strings, optional fields sometimes missing and sometimes `null`.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::ids::{self, Tag};
use crate::plan;
use crate::vocab::{self, one, pick};
use crate::{Dataset, GenConfig};

/// Event times fall in this window before the arrival time.
const WINDOW_MS: i64 = 6 * 3_600_000;
/// Number of distinct users.
const USERS: f64 = 4000.0;
/// Number of distinct campaigns.
const CAMPAIGNS: f64 = 300.0;
/// Share of click/conversion events that are conversions.
const CONVERSION_SHARE: f64 = 0.2;

/// The good record of index `i` of `dataset`.
pub(crate) fn good(dataset: Dataset, cfg: &GenConfig, i: u64) -> Value {
    match dataset {
        Dataset::AdImpressions => impression(cfg, i),
        Dataset::ClickConversions => click_event(cfg, i),
        Dataset::BidRequests => bid_request(cfg, i),
    }
}

/// What bid request `i` and impression `i` share.
struct Context {
    user: u64,
    country: &'static str,
    domain: usize,
    device: &'static str,
    ad_format: &'static str,
    time: i64,
}

/// A fraction skewed towards 0 (popular items first).
fn skewed(r: &mut StdRng) -> f64 {
    let x: f64 = r.random();
    x * x
}

fn context(cfg: &GenConfig, i: u64) -> Context {
    let mut r = ids::rng(cfg.seed, Tag::Context, i);
    let n = cfg.records.max(1) as i64;
    let span = WINDOW_MS - 10 * 60_000;
    let base = cfg.arrival_ms - WINDOW_MS + (i as i64).saturating_mul(span) / n;
    let time = (base + r.random_range(-90_000..=90_000))
        .clamp(cfg.arrival_ms - WINDOW_MS, cfg.arrival_ms - 60_000);
    let user = (skewed(&mut r) * USERS) as u64;
    let country = pick(&mut ids::rng(cfg.seed, Tag::User, user), vocab::COUNTRIES);
    let domain = (skewed(&mut r) * vocab::DOMAINS.len() as f64) as usize;
    Context {
        user,
        country,
        domain: domain.min(vocab::DOMAINS.len() - 1),
        device: pick(&mut r, vocab::DEVICE_TYPES),
        ad_format: pick(&mut r, vocab::AD_FORMATS),
        time,
    }
}

/// An RFC 3339 UTC text with milliseconds, e.g. `2026-11-27T03:04:05.123Z`.
pub(crate) fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A timestamp as producers write it: mostly epoch millis, sometimes RFC 3339 text.
pub(crate) fn wire_time(r: &mut StdRng, ms: i64) -> Value {
    match rfc3339(ms) {
        Some(text) if r.random_bool(0.25) => Value::String(text),
        _ => json!(ms),
    }
}

/// The timestamp `ms` written like `like` (a number or an RFC 3339 string).
pub(crate) fn time_like(like: Option<&Value>, ms: i64) -> Value {
    match (like, rfc3339(ms)) {
        (Some(Value::String(_)), Some(text)) => Value::String(text),
        _ => json!(ms),
    }
}

/// Puts an optional value: present as is, or absent as a missing key or an explicit `null`.
fn put_opt(m: &mut Map<String, Value>, r: &mut StdRng, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            m.insert(key.to_string(), v);
        }
        None if r.random_bool(0.5) => {
            m.insert(key.to_string(), Value::Null);
        }
        None => {}
    }
}

/// Up to `max` items drawn from `items`.
fn some_of(r: &mut StdRng, items: &[&str], max: usize) -> Value {
    let count = r.random_range(0..=max);
    json!((0..count).map(|_| one(r, items)).collect::<Vec<_>>())
}

fn bid_request(cfg: &GenConfig, i: u64) -> Value {
    let c = context(cfg, i);
    let r = &mut ids::rng(cfg.seed, Tag::BidRequest, i);
    let mut m = Map::new();
    m.insert("request_id".into(), json!(ids::request_id(cfg.seed, i)));
    m.insert("event_time".into(), wire_time(r, c.time));
    let auction = pick(r, &[("FIRST_PRICE", 75), ("SECOND_PRICE", 25)]);
    m.insert("auction_type".into(), json!(auction));
    let tmax = r.random_bool(0.9).then(|| json!(r.random_range(80..=300)));
    put_opt(&mut m, r, "tmax_ms", tmax);
    let n_imps = pick(r, &[(1usize, 60), (2, 25), (3, 10), (4, 5)]);
    let imps: Vec<Value> = (0..n_imps)
        .map(|k| {
            let format = if k == 0 {
                c.ad_format
            } else {
                pick(r, vocab::AD_FORMATS)
            };
            let size = match format {
                "BANNER" => Some(pick(r, vocab::BANNER_SIZES)),
                "VIDEO" => Some(one(r, vocab::VIDEO_SIZES)),
                _ => None,
            };
            let mut imp = Map::new();
            imp.insert("imp_id".into(), json!((k + 1).to_string()));
            imp.insert("ad_format".into(), json!(format));
            let floor = r.random_range(10..=400) * 5_000;
            imp.insert("bid_floor_micros".into(), json!(floor));
            put_opt(&mut imp, r, "width", size.map(|s| json!(s.0)));
            put_opt(&mut imp, r, "height", size.map(|s| json!(s.1)));
            Value::Object(imp)
        })
        .collect();
    m.insert("imps".into(), Value::Array(imps));
    let site = r.random_bool(0.95).then(|| {
        let domain = vocab::DOMAINS[c.domain];
        let mut s = Map::new();
        s.insert("domain".into(), json!(domain));
        let url = r.random_bool(0.9).then(|| {
            let section = one(r, vocab::SECTIONS);
            let article = r.random_range(1000..99_999);
            if r.random_bool(0.1) {
                json!(format!(
                    "https://{domain}/{section}/article-{article}?utm_source=newsletter&tags=deals,summer"
                ))
            } else {
                json!(format!("https://{domain}/{section}/article-{article}"))
            }
        });
        put_opt(&mut s, r, "page_url", url);
        s.insert("publisher_id".into(), json!(format!("pub-{:04}", 1001 + c.domain)));
        let categories: Vec<&str> = (0..r.random_range(1..=3))
            .map(|_| one(r, vocab::CATEGORIES))
            .collect();
        s.insert("categories".into(), json!(categories));
        Value::Object(s)
    });
    put_opt(&mut m, r, "site", site);
    let mut device = Map::new();
    device.insert("device_type".into(), json!(c.device));
    let os = r
        .random_bool(0.95)
        .then(|| json!(one(r, vocab::oses_of(c.device))));
    put_opt(&mut device, r, "os", os);
    let ip = r.random_bool(0.9).then(|| {
        let (a, b, d) = (
            r.random_range(1..=223),
            r.random_range(0..=255),
            r.random_range(0..=255),
        );
        json!(format!("{a}.{b}.{d}.0"))
    });
    put_opt(&mut device, r, "ip_truncated", ip);
    m.insert("device".into(), Value::Object(device));
    let mut user = Map::new();
    user.insert("user_id".into(), json!(ids::user_id(cfg.seed, c.user)));
    let country = r.random_bool(0.95).then(|| json!(c.country));
    put_opt(&mut user, r, "country", country);
    let segments: Vec<String> = (0..r.random_range(0..=4))
        .map(|_| format!("seg-{}", r.random_range(100..1000)))
        .collect();
    user.insert("segments".into(), json!(segments));
    m.insert("user".into(), Value::Object(user));
    let mut targeting = Map::new();
    targeting.insert("keywords".into(), some_of(r, vocab::KEYWORDS, 3));
    let age = r.random_bool(0.7).then(|| json!(one(r, vocab::AGE_RANGES)));
    put_opt(&mut targeting, r, "age_range", age);
    targeting.insert("interests".into(), some_of(r, vocab::INTERESTS, 3));
    m.insert("targeting".into(), Value::Object(targeting));
    Value::Object(m)
}

/// The campaign number of impression `i`.
fn campaign_of_impression(cfg: &GenConfig, i: u64) -> u64 {
    let x = ids::unit(cfg.seed, Tag::Impression, i);
    (x * x * CAMPAIGNS) as u64 + 1
}

/// The `campaign_id` text of campaign number `n`.
fn campaign_id(n: u64) -> String {
    format!("cmp-{n:04}")
}

fn impression(cfg: &GenConfig, i: u64) -> Value {
    let c = context(cfg, i);
    let r = &mut ids::rng(cfg.seed, Tag::Impression, i);
    let campaign = campaign_of_impression(cfg, i);
    let mut m = Map::new();
    m.insert(
        "impression_id".into(),
        json!(ids::impression_id(cfg.seed, i)),
    );
    let time = c.time + r.random_range(20..=400);
    m.insert("event_time".into(), wire_time(r, time));
    m.insert("request_id".into(), json!(ids::request_id(cfg.seed, i)));
    m.insert("user_id".into(), json!(ids::user_id(cfg.seed, c.user)));
    m.insert("campaign_id".into(), json!(campaign_id(campaign)));
    let creative = campaign * 10 + r.random_range(0..10);
    m.insert("creative_id".into(), json!(format!("cr-{creative:05}")));
    m.insert("site_domain".into(), json!(vocab::DOMAINS[c.domain]));
    m.insert("ad_format".into(), json!(c.ad_format));
    m.insert("device_type".into(), json!(c.device));
    let country = r.random_bool(0.95).then(|| json!(c.country));
    put_opt(&mut m, r, "country", country);
    if r.random_bool(0.92) {
        let price = r.random_range(100..=5_000_000);
        m.insert("win_price_micros".into(), json!(price));
        let currency = if r.random_bool(0.9) {
            vocab::currency_of(c.country)
        } else {
            "USD"
        };
        m.insert("currency".into(), json!(currency));
    } else {
        put_opt(&mut m, r, "win_price_micros", None);
        put_opt(&mut m, r, "currency", None);
    }
    Value::Object(m)
}

/// Whether event `j` of click_conversions is meant to be a conversion.
fn wants_conversion(cfg: &GenConfig, j: u64) -> bool {
    j > 0 && ids::unit(cfg.seed, Tag::Reference, 2 * j) < CONVERSION_SHARE
}

/// The impression clicked by click event `k`: a recent good impression.
pub(crate) fn impression_of_click(cfg: &GenConfig, k: u64) -> u64 {
    let back = ids::mix(cfg.seed, Tag::Reference, 2 * k + 1) % (k + 1).min(32);
    plan::walk_back(k - back, |m| plan::is_good(cfg, m)).unwrap_or(k - back)
}

/// The good click that conversion event `j` follows, if `j` is a conversion.
pub(crate) fn source_click(cfg: &GenConfig, j: u64) -> Option<u64> {
    if !wants_conversion(cfg, j) {
        return None;
    }
    let back = ids::mix(cfg.seed, Tag::Reference, 2 * j + 1) % j.min(200);
    plan::walk_back(j - 1 - back, |k| {
        !wants_conversion(cfg, k) && plan::is_good(cfg, k)
    })
}

/// Makes `m` a conversion: a type always, revenue and currency mostly.
pub(crate) fn add_conversion(m: &mut Map<String, Value>, r: &mut StdRng, revenue: bool) {
    m.insert("event_type".into(), json!("CONVERSION"));
    let kind = pick(r, vocab::CONVERSION_TYPES);
    m.insert("conversion_type".into(), json!(kind));
    if revenue {
        let micros = r.random_range(1..=400) * 250_000;
        m.insert("revenue_micros".into(), json!(micros));
        let currency = pick(r, &[("USD", 70), ("EUR", 15), ("GBP", 10), ("JPY", 5)]);
        m.insert("currency".into(), json!(currency));
    }
}

fn click_event(cfg: &GenConfig, j: u64) -> Value {
    let r = &mut ids::rng(cfg.seed, Tag::ClickEvent, j);
    let time = context(cfg, j).time + r.random_range(500..=30_000);
    let source = source_click(cfg, j);
    let click = source.unwrap_or(j);
    let imp = impression_of_click(cfg, click);
    let user = context(cfg, imp).user;
    let mut m = Map::new();
    m.insert("event_id".into(), json!(ids::event_id(cfg.seed, j)));
    m.insert("event_type".into(), json!("CLICK"));
    m.insert("event_time".into(), wire_time(r, time));
    m.insert("user_id".into(), json!(ids::user_id(cfg.seed, user)));
    let campaign = campaign_of_impression(cfg, imp);
    m.insert("campaign_id".into(), json!(campaign_id(campaign)));
    m.insert(
        "impression_id".into(),
        json!(ids::impression_id(cfg.seed, imp)),
    );
    m.insert("click_id".into(), json!(ids::click_id(cfg.seed, click)));
    if source.is_some() {
        let revenue = r.random_bool(0.85);
        add_conversion(&mut m, r, revenue);
        if !revenue {
            put_opt(&mut m, r, "revenue_micros", None);
            put_opt(&mut m, r, "currency", None);
        }
    } else {
        put_opt(&mut m, r, "conversion_type", None);
        put_opt(&mut m, r, "revenue_micros", None);
        put_opt(&mut m, r, "currency", None);
    }
    Value::Object(m)
}
