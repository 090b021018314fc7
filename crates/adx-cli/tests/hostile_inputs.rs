//! Hostile inputs, end to end through `adx invoke` in its own process: each case checks what
//! comes out (what is curated, what is quarantined and why) and the process's peak memory,
//! which must stay within the bounds the configuration sets, whatever the input claims.

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

/// The bounds these tests configure: small, so that a breach would show.
const MAX_RECORD_BYTES: &str = "4194304"; // 4 MiB
const MAX_INFLATED_BYTES: &str = "67108864"; // 64 MiB
const MAX_DATUM_BYTES: &str = "1048576"; // 1 MiB

/// Memory an input may cost the process above its own baseline (the peak of the same debug
/// build on a one-record object, measured once per run: about 20 to 25 MiB, and growing with
/// what the binary links, which is not what these tests bound).
const INPUT_RSS_MIB: f64 = 76.0;

const GOOD_IMPRESSION: &str = r#"{"impression_id":"i-1","event_time":"2026-11-28T05:10:00Z","request_id":"r-1","user_id":"u-1","campaign_id":"c-1","creative_id":"cr-1","site_domain":"news.example","ad_format":"BANNER","device_type":"MOBILE"}"#;
const IMPRESSION_HEADER: &str = "impression_id,event_time,request_id,user_id,campaign_id,creative_id,site_domain,ad_format,device_type";
const GOOD_IMPRESSION_ROW: &str =
    "i-2,2026-11-28T05:10:00Z,r-2,u-2,c-1,cr-1,news.example,VIDEO,TABLET";

fn bounds() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ADX_MAX_RECORD_BYTES", MAX_RECORD_BYTES),
        ("ADX_MAX_INFLATED_BYTES", MAX_INFLATED_BYTES),
        ("ADX_MAX_DATUM_BYTES", MAX_DATUM_BYTES),
    ]
}

/// Runs a function with `--stats`; returns its answer and its peak RSS in MiB.
fn run_measured(root: &Path, function: &str, event: &Path) -> (Value, f64) {
    run_measured_with(root, function, event, &[])
}

/// [`run_measured`] with more variables (they win over the bounds of [`bounds`]).
fn run_measured_with(
    root: &Path,
    function: &str,
    event: &Path,
    vars: &[(&str, &str)],
) -> (Value, f64) {
    let mut env = bounds();
    env.extend_from_slice(vars);
    let out = adx_with(
        root,
        &schema_dir(),
        &[
            "invoke",
            function,
            "--stats",
            "--event",
            event.to_str().unwrap(),
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "adx invoke failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the answer is JSON");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stats: Value = stderr
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v["peak_rss_mib"].is_number())
        })
        .unwrap_or_else(|| panic!("no stats line in: {stderr}"));
    (answer, stats["peak_rss_mib"].as_f64().unwrap())
}

/// Writes `s3://landing/key` with `write`, ingests it, and returns the answer and peak RSS.
fn ingest(root: &Path, key: &str, write: impl FnOnce(&mut std::fs::File)) -> (Value, f64) {
    ingest_with(root, key, &[], write)
}

/// [`ingest`] with more variables.
fn ingest_with(
    root: &Path,
    key: &str,
    vars: &[(&str, &str)],
    write: impl FnOnce(&mut std::fs::File),
) -> (Value, f64) {
    let path = root.join("landing").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::File::create(&path).unwrap();
    write(&mut file);
    file.flush().unwrap();
    drop(file);
    let tag = key.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let event = event_for(root, "landing", key, &tag);
    run_measured_with(root, "file-ingest", &event, vars)
}

fn counts(answer: &Value, dataset: &str) -> (u64, u64, u64) {
    let d = &answer["datasets"][dataset];
    (
        d["received"].as_u64().unwrap(),
        d["curated"].as_u64().unwrap(),
        d["quarantined"].as_u64().unwrap(),
    )
}

/// The process's peak on a one-record object, measured once.
fn baseline_rss() -> f64 {
    static BASELINE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *BASELINE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (answer, peak) = ingest(dir.path(), "ad_impressions/one.jsonl", |f| {
            writeln!(f, "{GOOD_IMPRESSION}").unwrap();
        });
        assert_eq!(counts(&answer, "ad_impressions"), (1, 1, 0), "{answer}");
        peak
    })
}

fn assert_within_memory(case: &str, peak: f64) {
    let baseline = baseline_rss();
    eprintln!("{case}: peak RSS {peak:.1} MiB (baseline {baseline:.1} MiB)");
    assert!(
        peak - baseline < INPUT_RSS_MIB,
        "{case}: peak RSS {peak:.1} MiB, {:.1} MiB over the baseline of {baseline:.1} MiB: \
         more than {INPUT_RSS_MIB} MiB",
        peak - baseline
    );
}

/// A Zstandard frame of `blocks` RLE blocks of 128 KiB of `byte` after `prefix` (one raw
/// block): 4 bytes of input for each 128 KiB of output, the best ratio the format allows.
fn zstd_rle_bomb(prefix: &[u8], byte: u8, blocks: u64, out: &mut impl Write) {
    // Magic, frame header descriptor (no content size, no checksum), window 128 KiB.
    out.write_all(&[0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38])
        .unwrap();
    let header = |last: bool, kind: u32, size: u32| {
        let v = u32::from(last) | (kind << 1) | (size << 3);
        [v as u8, (v >> 8) as u8, (v >> 16) as u8]
    };
    out.write_all(&header(false, 0, prefix.len() as u32))
        .unwrap();
    out.write_all(prefix).unwrap();
    let mut chunk = Vec::with_capacity(4 << 10);
    for i in 0..blocks {
        chunk.extend_from_slice(&header(i + 1 == blocks, 1, 128 << 10));
        chunk.push(byte);
        if chunk.len() >= 4 << 10 {
            out.write_all(&chunk).unwrap();
            chunk.clear();
        }
    }
    out.write_all(&chunk).unwrap();
}

#[test]
fn a_zstd_bomb_stops_at_the_inflation_bound() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let prefix = format!("{GOOD_IMPRESSION}\n");
    // 81,920 blocks of 128 KiB of newlines: 10 GiB from 320 KiB.
    let (answer, peak) = ingest(root, "ad_impressions/bomb.jsonl.zst", |f| {
        zstd_rle_bomb(prefix.as_bytes(), b'\n', 81_920, f)
    });
    let size = std::fs::metadata(root.join("landing/ad_impressions/bomb.jsonl.zst"))
        .unwrap()
        .len();
    assert!(size < 400 << 10, "{size} bytes");
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    let lines = quarantine_lines(root, &answer, "ad_impressions");
    let message = lines[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("more than the bound of 67108864 bytes"),
        "{message}"
    );
    assert_within_memory("zstd bomb", peak);
}

#[test]
fn a_gzip_bomb_stops_at_the_inflation_bound() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // One member of 16 MiB of newlines is 16 KiB; 640 of them are 10 GiB of blank lines.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![b'\n'; 16 << 20]).unwrap();
    let member = e.finish().unwrap();
    let mut head = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    writeln!(head, "{GOOD_IMPRESSION}").unwrap();
    let head = head.finish().unwrap();
    let (answer, peak) = ingest(root, "ad_impressions/bomb.jsonl.gz", |f| {
        f.write_all(&head).unwrap();
        for _ in 0..640 {
            f.write_all(&member).unwrap();
        }
    });
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    let message = quarantine_lines(root, &answer, "ad_impressions")[0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("bound of 67108864 bytes"), "{message}");
    assert_within_memory("gzip bomb", peak);
}

/// Avro's zigzag varint of `n`.
fn avro_long(n: i64) -> Vec<u8> {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        if v < 0x80 {
            out.push(v as u8);
            return out;
        }
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
}

/// An Avro container of the registered `dataset` schema whose one block is `count` records
/// claimed in `size` bytes, holding `data`.
fn avro_container(dataset: &str, count: i64, size: i64, data: &[u8]) -> Vec<u8> {
    let text = std::fs::read_to_string(schema_dir().join(format!("{dataset}.avsc"))).unwrap();
    let schema = apache_avro::Schema::parse_str(&text).unwrap();
    let mut writer = apache_avro::Writer::new(&schema, Vec::new()).unwrap();
    writer.flush().unwrap();
    let mut bytes = writer.into_inner().unwrap();
    assert!(bytes.starts_with(b"Obj\x01"));
    let sync: Vec<u8> = bytes[bytes.len() - 16..].to_vec();
    bytes.extend(avro_long(count));
    bytes.extend(avro_long(size));
    bytes.extend_from_slice(data);
    bytes.extend(sync);
    bytes
}

const HUGE: i64 = 1 << 62;

#[test]
fn avro_lengths_of_two_to_the_62_are_refused_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut string_len = avro_long(HUGE);
    string_len.extend_from_slice(b"abc");
    let cases: [(&str, Vec<u8>); 3] = [
        // A string (impression_id) claiming 2^62 bytes.
        (
            "string",
            avro_container("ad_impressions", 1, string_len.len() as i64, &string_len),
        ),
        // A block claiming 2^62 bytes.
        (
            "block size",
            avro_container("ad_impressions", 1, HUGE, b"abc"),
        ),
        // A block claiming 2^62 records.
        (
            "block count",
            avro_container("ad_impressions", HUGE, 3, b"abc"),
        ),
    ];
    for (case, bytes) in cases {
        let key = format!("ad_impressions/{}.avro", case.replace(' ', "_"));
        let (answer, peak) = ingest(root, &key, |f| f.write_all(&bytes).unwrap());
        let (received, curated, quarantined) = counts(&answer, "ad_impressions");
        assert_eq!((curated, quarantined), (0, received), "{case}: {answer}");
        assert!(quarantined >= 1, "{case}: {answer}");
        assert_within_memory(case, peak);
    }
    // An array (bid_requests.imps) claiming 2^62 items, in a Glue-framed Kafka value.
    let text = std::fs::read_to_string(schema_dir().join("bid_requests.avsc")).unwrap();
    let version = adx_local::schema_folder::version_id_of(&text);
    let mut value = vec![3u8, 0];
    let hex: String = version.chars().filter(|c| *c != '-').collect();
    for i in 0..16 {
        value.push(u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap());
    }
    value.extend(avro_long(1)); // request_id: 1 byte
    value.push(b'r');
    value.extend(avro_long(1_795_845_000_000)); // event_time
    value.extend([0, 0]); // auction_type, tmax_ms null
    value.extend(avro_long(HUGE)); // imps: 2^62 items
    value.extend_from_slice(b"xyz");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&value);
    let event = json!({"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/t/x",
        "bootstrapServers": "b:9092", "records": {"bid_requests-0": [
            {"topic": "bid_requests", "partition": 0, "offset": 7, "timestamp": 1_795_845_600_000_i64,
             "timestampType": "CREATE_TIME", "value": b64, "headers": []}]}});
    let path = root.join("msk.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let (answer, peak) = run_measured(root, "stream-ingest", &path);
    assert_eq!(counts(&answer, "bid_requests"), (1, 0, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "bid_requests")[0];
    assert_eq!(line["error"]["kind"], "parse", "{line}");
    assert_within_memory("array count in a Glue datum", peak);
}

#[test]
fn json_nested_100k_deep_is_quarantined_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let deep =
        |open: &str, close: &str| format!("{}{}", open.repeat(100_000), close.repeat(100_000));
    let known = GOOD_IMPRESSION.replace("\"i-1\"", &deep("[", "]"));
    let unknown = GOOD_IMPRESSION.replace(
        "{\"impression_id\"",
        &format!("{{\"extra\":{},\"impression_id\"", deep("{\"a\":", "}")),
    );
    let text = format!("{known}\n{unknown}\n{GOOD_IMPRESSION}\n");
    let (answer, peak) = ingest(root, "ad_impressions/deep.jsonl", |f| {
        f.write_all(text.as_bytes()).unwrap()
    });
    assert_eq!(counts(&answer, "ad_impressions"), (3, 1, 2), "{answer}");
    for line in quarantine_lines(root, &answer, "ad_impressions") {
        let message = line["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("layers deep") || message.contains("expected"),
            "{message}"
        );
    }
    assert_within_memory("JSON Lines nested 100k deep", peak);
    // A JSON array file whose first item nests 100k deep.
    let text = format!("[{},{GOOD_IMPRESSION}]", deep("[", "]"));
    let (answer, peak) = ingest(root, "ad_impressions/deep.json", |f| {
        f.write_all(text.as_bytes()).unwrap()
    });
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    assert_within_memory("JSON array nested 100k deep", peak);
}

#[test]
fn a_100_mb_line_is_quarantined_by_its_start_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let long = {
        let mut l = Vec::with_capacity(100 << 20);
        l.extend_from_slice(b"{\"impression_id\":\"");
        l.resize(100 << 20, b'x');
        l
    };
    let (answer, peak) = ingest(root, "ad_impressions/long.jsonl", |f| {
        writeln!(f, "{GOOD_IMPRESSION}").unwrap();
        f.write_all(&long).unwrap();
        writeln!(f, "\"}}\n{}", GOOD_IMPRESSION.replace("i-1", "i-3")).unwrap();
    });
    assert_eq!(counts(&answer, "ad_impressions"), (3, 2, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "ad_impressions")[0];
    assert_eq!(line["source"]["line"], 2, "{line}");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than the bound of 4194304 bytes"),
        "{line}"
    );
    assert!(line["payload"].as_str().unwrap().len() <= 64 << 10);
    assert_within_memory("100 MB JSON line", peak);
    // A 100 MB CSV row: the rows before it are kept, the object stops there with the reason.
    let (answer, peak) = ingest(root, "ad_impressions/long.csv", |f| {
        writeln!(f, "{IMPRESSION_HEADER}\n{GOOD_IMPRESSION_ROW}").unwrap();
        f.write_all(b"i-9,\"").unwrap();
        f.write_all(&long).unwrap();
        writeln!(f, "\"\n{GOOD_IMPRESSION_ROW}").unwrap();
    });
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "ad_impressions")[0];
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bound of 4194304 bytes (ADX_MAX_RECORD_BYTES) without a complete row"),
        "{line}"
    );
    assert_within_memory("100 MB CSV row", peak);
}

#[test]
fn invalid_utf8_is_quarantined_with_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bad = GOOD_IMPRESSION.replace("u-1", "u-\u{1}").into_bytes();
    let bad: Vec<u8> = bad.iter().map(|&b| if b == 1 { 0xff } else { b }).collect();
    let (answer, peak) = ingest(root, "ad_impressions/utf8.jsonl", |f| {
        f.write_all(&bad).unwrap();
        writeln!(f, "\n{GOOD_IMPRESSION}").unwrap();
    });
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "ad_impressions")[0];
    let payload = base64::engine::general_purpose::STANDARD
        .decode(line["payload_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(payload, bad, "the payload is the bytes as read");
    assert_within_memory("invalid UTF-8 in JSON", peak);

    let row = GOOD_IMPRESSION_ROW
        .replace("news.example", "news.\u{1}")
        .into_bytes();
    let row: Vec<u8> = row.iter().map(|&b| if b == 1 { 0xC3 } else { b }).collect();
    let (answer, _) = ingest(root, "ad_impressions/utf8.csv", |f| {
        writeln!(f, "{IMPRESSION_HEADER}").unwrap();
        f.write_all(&row).unwrap();
        writeln!(f, "\n{}", GOOD_IMPRESSION_ROW.replace("i-2", "i-4")).unwrap();
    });
    assert_eq!(counts(&answer, "ad_impressions"), (2, 1, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "ad_impressions")[0];
    assert_eq!(line["error"]["field"], "site_domain", "{line}");
    assert!(line["payload_base64"].is_string(), "{line}");
}

/// A CSV of the impression columns and a million more, and two rows of as many cells.
fn write_wide_csv(f: &mut std::fs::File) {
    let mut w = std::io::BufWriter::new(f);
    write!(w, "{IMPRESSION_HEADER}").unwrap();
    for i in 0..1_000_000 {
        write!(w, ",x{i}").unwrap();
    }
    writeln!(w).unwrap();
    for id in ["i-5", "i-6"] {
        write!(w, "{}", GOOD_IMPRESSION_ROW.replace("i-2", id)).unwrap();
        for _ in 0..1_000_000 {
            w.write_all(b",7").unwrap();
        }
        writeln!(w).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn a_csv_of_a_million_columns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The header (6.9 MB) is past the 4 MiB record bound: the object is refused with the reason.
    let (answer, peak) = ingest(root, "ad_impressions/wide.csv", write_wide_csv);
    assert_eq!(counts(&answer, "ad_impressions"), (1, 0, 1), "{answer}");
    let line = &quarantine_lines(root, &answer, "ad_impressions")[0];
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bound of 4194304 bytes"),
        "{line}"
    );
    assert_within_memory("CSV of a million columns, refused", peak);
    // Within a 16 MiB bound, the million extra columns are ignored.
    let vars = [("ADX_MAX_RECORD_BYTES", "16777216")];
    let (answer, peak) = ingest_with(root, "ad_impressions/wide2.csv", &vars, write_wide_csv);
    assert_eq!(counts(&answer, "ad_impressions"), (2, 2, 0), "{answer}");
    assert_within_memory("CSV of a million columns", peak);
}
