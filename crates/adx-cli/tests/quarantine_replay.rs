//! `adx quarantine replay` end to end on the embedded default: records quarantined under a
//! schema that lacked an enum symbol are replayed once the schema is fixed; those that still
//! fail stay; every record ends up exactly once, curated or quarantined; a second replay
//! changes nothing.

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ARRIVAL_MS: i64 = 1_795_845_600_000;

fn impression(id: &str, format: &str, campaign: &str) -> String {
    format!(
        r#"{{"impression_id":"{id}","event_time":"2026-11-28T05:10:00Z","request_id":"r-{id}","user_id":"u-1","campaign_id":"{campaign}","creative_id":"cr-1","site_domain":"news.example","ad_format":"{format}","device_type":"MOBILE"}}"#
    )
}

/// The repository's schemas with ad_impressions' `AdFormat` lacking NATIVE: the broken version.
fn schemas_without_native(root: &Path) -> PathBuf {
    let dir = root.join("schemas-v1");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["ad_impressions", "bid_requests", "click_conversions"] {
        let text = std::fs::read_to_string(schema_dir().join(format!("{name}.avsc"))).unwrap();
        let text = if name == "ad_impressions" {
            let mut schema: Value = serde_json::from_str(&text).unwrap();
            let fields = schema["fields"].as_array_mut().unwrap();
            let format = fields
                .iter_mut()
                .find(|f| f["name"] == "ad_format")
                .unwrap();
            format["type"]["symbols"] = json!(["BANNER", "VIDEO", "AUDIO"]);
            schema.to_string()
        } else {
            text
        };
        std::fs::write(dir.join(format!("{name}.avsc")), text).unwrap();
    }
    dir
}

fn land(root: &Path, schemas: &Path, key: &str, bytes: &[u8]) {
    let path = root.join("landing").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let tag = key.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    invoke(root, schemas, &event_for(root, "landing", key, &tag));
}

fn kafka_record(topic: &str, offset: i64, value: &str) -> Value {
    json!({"topic": topic, "partition": 0, "offset": offset, "timestamp": ARRIVAL_MS,
           "timestampType": "CREATE_TIME", "headers": [],
           "value": base64::engine::general_purpose::STANDARD.encode(value)})
}

/// Impression ids of every curated row, with how often each appears.
fn curated_ids(root: &Path) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for (path, _) in tree(&root.join("curated")) {
        if path.starts_with(adx_core::PENDING_PREFIX) {
            continue; // the pending manifests of the table committer
        }
        for row in parquet_rows(&root.join("curated").join(&path)) {
            *ids.entry(row["impression_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    ids
}

/// Every quarantine entry below `prefix`.
fn quarantine_entries(root: &Path, prefix: &str) -> Vec<Value> {
    tree(&root.join("quarantine"))
        .into_iter()
        .filter(|(path, _)| path.starts_with(prefix))
        .flat_map(|(_, bytes)| {
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn replay(root: &Path, prefix: &str) -> Value {
    let out = adx(
        root,
        &schema_dir(),
        &["quarantine", "replay", "--prefix", prefix],
    );
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn replay_after_a_schema_fix_recovers_what_fits_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = schemas_without_native(root);

    // JSON Lines: good, NATIVE (fails under v1), broken JSON, NATIVE with an empty campaign
    // (a rule failure, whatever the schema), and a duplicate of the first.
    let jsonl = [
        impression("i-1", "BANNER", "c-1"),
        impression("i-2", "NATIVE", "c-1"),
        r#"{"impression_id":"i-3","#.to_string(),
        impression("i-4", "NATIVE", ""),
        impression("i-1", "BANNER", "c-1"),
    ]
    .join("\n");
    land(root, &v1, "ad_impressions/a.jsonl", jsonl.as_bytes());
    // CSV: good, NATIVE.
    let csv = "impression_id,event_time,request_id,user_id,campaign_id,creative_id,site_domain,ad_format,device_type\n\
               i-5,2026-11-28T05:10:00Z,r-5,u-5,c-1,cr-1,news.example,BANNER,TABLET\n\
               i-6,2026-11-28T05:10:00Z,r-6,u-6,c-1,cr-1,news.example,NATIVE,TABLET\n";
    land(root, &v1, "ad_impressions/b.csv", csv.as_bytes());
    // Kafka: NATIVE, good, and a value on a topic of no dataset.
    let event = json!({"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/t/x",
        "bootstrapServers": "b:9092", "records": {
            "ad_impressions-0": [kafka_record("ad_impressions", 40, &impression("i-7", "NATIVE", "c-1")),
                                 kafka_record("ad_impressions", 41, &impression("i-8", "VIDEO", "c-1"))],
            "nowhere-0": [kafka_record("nowhere", 3, &impression("i-9", "BANNER", "c-1"))]}});
    let event_path = root.join("msk.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    invoke_stream(root, &v1, &event_path);

    let before: Vec<String> = curated_ids(root).into_keys().collect();
    assert_eq!(before, ["i-1", "i-5", "i-8"]);
    assert_eq!(quarantine_entries(root, "ad_impressions/").len(), 5);

    // The schema is fixed (the repository's has NATIVE): replay.
    let answer = replay(root, "ad_impressions/");
    assert_eq!(answer["replayed_objects"], 3, "{answer:#}");
    assert_eq!(answer["entries"], 5, "{answer:#}");
    assert_eq!(answer["curated"], 3, "{answer:#}");
    assert_eq!(answer["still_quarantined"], 2, "{answer:#}");

    // Each record exactly once: curated, or still in quarantine with its current reason.
    let ids = curated_ids(root);
    let expected: BTreeMap<String, usize> = ["i-1", "i-2", "i-5", "i-6", "i-7", "i-8"]
        .iter()
        .map(|id| (id.to_string(), 1))
        .collect();
    assert_eq!(ids, expected);
    let left = quarantine_entries(root, "ad_impressions/");
    assert_eq!(left.len(), 2, "{left:#?}");
    let kinds: Vec<(&str, &str)> = left
        .iter()
        .map(|e| {
            (
                e["error"]["kind"].as_str().unwrap(),
                e["source"]["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("parse", "ad_impressions/a.jsonl"),
            ("rule", "ad_impressions/a.jsonl")
        ]
    );
    assert_eq!(left[1]["error"]["field"], "campaign_id");
    assert_eq!(left[0]["source"]["line"], 3, "the original source is kept");

    // Replayed rows keep their lineage: the CSV row of b.csv, line 3; the Kafka offset 40.
    let mut lineage = BTreeMap::new();
    for (path, _) in tree(&root.join("curated")) {
        if path.starts_with(adx_core::PENDING_PREFIX) {
            continue; // the pending manifests of the table committer
        }
        for row in parquet_rows(&root.join("curated").join(&path)) {
            lineage.insert(
                row["impression_id"].as_str().unwrap().to_string(),
                (row["_source"].clone(), row["_offset"].clone()),
            );
        }
    }
    assert_eq!(
        lineage["i-6"],
        (json!("s3://landing/ad_impressions/b.csv"), json!(3))
    );
    assert_eq!(lineage["i-7"], (json!("ad_impressions"), json!(40)));

    // A second replay finds nothing new to recover and changes nothing.
    let first = outputs(root);
    let again = replay(root, "ad_impressions/");
    assert_eq!(again["curated"], 0, "{again:#}");
    assert_eq!(again["still_quarantined"], 2, "{again:#}");
    assert!(
        first == outputs(root),
        "a second replay changed the outputs"
    );

    // The value of a topic that still names no dataset stays where it was.
    let unrouted = quarantine_entries(root, "_unrouted/");
    assert_eq!(unrouted.len(), 1);
    let answer = replay(root, "_unrouted/");
    assert_eq!(answer["curated"], 0, "{answer:#}");
    assert_eq!(quarantine_entries(root, "_unrouted/"), unrouted);
}

#[test]
fn replay_goes_on_past_an_object_it_cannot_read_and_fails_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = schemas_without_native(root);
    // A NATIVE impression quarantined under v1, recoverable under the fixed schema.
    let line = impression("n-1", "NATIVE", "c-1");
    land(
        root,
        &v1,
        "ad_impressions/a.jsonl",
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(quarantine_entries(root, "ad_impressions/").len(), 1);
    // A quarantine object that is not one, sorted before the good one.
    let broken = root.join("quarantine/ad_impressions/0-broken.jsonl");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, "not a quarantine entry\n").unwrap();

    let out = adx(
        root,
        &schema_dir(),
        &["quarantine", "replay", "--prefix", "ad_impressions/"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken object fails the command");
    assert!(stderr.contains("0-broken.jsonl"), "{stderr}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer["curated"], 1,
        "the good object was replayed: {answer:#}"
    );
    assert_eq!(
        answer["failed"].as_array().map(Vec::len),
        Some(1),
        "{answer:#}"
    );
    assert_eq!(curated_ids(root).get("n-1"), Some(&1));

    // A prefix that matches nothing says so.
    let out = adx(
        root,
        &schema_dir(),
        &["quarantine", "replay", "--prefix", "nope/"],
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no quarantine object matched"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stats_show_and_a_dry_run_look_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = schemas_without_native(root);
    // Two NATIVE impressions (recoverable once the schema is fixed) and one with an empty
    // campaign (a rule failure whatever the schema).
    let lines = [
        impression("n-1", "NATIVE", "c-1"),
        impression("n-2", "NATIVE", "c-1"),
        impression("e-1", "BANNER", ""),
    ];
    land(
        root,
        &v1,
        "ad_impressions/a.jsonl",
        format!("{}\n", lines.join("\n")).as_bytes(),
    );

    let out = adx(root, &schema_dir(), &["quarantine", "stats"]);
    assert!(out.status.success());
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["entries"], 3, "{stats:#}");
    assert_eq!(stats["datasets"]["ad_impressions"], 3);
    assert_eq!(stats["kinds"]["schema"], 2, "{stats:#}");
    assert_eq!(stats["kinds"]["rule"], 1, "{stats:#}");
    assert_eq!(
        stats["fields"]["ad_impressions.campaign_id"], 1,
        "{stats:#}"
    );

    let out = adx(root, &schema_dir(), &["quarantine", "show", "--limit", "2"]);
    assert!(out.status.success());
    let shown: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 2);
    assert!(
        shown[0]["payload_text"]
            .as_str()
            .is_some_and(|t| t.contains("\"n-1\"")),
        "{:?}",
        shown[0]
    );
    assert!(
        shown[0]["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("ad_impressions/dt="))
    );

    // The dry run says what a replay under the fixed schema would recover, and writes nothing.
    let before = (tree(&root.join("curated")), tree(&root.join("quarantine")));
    let out = adx(
        root,
        &schema_dir(),
        &[
            "quarantine",
            "replay",
            "--prefix",
            "ad_impressions/",
            "--dry-run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["dry_run"], true);
    assert_eq!(answer["curated"], 2, "{answer:#}");
    assert_eq!(answer["still_quarantined"], 1, "{answer:#}");
    let after = (tree(&root.join("curated")), tree(&root.join("quarantine")));
    assert!(before == after, "a dry run writes nothing");
    // The replay itself then recovers them.
    assert_eq!(replay(root, "ad_impressions/")["curated"], 2);
}
