//! `adx quarantine replay` on the emulators: quarantine objects listed in a LocalStack bucket,
//! recovered records written as curated Parquet there, each quarantine object rewritten with
//! what still fails or deleted when nothing does; a second replay changes nothing.
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

mod common;

use common::aws::{World, contents, context, put};
use common::*;
use serde_json::{Value, json};

const ARRIVAL_MS: i64 = 1_795_845_600_000;

fn entry(key: &str, line: u64, payload: &str, message: &str) -> String {
    json!({"dataset": "ad_impressions",
           "source": {"bucket": "landing", "key": key, "line": line, "arrival_ms": ARRIVAL_MS},
           "error": {"kind": "schema", "message": message},
           "payload": payload})
    .to_string()
}

fn impression(id: &str) -> String {
    format!(
        r#"{{"impression_id":"{id}","event_time":"2026-11-28T05:10:00Z","request_id":"r","user_id":"u","campaign_id":"c","creative_id":"cr","site_domain":"news.example","ad_format":"NATIVE","device_type":"MOBILE"}}"#
    )
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn replay_lists_rewrites_and_deletes_quarantine_objects_in_s3() {
    let context = context();
    let world = World::new(&context, "replay");
    world.push_schemas();
    // Entries as an older schema (without NATIVE) would have quarantined them.
    let stale = "field `ad_format`: expected one of BANNER|VIDEO|AUDIO, found \"NATIVE\"";
    let q1 = "ad_impressions/dt=2026-11-28/a.jsonl-1.jsonl";
    let q2 = "ad_impressions/dt=2026-11-28/b.jsonl-2.jsonl";
    let broken = r#"{"impression_id":"i-3","#;
    let body1 = [
        entry("ad_impressions/a.jsonl", 1, &impression("i-1"), stale),
        entry("ad_impressions/a.jsonl", 2, broken, "not valid JSON"),
    ]
    .join("\n");
    put(&context, &world.quarantine, q1, body1.into_bytes());
    put(
        &context,
        &world.quarantine,
        q2,
        entry("ad_impressions/b.jsonl", 7, &impression("i-2"), stale).into_bytes(),
    );

    let replay = || -> Value {
        let out = world.adx(&["quarantine", "replay", "--prefix", "ad_impressions/"]);
        assert!(
            out.status.success(),
            "replay failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let answer = replay();
    assert_eq!(answer["replayed_objects"], 2, "{answer:#}");
    assert_eq!(answer["curated"], 2, "{answer:#}");
    assert_eq!(answer["still_quarantined"], 1, "{answer:#}");

    // q1 keeps its broken line (with its current reason), q2 is gone.
    let quarantine = contents(&context, &world.quarantine);
    let keys: Vec<&str> = quarantine.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, [q1]);
    let left: Vec<Value> = String::from_utf8_lossy(&quarantine[0].1)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["payload"], broken);
    assert_eq!(left[0]["error"]["kind"], "parse");
    assert_eq!(left[0]["source"]["line"], 2);

    // The recovered records, read back from the curated bucket.
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    let curated = contents(&context, &world.curated);
    // The replay's pending manifests, one per replayed object that curated records.
    let manifests = curated
        .iter()
        .filter(|(k, _)| k.starts_with(adx_core::PENDING_PREFIX))
        .count();
    assert_eq!(
        manifests,
        2,
        "{:?}",
        curated.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    for (i, (key, bytes)) in curated
        .iter()
        .filter(|(k, _)| !k.starts_with(adx_core::PENDING_PREFIX))
        .enumerate()
    {
        assert!(
            key.starts_with("ad_impressions/dt=2026-11-28/hr=05/replay-"),
            "{key}"
        );
        let path = dir.path().join(format!("{i}.parquet"));
        std::fs::write(&path, bytes).unwrap();
        for row in parquet_rows(&path) {
            ids.push(row["impression_id"].as_str().unwrap().to_string());
        }
    }
    ids.sort();
    assert_eq!(ids, ["i-1", "i-2"]);

    // Again: nothing new, nothing changed.
    let answer = replay();
    assert_eq!(answer["curated"], 0, "{answer:#}");
    assert_eq!(contents(&context, &world.quarantine), quarantine);
    assert_eq!(contents(&context, &world.curated), curated);
}
