//! Deterministic hashes, random streams and ids derived from `(seed, tag, index)`.
//!
//! Every record is generated from its own random stream, so record `i` of a dataset can be
//! rebuilt on its own: that is what lets clicks refer to impressions of the same seed without
//! holding anything in memory.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// What a hash or an id is derived for; keeps the streams of different uses apart.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Tag {
    /// Context shared by bid request `i` and impression `i` (user, site, device, time).
    Context = 1,
    /// Fields of bid request `i`.
    BidRequest,
    /// Fields of impression `i`.
    Impression,
    /// Fields of click/conversion event `i`.
    ClickEvent,
    /// The bad record of index `i`.
    Bad,
    /// The duplicate of index `i`.
    Duplicate,
    /// The choice of what an event refers to.
    Reference,
    /// `request_id` of bid request `i`.
    RequestId,
    /// `impression_id` of impression `i`.
    ImpressionId,
    /// `event_id` of event `i`.
    EventId,
    /// `click_id` of click `i`.
    ClickId,
    /// User number `u`.
    User,
    /// Avro sync marker of a dataset file.
    Marker,
}

/// The splitmix64 finalizer: a cheap, well-mixing 64-bit permutation.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A 64-bit hash of `(seed, tag, index)`.
pub(crate) fn mix(seed: u64, tag: Tag, index: u64) -> u64 {
    splitmix(seed ^ splitmix((tag as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ splitmix(index)))
}

/// The random stream of `(seed, tag, index)`.
pub(crate) fn rng(seed: u64, tag: Tag, index: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed, tag, index))
}

/// 16 random-looking bytes of `(seed, tag, index)`.
pub(crate) fn bytes16(seed: u64, tag: Tag, index: u64) -> [u8; 16] {
    let a = mix(seed, tag, index);
    let b = splitmix(a ^ 0x5851_F42D_4C95_7F2D);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// A version-4 style UUID string of `(seed, tag, index)`.
pub(crate) fn uuid(seed: u64, tag: Tag, index: u64) -> String {
    uuid::Builder::from_random_bytes(bytes16(seed, tag, index))
        .into_uuid()
        .to_string()
}

/// `request_id` of bid request `i`.
pub(crate) fn request_id(seed: u64, i: u64) -> String {
    uuid(seed, Tag::RequestId, i)
}

/// `impression_id` of impression `i`.
pub(crate) fn impression_id(seed: u64, i: u64) -> String {
    uuid(seed, Tag::ImpressionId, i)
}

/// `event_id` of click/conversion event `i`.
pub(crate) fn event_id(seed: u64, i: u64) -> String {
    uuid(seed, Tag::EventId, i)
}

/// `click_id` of click event `i`.
pub(crate) fn click_id(seed: u64, i: u64) -> String {
    uuid(seed, Tag::ClickId, i)
}

/// `user_id` of user number `u`: `u-` and 12 hex digits.
pub(crate) fn user_id(seed: u64, u: u64) -> String {
    format!("u-{:012x}", mix(seed, Tag::User, u) & 0xFFFF_FFFF_FFFF)
}

/// A `[0, 1)` fraction of `(seed, tag, index)`.
pub(crate) fn unit(seed: u64, tag: Tag, index: u64) -> f64 {
    (mix(seed, tag, index) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(request_id(1, 5), request_id(1, 5));
        assert_ne!(request_id(1, 5), request_id(2, 5));
        assert_ne!(request_id(1, 5), impression_id(1, 5));
        assert_ne!(request_id(1, 5), request_id(1, 6));
        assert!(uuid::Uuid::parse_str(&event_id(3, 3)).is_ok());
        assert_eq!(user_id(1, 2).len(), 14);
    }
}
