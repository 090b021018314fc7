//! Behaviour tests of the whole generator: determinism, counts, references and round trips.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use apache_avro::types::Value as Avro;
use serde_json::{Map, Value, json};

use crate::*;

fn schema(dataset: Dataset) -> String {
    let path = format!(
        "{}/../../schemas/{}.avsc",
        env!("CARGO_MANIFEST_DIR"),
        dataset.name()
    );
    std::fs::read_to_string(path).unwrap()
}

fn cfg(records: usize) -> GenConfig {
    GenConfig {
        seed: 7,
        records,
        bad_share: 0.15,
        duplicate_share: 0.05,
        ..GenConfig::default()
    }
}

fn bytes(dataset: Dataset, format: Format, compression: Compression, c: &GenConfig) -> Vec<u8> {
    let mut out = Vec::new();
    encode(dataset, format, compression, c, &schema(dataset), &mut out).unwrap();
    out
}

fn json_of(record: &GenRecord) -> &Value {
    match &record.value {
        RecordValue::Json(v) => v,
        RecordValue::Raw(text) => panic!("raw record {text}"),
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let c = cfg(150);
    for dataset in Dataset::all() {
        for format in Format::all() {
            for compression in Compression::all() {
                let a = bytes(dataset, format, compression, &c);
                let what = format!("{dataset} {format:?} {compression:?}");
                assert!(a == bytes(dataset, format, compression, &c), "{what}");
                let other = GenConfig { seed: 8, ..c };
                assert!(a != bytes(dataset, format, compression, &other), "{what}");
            }
        }
    }
}

#[test]
fn counts_equal_the_records_produced() {
    let c = cfg(400);
    for dataset in Dataset::all() {
        for format in Format::all() {
            let mut expected = Counts::default();
            records_for(dataset, &format, &c).for_each(|r| expected.add(r.expected));
            let mut sink = Vec::new();
            let counts = encode(
                dataset,
                format,
                Compression::None,
                &c,
                &schema(dataset),
                &mut sink,
            )
            .unwrap();
            assert_eq!(counts, expected);
            assert_eq!(counts.total(), 400);
            assert_eq!(counts.bad, 60);
            assert!(counts.duplicates >= 15, "{counts:?}");
        }
    }
}

#[test]
fn good_and_duplicate_records_do_not_depend_on_the_format() {
    let c = cfg(300);
    for dataset in Dataset::all() {
        let reference: Vec<GenRecord> = records(dataset, &c).collect();
        for format in Format::all() {
            for (a, b) in reference.iter().zip(records_for(dataset, &format, &c)) {
                match a.expected {
                    Expected::Bad(_) => assert!(matches!(b.expected, Expected::Bad(_))),
                    _ => assert_eq!(*a, b),
                }
            }
        }
    }
}

#[test]
fn only_good_records_without_shares() {
    let c = GenConfig {
        records: 500,
        ..GenConfig::default()
    };
    for dataset in Dataset::all() {
        assert!(records(dataset, &c).all(|r| r.expected == Expected::Good));
    }
}

#[test]
fn bad_kinds_apply_cycle_and_keep_keys_unique() {
    let c = cfg(600);
    for dataset in Dataset::all() {
        for format in Format::all() {
            let mut seen = HashSet::new();
            let mut keys = HashSet::new();
            let mut good_keys = HashSet::new();
            let all: Vec<GenRecord> = records_for(dataset, &format, &c).collect();
            for r in &all {
                if let Expected::Bad(kind) = r.expected {
                    assert!(
                        kind.applies_to(dataset, &format),
                        "{kind} {dataset} {format:?}"
                    );
                    seen.insert(kind);
                    if matches!(kind, BadKind::EmptyId | BadKind::MalformedSyntax) {
                        continue;
                    }
                }
                if r.expected == Expected::Duplicate {
                    continue;
                }
                let key = json_of(r)[dataset.key_field()]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(!key.is_empty());
                assert!(keys.insert(key.clone()), "key {key} twice");
                if r.expected == Expected::Good {
                    good_keys.insert(key);
                }
            }
            for r in all.iter().filter(|r| r.expected == Expected::Duplicate) {
                assert!(good_keys.contains(json_of(r)[dataset.key_field()].as_str().unwrap()));
            }
            let applicable: HashSet<BadKind> =
                BadKind::applicable(dataset, &format).into_iter().collect();
            assert_eq!(seen, applicable, "{dataset} {format:?}");
        }
    }
}

#[test]
fn good_event_times_fall_in_the_six_hours_before_arrival() {
    let c = cfg(500);
    for dataset in Dataset::all() {
        let mut hours = HashSet::new();
        for r in records(dataset, &c).filter(|r| r.expected == Expected::Good) {
            let t = canonical(dataset, json_of(&r))["event_time"]
                .as_i64()
                .unwrap();
            assert!(t >= c.arrival_ms - 6 * 3_600_000 && t < c.arrival_ms, "{t}");
            hours.insert(t / 3_600_000);
        }
        assert!(hours.len() >= 6, "{hours:?}");
    }
}

#[test]
fn datasets_of_one_seed_refer_to_each_other() {
    let c = cfg(800);
    let good = |dataset| -> Vec<Value> {
        records(dataset, &c)
            .filter(|r| r.expected == Expected::Good)
            .map(|r| canonical(dataset, json_of(&r)))
            .collect()
    };
    let bids: HashMap<String, Value> = good(Dataset::BidRequests)
        .into_iter()
        .map(|v| (v["request_id"].as_str().unwrap().to_string(), v))
        .collect();
    let imps: HashMap<String, Value> = good(Dataset::AdImpressions)
        .into_iter()
        .map(|v| (v["impression_id"].as_str().unwrap().to_string(), v))
        .collect();
    for imp in imps.values() {
        let bid = &bids[imp["request_id"].as_str().unwrap()];
        assert_eq!(bid["user"]["user_id"], imp["user_id"]);
        assert!(imp["event_time"].as_i64() > bid["event_time"].as_i64());
    }
    let events = good(Dataset::ClickConversions);
    let clicks: HashMap<String, &Value> = events
        .iter()
        .filter(|e| e["event_type"] == "CLICK")
        .map(|e| (e["click_id"].as_str().unwrap().to_string(), e))
        .collect();
    let mut conversions = 0;
    for e in &events {
        let imp = &imps[e["impression_id"].as_str().unwrap()];
        assert_eq!(
            (&e["user_id"], &e["campaign_id"]),
            (&imp["user_id"], &imp["campaign_id"])
        );
        if e["event_type"] == "CONVERSION" {
            conversions += 1;
            let click = clicks[e["click_id"].as_str().unwrap()];
            assert_eq!(click["user_id"], e["user_id"]);
            assert_eq!(click["campaign_id"], e["campaign_id"]);
            assert!(!e["conversion_type"].is_null());
        } else {
            assert!(e["conversion_type"].is_null() && e["revenue_micros"].is_null());
        }
    }
    let share = conversions as f64 / events.len() as f64;
    assert!((0.1..0.3).contains(&share), "{share}");
}

/// An Avro value as the JSON of [`canonical`].
fn avro_json(value: &Avro) -> Value {
    match value {
        Avro::Null => Value::Null,
        Avro::Int(n) => json!(n),
        Avro::Long(n) | Avro::TimestampMillis(n) => json!(n),
        Avro::String(s) | Avro::Enum(_, s) => json!(s),
        Avro::Union(_, inner) => avro_json(inner),
        Avro::Array(items) => Value::Array(items.iter().map(avro_json).collect()),
        Avro::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), avro_json(v)))
                .collect(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

fn decompress(data: &[u8], compression: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    match compression {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Zstd => out = zstd::decode_all(data).unwrap(),
    }
    out
}

#[test]
fn avro_round_trips_to_canonical_values() {
    let c = cfg(300);
    for dataset in Dataset::all() {
        for codec in [
            AvroCodec::Null,
            AvroCodec::Deflate,
            AvroCodec::Snappy,
            AvroCodec::Zstd,
        ] {
            for compression in Compression::all() {
                let format = Format::Avro(codec);
                let data = decompress(&bytes(dataset, format, compression, &c), compression);
                let reader = apache_avro::Reader::new(&data[..]).unwrap();
                let decoded: Vec<Value> = reader.map(|v| avro_json(&v.unwrap())).collect();
                let generated: Vec<GenRecord> = records_for(dataset, &format, &c).collect();
                assert_eq!(decoded.len(), generated.len());
                for (d, g) in decoded.iter().zip(&generated) {
                    let want = canonical(dataset, json_of(g));
                    if g.expected == Expected::Good {
                        assert_eq!(*d, want);
                    }
                    assert_eq!(d[dataset.key_field()], want[dataset.key_field()]);
                }
            }
        }
    }
}

#[test]
fn csv_parses_back_to_the_generated_values() {
    let c = cfg(300);
    for dataset in Dataset::all() {
        for compression in Compression::all() {
            let data = decompress(&bytes(dataset, Format::Csv, compression, &c), compression);
            let mut reader = csv::Reader::from_reader(&data[..]);
            let header: Vec<String> = reader
                .headers()
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect();
            let names: Vec<&str> = crate::spec::fields(dataset)
                .iter()
                .map(|f| f.name)
                .collect();
            assert_eq!(header, names);
            let generated: Vec<GenRecord> = records_for(dataset, &Format::Csv, &c).collect();
            let mut rows = 0;
            for (row, g) in reader.records().zip(&generated) {
                let row = row.unwrap();
                rows += 1;
                let parsed: Map<String, Value> = header
                    .iter()
                    .zip(row.iter())
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(k, cell)| (k.clone(), json!(cell)))
                    .collect();
                if g.expected == Expected::Good {
                    assert_eq!(
                        canonical(dataset, &Value::Object(parsed)),
                        canonical(dataset, json_of(g))
                    );
                }
            }
            assert_eq!(rows, generated.len());
        }
    }
}

#[test]
fn json_lines_parse_except_malformed_ones_and_arrays_parse_whole() {
    let c = cfg(300);
    for dataset in Dataset::all() {
        let data = bytes(dataset, Format::JsonLines, Compression::None, &c);
        let text = String::from_utf8(data).unwrap();
        let generated: Vec<GenRecord> = records_for(dataset, &Format::JsonLines, &c).collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), generated.len());
        let mut malformed = 0;
        for (line, g) in lines.iter().zip(&generated) {
            let parsed = serde_json::from_str::<Value>(line);
            if g.expected == Expected::Bad(BadKind::MalformedSyntax) {
                malformed += 1;
                assert!(parsed.is_err(), "{line}");
            } else {
                assert_eq!(&parsed.unwrap(), json_of(g));
            }
        }
        assert!(malformed > 0);

        let data = bytes(dataset, Format::JsonArray, Compression::Zstd, &c);
        let array: Value = serde_json::from_slice(&decompress(&data, Compression::Zstd)).unwrap();
        let array = array.as_array().unwrap();
        assert_eq!(array.len(), generated.len());
        for (v, g) in array
            .iter()
            .zip(records_for(dataset, &Format::JsonArray, &c))
        {
            assert_eq!(v, json_of(&g));
        }
    }
}

#[test]
fn empty_files_are_well_formed() {
    let c = GenConfig {
        records: 0,
        ..GenConfig::default()
    };
    for dataset in Dataset::all() {
        let array = bytes(dataset, Format::JsonArray, Compression::None, &c);
        assert_eq!(serde_json::from_slice::<Value>(&array).unwrap(), json!([]));
        let avro = bytes(
            dataset,
            Format::Avro(AvroCodec::Null),
            Compression::None,
            &c,
        );
        assert_eq!(apache_avro::Reader::new(&avro[..]).unwrap().count(), 0);
    }
}

#[test]
fn names_and_parsing() {
    for dataset in Dataset::all() {
        assert_eq!(dataset.name().parse::<Dataset>().unwrap(), dataset);
    }
    assert!("nope".parse::<Dataset>().is_err());
    assert_eq!(Format::Avro(AvroCodec::Zstd).extension(), "avro");
    assert_eq!(Compression::Zstd.suffix(), ".zst");
    let mut counts = Counts::default();
    counts.add(Expected::Bad(BadKind::NoImps));
    assert_eq!(
        serde_json::to_value(&counts).unwrap()["bad_by_kind"]["no_imps"],
        json!(1)
    );
}

/// The values at a rule path such as `imps[].imp_id` or `user.country` (absent ones skipped).
fn values_at<'a>(value: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![value];
    for segment in path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        current = current
            .into_iter()
            .filter_map(|v| v.get(name).filter(|x| !x.is_null()))
            .flat_map(|v| match (each, v.as_array()) {
                (true, Some(items)) => items.iter().collect(),
                _ => vec![v],
            })
            .collect();
    }
    current
}

/// The checks of the data contract that a JSON record breaks (a small reference validator).
fn broken_checks(dataset: Dataset, record: &RecordValue, arrival_ms: i64) -> Vec<String> {
    let RecordValue::Json(v) = record else {
        return vec!["syntax".into()];
    };
    if let Err(e) = crate::avro::to_avro(dataset, v) {
        return vec![format!("schema: {e}")];
    }
    let avsc: Value = serde_json::from_str(&schema(dataset)).unwrap();
    let mut broken = Vec::new();
    let time = crate::canonical::millis(&v["event_time"]).unwrap();
    if !(946_684_800_000..=arrival_ms + 300_000).contains(&time) {
        broken.push("event_time".to_string());
    }
    let present = |field: &str| !values_at(v, field).is_empty();
    for rule in avsc["adx"]["rules"].as_array().unwrap() {
        let fields: Vec<&str> = rule["fields"]
            .as_array()
            .map(|f| f.iter().map(|x| x.as_str().unwrap()).collect())
            .unwrap_or_default();
        let values = || fields.iter().flat_map(|f| values_at(v, f));
        let ok = match rule["rule"].as_str().unwrap() {
            "non_empty" => values().all(|x| x.as_str() != Some("")),
            "min" => values().all(|x| x.as_i64().unwrap() >= rule["value"].as_i64().unwrap()),
            "pattern" => {
                let len = if rule["regex"] == "^[A-Z]{2}$" { 2 } else { 3 };
                values().all(|x| {
                    let s = x.as_str().unwrap();
                    s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase())
                })
            }
            "min_items" => values()
                .all(|x| x.as_array().unwrap().len() as i64 >= rule["value"].as_i64().unwrap()),
            "when" => {
                let field = rule["if"]["field"].as_str().unwrap();
                let applies = match rule["if"].get("equals") {
                    Some(wanted) => v.get(field) == Some(wanted),
                    None => present(field),
                };
                let list = |key: &str| -> Vec<&str> {
                    rule[key]
                        .as_array()
                        .map(|f| f.iter().map(|x| x.as_str().unwrap()).collect())
                        .unwrap_or_default()
                };
                !applies
                    || (list("require").iter().all(|f| present(f))
                        && list("forbid").iter().all(|f| !present(f)))
            }
            other => panic!("unknown rule {other}"),
        };
        if !ok {
            broken.push(rule.to_string());
        }
    }
    broken
}

#[test]
fn good_records_pass_and_bad_records_break_exactly_one_check() {
    let c = cfg(900);
    for dataset in Dataset::all() {
        for format in [Format::JsonLines, Format::Avro(AvroCodec::Null)] {
            for r in records_for(dataset, &format, &c) {
                let broken = broken_checks(dataset, &r.value, c.arrival_ms);
                match r.expected {
                    Expected::Bad(kind) => {
                        assert_eq!(
                            broken.len(),
                            1,
                            "{dataset} {kind}: {broken:?} {:?}",
                            r.value
                        )
                    }
                    _ => assert!(broken.is_empty(), "{dataset}: {broken:?} {:?}", r.value),
                }
            }
        }
    }
}

/// Throughput check for benchmarks: `cargo test --release -p adx-gen -- --ignored throughput`.
#[test]
#[ignore]
fn throughput() {
    for dataset in Dataset::all() {
        for format in [
            Format::JsonLines,
            Format::Csv,
            Format::Avro(AvroCodec::Snappy),
        ] {
            let c = GenConfig {
                records: 200_000,
                ..cfg(0)
            };
            let start = std::time::Instant::now();
            let mut sink = CountingSink(0);
            encode(
                dataset,
                format,
                Compression::None,
                &c,
                &schema(dataset),
                &mut sink,
            )
            .unwrap();
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{dataset} {format:?}: {:.1} MB/s, {:.0} records/s",
                sink.0 as f64 / secs / 1e6,
                c.records as f64 / secs
            );
        }
    }
}

/// A writer that only counts bytes.
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
