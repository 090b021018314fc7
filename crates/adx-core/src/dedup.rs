//! The key set of de-duplication: the 128-bit xxh3 digests of the dataset keys seen so far in
//! one source unit (an object, a batch), in memory bounded whatever the unit's size.
//!
//! Keys are kept in two generations. A new key goes into the current one; once that holds
//! [`GENERATION_KEYS`] keys it becomes the previous one and the older generation is dropped.
//! A repeated key is therefore always caught while the unit holds fewer distinct keys than
//! one generation (every object of a normal size, every MSK batch), and beyond that whenever
//! its first occurrence is among the last 0.8 to 1.6 million keys: the usual shape of a
//! duplicate, which is a record sent again soon after. Exact de-duplication over an
//! unbounded object would need memory that grows with it (16+ bytes a key): 500 MB for a
//! 5 GB file.

/// Slots of a full generation's table: 2^20 digests of 16 bytes, 16 MiB.
const MAX_SLOTS: usize = 1 << 20;

/// Slots of a new table: small units (an MSK batch, a small file) never touch more.
const FIRST_SLOTS: usize = 1 << 12;

/// Keys per generation: 3/4 of [`MAX_SLOTS`], the most the table holds while its probe runs
/// stay short, so a generation takes 16 MiB at most.
pub const GENERATION_KEYS: usize = MAX_SLOTS / 4 * 3;

/// The keys seen so far, in two generations.
pub struct KeySet {
    current: DigestTable,
    previous: DigestTable,
    generation: usize,
}

/// A new, empty key set of the default generation size.
pub fn key_set() -> KeySet {
    KeySet::with_generation(GENERATION_KEYS)
}

impl KeySet {
    /// A key set whose generations hold `generation` keys each (at least 1, at most
    /// [`GENERATION_KEYS`]: a table never fills past 3/4).
    pub fn with_generation(generation: usize) -> KeySet {
        KeySet {
            current: DigestTable::new(),
            previous: DigestTable::empty(),
            generation: generation.clamp(1, GENERATION_KEYS),
        }
    }

    /// Adds a key digest; false when it was seen already (a duplicate).
    pub fn insert(&mut self, key: u128) -> bool {
        if self.previous.contains(key) || !self.current.insert(key) {
            return false;
        }
        if self.current.len >= self.generation {
            self.previous = std::mem::replace(&mut self.current, DigestTable::new());
        }
        true
    }

    /// Asks the CPU to bring the slots of `key` into cache, so that the
    /// [`insert`](Self::insert) that follows other work does not wait on memory: a table of a
    /// large object lies far outside the caches, and each new key lands somewhere random in it.
    pub fn prefetch(&self, key: u128) {
        self.current.prefetch(key);
        self.previous.prefetch(key);
    }

    /// Keys held now (at most two generations).
    pub fn len(&self) -> usize {
        self.current.len + self.previous.len
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A set of 128-bit digests: one flat array, linear probing from the digest's low bits, 0
/// marking a free slot. A lookup reads one cache line or two, where a general hash set reads
/// a control byte and a bucket in two places. The digests are uniform already, so their low
/// bits are the hash; the digest 0 is stored as 1 (a 2^-127 chance of merging two keys).
struct DigestTable {
    slots: Vec<u128>,
    len: usize,
}

impl DigestTable {
    fn new() -> DigestTable {
        DigestTable {
            slots: vec![0; FIRST_SLOTS],
            len: 0,
        }
    }

    /// A table that holds nothing and allocates nothing.
    fn empty() -> DigestTable {
        DigestTable {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// The slot that holds `key`, or the free slot where it would go.
    fn find(slots: &[u128], key: u128) -> usize {
        let mask = slots.len() - 1;
        let mut i = key as usize & mask;
        loop {
            let slot = slots[i];
            if slot == key || slot == 0 {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn prefetch(&self, key: u128) {
        if self.len == 0 {
            return;
        }
        let i = key.max(1) as usize & (self.slots.len() - 1);
        prefetch_read(self.slots[i..].as_ptr().cast());
    }

    fn contains(&self, key: u128) -> bool {
        if self.len == 0 {
            return false;
        }
        let key = key.max(1);
        self.slots[Self::find(&self.slots, key)] == key
    }

    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: u128) -> bool {
        let key = key.max(1);
        let i = Self::find(&self.slots, key);
        if self.slots[i] == key {
            return false;
        }
        self.slots[i] = key;
        self.len += 1;
        // Grow at 3/4 full, up to the generation's table size, four times at a step: fewer
        // tables are built (and their fresh pages faulted in) on the way to a large one.
        if self.len * 4 > self.slots.len() * 3 && self.slots.len() < MAX_SLOTS {
            let mut grown = vec![0u128; (self.slots.len() * 4).min(MAX_SLOTS)];
            for &k in self.slots.iter().filter(|&&k| k != 0) {
                let j = Self::find(&grown, k);
                grown[j] = k;
            }
            self.slots = grown;
        }
        true
    }
}

/// A prefetch hint for the cache line at `p` (nothing on other architectures).
#[inline(always)]
fn prefetch_read(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and changes no state visible to the
    // program, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; `prfm` is the AArch64 prefetch hint.
    unsafe {
        core::arch::asm!("prfm pldl1keep, [{0}]", in(reg) p, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_128;

    fn key(i: u64) -> u128 {
        xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn a_repeat_is_caught_across_a_generation_change() {
        let mut set = KeySet::with_generation(4);
        assert!((0..4).all(|i| set.insert(key(i))), "new keys");
        // Keys 0..4 are now the previous generation.
        assert!(set.insert(key(4)));
        assert!(!set.insert(key(0)), "a repeat of the previous generation");
        assert!(!set.insert(key(4)), "a repeat of the current generation");
    }

    #[test]
    fn memory_is_bounded_by_two_generations_and_old_keys_age_out() {
        let mut set = KeySet::with_generation(100);
        for i in 0..10_000 {
            assert!(set.insert(key(i)));
            assert!(set.len() <= 200, "{} keys held", set.len());
        }
        // The last 100 to 200 keys are still known; the first ones have aged out.
        assert!(!set.insert(key(9_950)));
        assert!(set.insert(key(0)));
    }

    #[test]
    fn a_full_generation_fits_the_largest_table() {
        let mut table = DigestTable::new();
        for i in 0..GENERATION_KEYS as u64 {
            assert!(table.insert(key(i)));
        }
        assert_eq!(table.slots.len(), MAX_SLOTS);
        assert_eq!(table.len, GENERATION_KEYS);
        assert!(!table.insert(key(7)), "a repeat in a full table");
        assert!(table.contains(key(GENERATION_KEYS as u64 - 1)));
        assert!(!table.contains(key(GENERATION_KEYS as u64)));
    }

    #[test]
    fn the_digests_0_and_1_are_kept_apart_from_free_slots() {
        let mut set = KeySet::with_generation(10);
        assert!(set.insert(0));
        assert!(!set.insert(0));
        assert!(!set.insert(1), "0 is stored as 1");
        assert!(set.insert(2));
        assert!(set.insert(1 << 12), "same home slot as 0, probed past it");
        assert!(!set.insert(1 << 12));
    }
}
