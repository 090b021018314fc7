//! Criterion benchmark of reading an MSK event (the JSON the event source mapping delivers):
//! 10,000 generated ad_impressions records, JSON values, base64-encoded, over 3 partitions.
//! Throughput is in bytes of event.
//!
//! `cargo bench -p adx-handlers --bench msk_event`

use adx_gen::{Dataset, GenConfig, MskConfig, StreamEncoding};
use adx_handlers::kafka_event::parse_event;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/ad_impressions.avsc"
);

fn event() -> Vec<u8> {
    let schema = std::fs::read_to_string(SCHEMA).unwrap_or_else(|e| panic!("{SCHEMA}: {e}"));
    let config = GenConfig {
        seed: 7,
        records: 10_000,
        ..GenConfig::default()
    };
    let msk = MskConfig {
        topic: "ad_impressions".into(),
        partitions: 3,
        encoding: StreamEncoding::Json,
        framing_bad_share: 0.0,
        tombstone_share: 0.0,
        event_window_ms: None,
    };
    let (event, _) = adx_gen::msk_event(Dataset::AdImpressions, &config, &msk, &schema)
        .unwrap_or_else(|e| panic!("generating the event: {e}"));
    serde_json::to_vec(&event).unwrap_or_else(|e| panic!("writing the event: {e}"))
}

fn parse(c: &mut Criterion) {
    // As in the Lambda mains and `adx`: the allocator settings change what large buffers cost.
    adx_handlers::allocator::tune();
    let json = event();
    let mut group = c.benchmark_group("msk_event");
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("parse_10k_json_records", |b| {
        b.iter(|| {
            let parsed = parse_event(&json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.records.len(), 10_000);
            parsed
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
