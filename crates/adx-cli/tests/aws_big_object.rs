//! A 200 MB object through S3: uploaded in parts by the S3 adapter's multipart writer, then
//! ingested by `adx invoke file-ingest` streaming it from LocalStack, with the process's peak
//! memory held well under the size of the object (decode as a stream, flush row groups).
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

mod common;

use adx_aws::S3Store;
use adx_core::ObjectStore;
use common::aws::{World, context, event_file};
use serde_json::Value;
use std::fmt::Write as _;

/// Click records of about 165 bytes: 1.25 million make a little over 200 MB.
const RECORDS: usize = 1_250_000;
/// The drop's arrival time (the S3 event's time), epoch millis.
const ARRIVAL_MS: i64 = 1_795_845_600_000;
/// The bound the object must stream within (the file path's memory target for a 1 GB CSV).
const PEAK_RSS_BOUND_MIB: f64 = 512.0;

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn a_200_mb_object_streams_through_within_the_memory_bound() {
    let context = context();
    let world = World::new(&context, "big");
    world.push_schemas();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let key = "click_conversions/2026/11/28/big drop.csv".to_string();

    // Written straight up through the adapter's writer in 1 MiB writes: a multipart upload of
    // 8 MiB parts, never a whole object in memory on either side.
    let store = S3Store::new(&context, 8 << 20);
    let mut writer = store.create(&world.landing, &key).unwrap();
    let mut chunk = String::with_capacity(1 << 20);
    chunk.push_str(
        "event_id,event_type,event_time,user_id,campaign_id,impression_id,click_id,\
         conversion_type,revenue_micros,currency\r\n",
    );
    let mut size = 0u64;
    for i in 0..RECORDS {
        let time = ARRIVAL_MS - 1 - (i as i64 * 7919) % (6 * 3_600_000);
        let ids = format!("{i:08x}-0000-4000-8000-{:012x}", i * 31);
        if i % 4 == 3 {
            writeln!(
                chunk,
                "{ids},CONVERSION,{time},u-{:06},cmp-{:04},imp-{ids},clk-{ids},PURCHASE,{},EUR\r",
                i % 50_000,
                i % 900,
                1_000 + i
            )
        } else {
            writeln!(
                chunk,
                "{ids},CLICK,{time},u-{:06},cmp-{:04},imp-{ids},clk-{ids},,,\r",
                i % 50_000,
                i % 900
            )
        }
        .unwrap();
        if chunk.len() >= 1 << 20 {
            size += chunk.len() as u64;
            writer.write(chunk.as_bytes()).unwrap();
            chunk.clear();
        }
    }
    size += chunk.len() as u64;
    writer.write(chunk.as_bytes()).unwrap();
    writer.finish().unwrap();
    assert!(size > 200_000_000, "{size} bytes");
    let head = context
        .block_on(
            context
                .s3()
                .head_object()
                .bucket(&world.landing)
                .key(&key)
                .send(),
        )
        .unwrap();
    assert_eq!(head.content_length(), Some(size as i64));
    let etag = head.e_tag().unwrap().trim_matches('"').to_string();
    let parts = size.div_ceil(8 << 20);
    assert!(
        etag.ends_with(&format!("-{parts}")),
        "a {parts}-part upload: {etag}"
    );

    let event = event_file(root, &world.landing, &key, size, &etag);
    let out = world.adx(&[
        "invoke",
        "file-ingest",
        "--event",
        event.to_str().unwrap(),
        "--stats",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &answer["datasets"]["click_conversions"];
    assert_eq!(report["received"], RECORDS as u64, "{answer}");
    assert_eq!(report["curated"], RECORDS as u64, "{answer}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stats: Value = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no stats line: {stderr}"));
    let peak = stats["peak_rss_mib"].as_f64().unwrap();
    eprintln!("200 MB object: {size} bytes, peak RSS {peak:.0} MiB, {stats}");
    assert!(
        peak < PEAK_RSS_BOUND_MIB,
        "peak RSS {peak:.0} MiB for a {size}-byte object"
    );
}
