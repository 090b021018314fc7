//! Criterion benchmark of de-duplication: the key set of one source unit taking the digests
//! of an MSK batch (10,000 keys, a table that stays in cache), of a 500,000-record object (a
//! 16 MiB table, far outside the caches) and of a 2,000,000-record object (two generations),
//! each with 1% of repeats, in a loop shaped like the sink's: the key's first slot prefetched,
//! a short chain of arithmetic (the rules) before the insert, and after it a longer one with
//! 256 bytes written into a 16 MiB ring (the Arrow builders, then decoding the next record),
//! which passes through the caches as the decoder's input and the builders do. The work around
//! the insert is the same in every case and takes most of the time: compare the cases' times
//! between two builds, not against each other.
//!
//! `cargo bench -p adx-core --bench dedup`

use adx_core::internals::key_set;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use xxhash_rust::xxh3::xxh3_128;

/// Digests of `n` keys, one in a hundred (every 100th) a repeat of a key about 5,000 before
/// it (never itself a repeat: 5,001 back from a 100th key is a 98th).
fn digests(n: u64) -> Vec<u128> {
    (0..n)
        .map(|i| {
            let key = if i % 100 == 99 {
                i.saturating_sub(5_001)
            } else {
                i
            };
            xxh3_128(format!("event-{key:012}").as_bytes())
        })
        .collect()
}

/// Bytes of the ring that the other work writes into.
const RING_BYTES: usize = 16 << 20;

/// A dependent chain of `steps` multiply-rotate steps from `seed`.
fn chain(seed: u64, steps: usize) -> u64 {
    let mut x = seed;
    for _ in 0..steps {
        x = x.rotate_left(7) ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    x
}

/// Work after an insert: a longer chain, and 256 bytes written at the ring's next place
/// (`at`, which goes on from one run of the loop to the next, so that every case passes
/// through the whole ring).
fn after_insert(seed: u64, at: &mut usize, ring: &mut [u8]) -> u64 {
    let x = chain(seed, 256);
    ring[*at..*at + 256].fill(x as u8);
    *at = (*at + 256) % RING_BYTES;
    x
}

/// One unit's keys through a new key set in the sink's loop: (new keys, the work's value).
fn run(keys: &[u128], at: &mut usize, ring: &mut [u8]) -> (u64, u64) {
    let mut set = key_set();
    let (mut new, mut work) = (0u64, 0u64);
    for &k in keys {
        set.prefetch(k);
        work ^= chain(k as u64 ^ work, 32);
        new += u64::from(set.insert(k));
        work ^= after_insert(work, at, ring);
    }
    (new, work)
}

fn bench_dedup(c: &mut Criterion) {
    let mut group = c.benchmark_group("dedup");
    group.measurement_time(Duration::from_secs(8));
    group.sample_size(20);
    for n in [10_000u64, 500_000, 2_000_000] {
        let keys = digests(n);
        let mut ring = vec![1u8; RING_BYTES];
        let mut at = 0;
        let (new, _) = run(&keys, &mut at, &mut ring);
        assert_eq!(n - new, n / 100, "repeats caught among {n} keys");
        group.throughput(Throughput::Elements(n));
        group.bench_function(BenchmarkId::new("insert", n), |b| {
            b.iter(|| black_box(run(&keys, &mut at, &mut ring)))
        });
        black_box(&ring);
    }
    group.finish();
}

criterion_group!(benches, bench_dedup);
criterion_main!(benches);
