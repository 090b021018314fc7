//! The key set of de-duplication: the 128-bit xxh3 digests of the dataset keys seen so far in
//! one source unit (an object, a batch), in memory bounded whatever the unit's size.
//!
//! Keys are kept in two generations. A new key goes into the current one; once that holds
//! [`GENERATION_KEYS`] keys it becomes the previous one and the older generation is dropped.
//! A repeated key is therefore always caught while the unit holds fewer distinct keys than
//! one generation (every object of a normal size, every MSK batch), and beyond that whenever
//! its first occurrence is among the last 0.9 to 1.8 million keys: the usual shape of a
//! duplicate, which is a record sent again soon after. Exact de-duplication over an
//! unbounded object would need memory that grows with it (16+ bytes a key): 500 MB for a
//! 5 GB file.

use std::collections::HashSet;

/// Keys per generation: 7/8 of 2^20, the most a 2^20-bucket table holds before it grows, so a
/// generation takes at most 18 MB (16 bytes a bucket, and a control byte).
pub const GENERATION_KEYS: usize = (1 << 20) / 8 * 7;

/// The keys seen so far, in two generations.
pub struct KeySet {
    current: HashSet<u128, KeyHashState>,
    previous: HashSet<u128, KeyHashState>,
    generation: usize,
}

/// A new, empty key set of the default generation size.
pub fn key_set() -> KeySet {
    KeySet::with_generation(GENERATION_KEYS)
}

impl KeySet {
    /// A key set whose generations hold `generation` keys each (at least 1).
    pub fn with_generation(generation: usize) -> KeySet {
        KeySet {
            current: HashSet::with_hasher(KeyHashState),
            previous: HashSet::with_hasher(KeyHashState),
            generation: generation.max(1),
        }
    }

    /// Adds a key digest; false when it was seen already (a duplicate).
    pub fn insert(&mut self, key: u128) -> bool {
        if self.previous.contains(&key) || !self.current.insert(key) {
            return false;
        }
        if self.current.len() >= self.generation {
            self.previous = std::mem::replace(
                &mut self.current,
                HashSet::with_capacity_and_hasher(0, KeyHashState),
            );
        }
        true
    }

    /// Keys held now (at most two generations).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hashes the key digests by taking their low bits: they are uniformly distributed already.
#[derive(Clone, Copy, Default)]
pub struct KeyHashState;

/// The hasher of [`KeyHashState`].
#[derive(Default)]
pub struct KeyHasher(u64);

impl std::hash::BuildHasher for KeyHashState {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used for u128 keys; fold anything else in so the hasher stays correct.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
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
    fn the_default_generation_fits_a_table_of_2_pow_20_buckets() {
        let mut set: HashSet<u128, KeyHashState> = HashSet::with_hasher(KeyHashState);
        for i in 0..GENERATION_KEYS as u64 {
            set.insert(key(i));
        }
        assert_eq!(set.capacity(), GENERATION_KEYS);
    }
}
