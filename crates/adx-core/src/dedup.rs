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
//!
//! A generation's digests sit in a flat table of up to 16 MiB, far outside the caches, where
//! every new key lands somewhere random: looked up one key at a time, each costs a wait on
//! memory (a tenth of a one-core CSV run in a profile). So once its table outgrows the caches
//! (past 16,384 slots: objects of more than about 12,000 records, never an MSK batch) a
//! generation also keeps a filter (1 MiB): a key the filter has never seen is new for sure, is
//! answered at once, and waits in a short list of pending keys, which go into the table
//! together, their slots fetched from memory sixteen at a time before any is probed. Only a
//! key the filter may have seen (a repeat, or at most about one new key in fifty) is looked up
//! in the table there and then. The answers are exactly those of a table probed key by key.

/// Slots of a full generation's table: 2^20 digests of 16 bytes, 16 MiB.
const MAX_SLOTS: usize = 1 << 20;

/// Slots of a new table: enough for the 3,072 keys of a small unit.
const FIRST_SLOTS: usize = 1 << 12;

/// Keys per generation: 3/4 of [`MAX_SLOTS`], the most the table holds while its probe runs
/// stay short, so a generation takes 17 MiB at most (its table and its filter).
pub const GENERATION_KEYS: usize = MAX_SLOTS / 4 * 3;

/// New keys held back before they go into the table together.
const PENDING_KEYS: usize = 32;

/// Keys whose slots are fetched together before they are written, in a flush or a regrowth:
/// about as many cache misses as one core keeps in flight.
const FETCH_AHEAD: usize = 16;

/// The largest table whose keys go straight into it (256 KiB, a size that stays in cache):
/// every MSK batch's. A larger one is reached through its filter.
const DIRECT_SLOTS: usize = 1 << 14;

/// Words of a filter: 8 bits for each slot of a full generation's table.
const FILTER_WORDS: usize = MAX_SLOTS * 8 / 64;
const _: () = assert!(
    FILTER_WORDS.is_power_of_two(),
    "a filter word is found by a mask"
);

/// The keys seen so far, in two generations.
pub struct KeySet {
    current: Generation,
    previous: Generation,
    generation: usize,
}

/// The digest under which a key (a dataset key's bytes, [`crate::Dataset::key_bytes`]) is
/// kept.
pub fn key_digest(key: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key)
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
            current: Generation::new(),
            previous: Generation::empty(),
            generation: generation.clamp(1, GENERATION_KEYS),
        }
    }

    /// Adds a key digest; false when it was seen already (a duplicate).
    pub fn insert(&mut self, key: u128) -> bool {
        let key = key.max(1);
        if self.previous.contains(key) || !self.current.insert(key) {
            return false;
        }
        if self.current.len() >= self.generation {
            // Its pending keys go with it: a generation's lookups see them.
            self.previous = std::mem::replace(&mut self.current, Generation::new());
        }
        true
    }

    /// Asks the CPU to bring what the [`insert`](Self::insert) of `key` reads first into
    /// cache (the filter's word, or the table's slot while there is no filter), so that the
    /// insert that follows other work does not wait on memory.
    pub fn prefetch(&self, key: u128) {
        let key = key.max(1);
        self.current.prefetch(key);
        self.previous.prefetch(key);
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

/// One generation: its table and, once the table has outgrown the caches, the filter over
/// every key it holds and the new keys not yet written into the table. Keys reach it as
/// stored (never 0: see [`DigestTable`]).
struct Generation {
    table: DigestTable,
    /// None while the table has at most [`DIRECT_SLOTS`] slots: keys go straight into it.
    filter: Option<Filter>,
    /// New keys, told new by the filter, that are not in the table yet; never two alike.
    pending: Vec<u128>,
}

impl Generation {
    fn new() -> Generation {
        Generation {
            table: DigestTable::with_slots(FIRST_SLOTS),
            filter: None,
            pending: Vec::new(),
        }
    }

    /// A generation that holds nothing and allocates nothing.
    fn empty() -> Generation {
        Generation {
            table: DigestTable::with_slots(0),
            filter: None,
            pending: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.table.len + self.pending.len()
    }

    fn prefetch(&self, key: u128) {
        match &self.filter {
            Some(filter) => filter.prefetch(key),
            None if self.table.len > 0 => self.table.prefetch(key),
            None => {}
        }
    }

    fn contains(&self, key: u128) -> bool {
        match &self.filter {
            None => self.table.contains(key),
            Some(filter) => {
                filter.may_contain(key) && (self.pending.contains(&key) || self.table.contains(key))
            }
        }
    }

    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: u128) -> bool {
        let Some(filter) = &mut self.filter else {
            if !self.table.insert(key) {
                return false;
            }
            if self.table.len * 4 > self.table.slots.len() * 3 {
                self.grow(self.table.len);
            }
            return true;
        };
        if filter.may_contain(key) && (self.pending.contains(&key) || self.table.contains(key)) {
            return false;
        }
        filter.add(key);
        self.pending.push(key);
        if self.pending.len() >= PENDING_KEYS {
            self.flush();
        }
        true
    }

    /// Writes the pending keys into the table, growing it first when they would fill it past
    /// 3/4.
    fn flush(&mut self) {
        let needed = self.len();
        if needed * 4 > self.table.slots.len() * 3 {
            self.grow(needed);
        }
        debug_assert!(
            needed * 4 <= self.table.slots.len() * 3,
            "a table past 3/4 full"
        );
        self.table.insert_new(self.pending.drain(..));
    }

    /// Moves the table's keys into a table with room for `needed` at 3/4 full, four times as
    /// large at a step, up to the generation's table size: fewer tables are built (and their
    /// fresh pages faulted in) on the way to a large one. Past [`DIRECT_SLOTS`] the filter is
    /// made, once, at its full size.
    fn grow(&mut self, needed: usize) {
        let mut slots = self.table.slots.len();
        while needed * 4 > slots * 3 && slots < MAX_SLOTS {
            slots = (slots * 4).min(MAX_SLOTS);
        }
        if slots == self.table.slots.len() {
            return;
        }
        let mut table = DigestTable::with_slots(slots);
        table.insert_new(self.table.keys());
        self.table = table;
        if slots > DIRECT_SLOTS && self.filter.is_none() {
            let mut filter = Filter::new();
            for key in self.table.keys() {
                filter.add(key);
            }
            self.filter = Some(filter);
            self.pending.reserve(PENDING_KEYS);
        }
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
    /// A table of `slots` free slots (a power of two, or 0 for a table that holds nothing).
    fn with_slots(slots: usize) -> DigestTable {
        DigestTable {
            slots: vec![0; slots],
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

    fn contains(&self, key: u128) -> bool {
        self.len > 0 && self.slots[Self::find(&self.slots, key)] == key
    }

    /// Prefetches the home slot of `key` (the table holds some).
    fn prefetch(&self, key: u128) {
        prefetch_read(
            self.slots[key as usize & (self.slots.len() - 1)..]
                .as_ptr()
                .cast(),
        );
    }

    /// The keys held, in slot order.
    fn keys(&self) -> impl Iterator<Item = u128> + '_ {
        self.slots.iter().copied().filter(|&k| k != 0)
    }

    /// Writes keys (never 0) into the table, which has room for them all: they are taken
    /// [`FETCH_AHEAD`] at a time, and the home slots of a group are fetched from memory before
    /// the first of them is probed, so that their cache misses overlap. A key already held is
    /// left as it is.
    fn insert_new(&mut self, keys: impl Iterator<Item = u128>) {
        debug_assert!(
            !self.slots.is_empty(),
            "keys written into a table of no slots"
        );
        let mask = self.slots.len() - 1;
        let mut group = [0u128; FETCH_AHEAD];
        let mut n = 0;
        for key in keys {
            group[n] = key;
            n += 1;
            prefetch_read(self.slots[key as usize & mask..].as_ptr().cast());
            if n == FETCH_AHEAD {
                for &key in &group {
                    self.insert(key);
                }
                n = 0;
            }
        }
        for &key in &group[..n] {
            self.insert(key);
        }
    }

    /// Adds `key` (the table has room for it); false when it was there already.
    fn insert(&mut self, key: u128) -> bool {
        let i = Self::find(&self.slots, key);
        if self.slots[i] == key {
            return false;
        }
        self.slots[i] = key;
        self.len += 1;
        true
    }
}

/// A filter over the keys of a generation: one 64-bit word per key, three bits set in it,
/// word and bits from the digest's high half (the table's slot comes from the low half). A key
/// whose three bits are not all set was never added; one whose bits are set may have been.
/// It has 8 bits for each slot of a full generation's table (1 MiB): with a full generation
/// (786,432 keys), about one new key in fifty passes for one seen before.
struct Filter {
    words: Vec<u64>,
}

impl Filter {
    fn new() -> Filter {
        Filter {
            words: vec![0; FILTER_WORDS],
        }
    }

    /// The word of `key` and its bits in it.
    fn place(key: u128) -> (usize, u64) {
        let high = (key >> 64) as u64;
        let word = high as usize & (FILTER_WORDS - 1);
        let bits = (1u64 << ((high >> 32) & 63))
            | (1u64 << ((high >> 40) & 63))
            | (1u64 << ((high >> 48) & 63));
        (word, bits)
    }

    fn may_contain(&self, key: u128) -> bool {
        let (word, bits) = Self::place(key);
        self.words[word] & bits == bits
    }

    fn add(&mut self, key: u128) {
        let (word, bits) = Self::place(key);
        self.words[word] |= bits;
    }

    fn prefetch(&self, key: u128) {
        let (word, _) = Self::place(key);
        prefetch_read(self.words[word..].as_ptr().cast());
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
    use std::collections::HashSet;
    use xxhash_rust::xxh3::xxh3_128;

    fn key(i: u64) -> u128 {
        xxh3_128(&i.to_le_bytes())
    }

    /// The answers a key set must give: two generations of exact sets, the current one
    /// turned into the previous one once it holds `generation` keys.
    struct Model {
        current: HashSet<u128>,
        previous: HashSet<u128>,
        generation: usize,
    }

    impl Model {
        fn insert(&mut self, key: u128) -> bool {
            let key = key.max(1);
            if self.previous.contains(&key) || !self.current.insert(key) {
                return false;
            }
            if self.current.len() >= self.generation {
                self.previous = std::mem::take(&mut self.current);
            }
            true
        }
    }

    /// A small deterministic generator of draws (splitmix64).
    fn draws(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn every_answer_is_the_models_through_growth_flushes_and_generations() {
        // Keys drawn from a pool two thirds the length of the run, and one draw in four a
        // key drawn three times in a row, so that repeats come near and far; 0 and 1 are
        // among them. Small generations change often with their keys written straight into
        // the table; from 12,289 keys a generation has its filter, so the last four cases
        // check lookups through it, and the last three change generations with pending keys
        // and a previous generation reached through its filter, and grow tables through
        // flushes (to 262,144 slots in the last one).
        for (generation, draws_n, seed) in [
            (1, 2_000, 1),
            (4, 5_000, 2),
            (100, 20_000, 3),
            (5_000, 60_000, 4),
            (GENERATION_KEYS, 60_000, 5),
            (12_289, 60_000, 6),
            (20_000, 150_000, 7),
            (60_000, 250_000, 8),
        ] {
            let mut next = draws(seed);
            let mut set = KeySet::with_generation(generation);
            let mut model = Model {
                current: HashSet::new(),
                previous: HashSet::new(),
                generation,
            };
            let (mut new, mut repeats) = (0, 0);
            for n in 0..draws_n {
                let i = next() % (draws_n as u64 / 3 * 2);
                let k = match i {
                    0 => 0,
                    1 => 1,
                    _ if next().is_multiple_of(4) => key(n as u64 / 3),
                    _ => key(i),
                };
                let expected = model.insert(k);
                assert_eq!(
                    set.insert(k),
                    expected,
                    "draw {n} of generation {generation}"
                );
                assert_eq!(
                    set.len(),
                    model.current.len() + model.previous.len(),
                    "draw {n}"
                );
                if expected { new += 1 } else { repeats += 1 }
            }
            // The run tested both answers (a small generation forgets most keys it was given).
            let least_repeats = if generation < 5_000 { 20 } else { draws_n / 10 };
            assert!(
                new > draws_n / 4 && repeats > least_repeats,
                "{new} new, {repeats} repeats"
            );
        }
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
    fn a_full_generation_fits_the_largest_table_and_its_filter_rarely_errs() {
        let mut generation = Generation::new();
        // New keys the filter took for keys it had seen, while it filled.
        let mut passed = 0usize;
        for i in 0..GENERATION_KEYS as u64 {
            let k = key(i).max(1);
            passed += usize::from(generation.filter.as_ref().is_some_and(|f| f.may_contain(k)));
            assert!(generation.insert(k));
        }
        generation.flush();
        assert_eq!(generation.table.slots.len(), MAX_SLOTS);
        assert_eq!(generation.table.len, GENERATION_KEYS);
        assert!(!generation.insert(key(7)), "a repeat in a full table");
        assert!(generation.contains(key(GENERATION_KEYS as u64 - 1)));
        assert!(!generation.contains(key(GENERATION_KEYS as u64)));
        // Over the fill the filter's load rises from nothing to 3/4 of the slots: on average
        // about one new key in 160 passed (0.6%), and at the end one in fifty (2.0%).
        let share = passed as f64 / GENERATION_KEYS as f64;
        assert!(
            share < 0.01,
            "{passed} of {GENERATION_KEYS} new keys passed the filter"
        );
        let Some(filter) = &generation.filter else {
            panic!("a full generation without its filter");
        };
        let full_passed = (GENERATION_KEYS as u64..GENERATION_KEYS as u64 + 100_000)
            .filter(|&i| filter.may_contain(key(i).max(1)))
            .count();
        assert!(
            full_passed < 3_000,
            "{full_passed} of 100,000 new keys passed the full filter"
        );
    }

    #[test]
    fn a_regrown_table_and_its_filter_keep_every_key() {
        let mut set = KeySet::with_generation(GENERATION_KEYS);
        // 4,096 slots grow to 16,384 with keys written straight in, then to 65,536, where the
        // filter is made from the keys so far, and on to 2^20 through pending keys: every key
        // stays found, in the table and through the filter.
        let n = 300_000;
        for i in 0..n {
            assert!(set.insert(key(i)));
            if i == 12_000 {
                assert_eq!(set.current.table.slots.len(), DIRECT_SLOTS);
                assert!(
                    set.current.filter.is_none(),
                    "a filter for a table in cache"
                );
            }
        }
        assert_eq!(set.current.table.slots.len(), MAX_SLOTS);
        assert!(set.current.filter.is_some());
        assert!((0..n).all(|i| !set.insert(key(i))), "a key was lost");
        assert_eq!(set.len(), n as usize);
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
