//! The order in which the committer takes a table's pending manifests: the landing objects
//! first, then the MSK batches in the order their consumer read them. A batch spans several
//! partitions, and a partition's batches follow one another (Lambda hands a partition's next
//! batch over only once the one before succeeded), so for each partition its batches are
//! ordered by first offset (the wider first, so that a batch a retry split in two is taken
//! whole and its halves dropped as already committed); a batch comes after every batch that
//! precedes it in any of its partitions. Ordering by one partition alone is not enough: a batch
//! of partitions 0 and 1 taken before an earlier batch of partition 1 alone would move that
//! partition's watermark past the earlier one, which would then look like an overlap.

use adx_core::{KafkaRange, PendingManifest, PendingSource};
use std::collections::{BTreeMap, BTreeSet};

/// `manifests` (key, manifest) in the order to take them. Batches whose order is a cycle (no
/// consumer reads that way) come last, by first offset; the committer then judges each.
pub fn commit_order(manifests: Vec<(String, PendingManifest)>) -> Vec<(String, PendingManifest)> {
    let (objects, batches): (Vec<_>, Vec<_>) = manifests
        .into_iter()
        .partition(|(_, m)| matches!(m.source, PendingSource::Object { .. }));
    let mut out = objects;
    out.extend(order_batches(batches));
    out
}

fn ranges(m: &PendingManifest) -> &[KafkaRange] {
    match &m.source {
        PendingSource::Kafka { ranges } => ranges,
        PendingSource::Object { .. } => &[],
    }
}

/// A batch's place when nothing else decides: its first range's topic, partition and first
/// offset, the wider first; then its key.
type TieKey = (String, i32, i64, std::cmp::Reverse<i64>, String);

/// The [`TieKey`] of a batch.
fn tie_key(key: &str, m: &PendingManifest) -> TieKey {
    let first = ranges(m).first();
    (
        first.map(|r| r.topic.clone()).unwrap_or_default(),
        first.map_or(0, |r| r.partition),
        first.map_or(0, |r| r.first_offset),
        std::cmp::Reverse(first.map_or(0, |r| r.last_offset)),
        key.to_string(),
    )
}

/// A batch's range in one partition: first offset, last (the wider first), the batch's index.
type RangeAt = (i64, std::cmp::Reverse<i64>, usize);

fn order_batches(batches: Vec<(String, PendingManifest)>) -> Vec<(String, PendingManifest)> {
    let n = batches.len();
    // Per partition, the batches that touch it, in offset order (the wider first).
    let mut by_partition: BTreeMap<(&str, i32), Vec<RangeAt>> = BTreeMap::new();
    for (i, (_, m)) in batches.iter().enumerate() {
        for r in ranges(m) {
            by_partition
                .entry((r.topic.as_str(), r.partition))
                .or_default()
                .push((r.first_offset, std::cmp::Reverse(r.last_offset), i));
        }
    }
    let mut after: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut before = vec![0usize; n];
    for list in by_partition.values_mut() {
        list.sort();
        for pair in list.windows(2) {
            let (a, b) = (pair[0].2, pair[1].2);
            if a != b && after[a].insert(b) {
                before[b] += 1;
            }
        }
    }
    // Kahn's algorithm, the ready batch with the smallest tie key first.
    let keys: Vec<_> = batches.iter().map(|(k, m)| tie_key(k, m)).collect();
    let mut ready: BTreeSet<(_, usize)> = (0..n)
        .filter(|&i| before[i] == 0)
        .map(|i| (keys[i].clone(), i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(first) = ready.pop_first() {
        let i = first.1;
        order.push(i);
        for &j in &after[i] {
            before[j] -= 1;
            if before[j] == 0 {
                ready.insert((keys[j].clone(), j));
            }
        }
    }
    if order.len() < n {
        let placed: BTreeSet<usize> = order.iter().copied().collect();
        let mut rest: Vec<usize> = (0..n).filter(|i| !placed.contains(i)).collect();
        rest.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
        order.extend(rest);
    }
    let mut slots: Vec<Option<(String, PendingManifest)>> = batches.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(key: &str, ranges: &[(i32, i64, i64)]) -> (String, PendingManifest) {
        (
            key.to_string(),
            PendingManifest {
                dataset: "d".into(),
                schema_version_id: "v1".into(),
                source: PendingSource::Kafka {
                    ranges: ranges
                        .iter()
                        .map(|&(partition, first_offset, last_offset)| KafkaRange {
                            topic: "t".into(),
                            partition,
                            first_offset,
                            last_offset,
                        })
                        .collect(),
                },
                files: Vec::new(),
            },
        )
    }

    fn keys(v: &[(String, PendingManifest)]) -> Vec<&str> {
        v.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn a_batch_comes_after_the_earlier_batches_of_every_partition_it_holds() {
        // b2 starts earliest in partition 0, but partition 1's offsets 10..19 (b3) come
        // before its 20..29: b3 must be taken first, though its first partition sorts later.
        let order = commit_order(vec![
            batch("b1", &[(0, 0, 9), (1, 0, 9)]),
            batch("b2", &[(0, 10, 19), (1, 20, 29)]),
            batch("b3", &[(1, 10, 19)]),
        ]);
        assert_eq!(keys(&order), ["b1", "b3", "b2"]);
    }

    #[test]
    fn a_wider_batch_comes_before_its_halves() {
        let order = commit_order(vec![
            batch("half-2", &[(0, 5, 9)]),
            batch("half-1", &[(0, 0, 4)]),
            batch("whole", &[(0, 0, 9)]),
        ]);
        assert_eq!(keys(&order), ["whole", "half-1", "half-2"]);
    }

    #[test]
    fn a_cycle_is_placed_last_and_nothing_is_lost() {
        let order = commit_order(vec![
            batch("x", &[(0, 0, 9), (1, 10, 19)]),
            batch("y", &[(0, 10, 19), (1, 0, 9)]),
            batch("z", &[(2, 0, 9)]),
        ]);
        assert_eq!(keys(&order), ["z", "x", "y"]);
    }
}
