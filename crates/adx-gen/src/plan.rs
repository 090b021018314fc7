//! Which record index is good, bad or a duplicate, and what an index refers to.
//!
//! All of it is a pure function of the configuration and the index, the same for every dataset
//! and format: so impression `i` is good exactly when bid request `i` is, and references from a
//! good record can be aimed at good records without keeping any state.

use crate::GenConfig;
use crate::ids::{self, Tag};

/// How far back a duplicate or a reference may look for a good record.
const MAX_WALK: u64 = 1000;
const MILLION: u64 = 1_000_000;
/// Phase of the duplicate positions, chosen so they rarely fall on bad positions.
const DUP_PHASE: u64 = 381_966;

/// The role of one record index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A good record.
    Good,
    /// A bad record.
    Bad,
    /// A copy of the good record of the given earlier index.
    Duplicate(u64),
}

/// A share as parts per million.
fn ppm(share: f64) -> u64 {
    if share.is_nan() {
        return 0;
    }
    (share.clamp(0.0, 1.0) * MILLION as f64).round() as u64
}

/// Whether index `i` is one of the evenly spread `ppm` per million indexes (with a phase).
fn hits(i: u64, ppm: u64, phase: u64) -> bool {
    ppm > 0 && ((i + 1) * ppm + phase) / MILLION > (i * ppm + phase) / MILLION
}

/// The role of index `i` ignoring whether a duplicate finds its source.
fn raw(cfg: &GenConfig, i: u64) -> Slot {
    if hits(i, ppm(cfg.bad_share), 0) {
        Slot::Bad
    } else if i > 0 && hits(i, ppm(cfg.duplicate_share), DUP_PHASE) {
        Slot::Duplicate(0)
    } else {
        Slot::Good
    }
}

/// Whether index `i` holds a good record (not bad, not a duplicate).
pub(crate) fn is_good(cfg: &GenConfig, i: u64) -> bool {
    raw(cfg, i) == Slot::Good
}

/// The nearest index at or below `start` for which `accept` holds, looking back a bounded way.
pub(crate) fn walk_back(start: u64, accept: impl Fn(u64) -> bool) -> Option<u64> {
    (start.saturating_sub(MAX_WALK)..=start)
        .rev()
        .find(|&k| accept(k))
}

/// The role of index `i`; a duplicate that finds no earlier good record is good instead.
pub(crate) fn slot(cfg: &GenConfig, i: u64) -> Slot {
    match raw(cfg, i) {
        Slot::Duplicate(_) => {
            let back = ids::mix(cfg.seed, Tag::Duplicate, i) % i.min(64);
            match walk_back(i - 1 - back, |k| is_good(cfg, k)) {
                Some(k) => Slot::Duplicate(k),
                None => Slot::Good,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_and_disjoint() {
        let cfg = GenConfig {
            records: 1000,
            bad_share: 0.1,
            duplicate_share: 0.05,
            ..GenConfig::default()
        };
        let slots: Vec<Slot> = (0..1000).map(|i| slot(&cfg, i)).collect();
        let bad = slots.iter().filter(|s| **s == Slot::Bad).count();
        let dup = slots
            .iter()
            .filter(|s| matches!(s, Slot::Duplicate(_)))
            .count();
        assert_eq!(bad, 100);
        assert!((45..=50).contains(&dup), "{dup}");
        for (i, s) in slots.iter().enumerate() {
            if let Slot::Duplicate(k) = s {
                assert!((*k as usize) < i && slots[*k as usize] == Slot::Good);
            }
        }
    }
}
