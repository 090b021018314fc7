//! The record of the landing objects a table holds: what lets the committer drop the manifest
//! of an object delivered again (an S3 event redelivered, an invocation retried or redriven)
//! after the object's files were committed, and compacted since, so that Iceberg's
//! duplicate-file check no longer sees them.
//!
//! It is kept in a table property ([`OBJECTS_PROPERTY`]), and table metadata is read by every
//! query and rewritten by every commit, so it is small: an object is 12 bytes of SHA-256 of its
//! identity (bucket, key, version), 16 characters; identities are grouped by the UTC day they
//! were committed and kept [`DAYS_KEPT`] days, but at most [`MAX_OBJECTS_KEPT`] of them (800 KB),
//! the oldest going first: the window is 7 days or 50,000 objects, whichever is shorter (at 3,000
//! objects an hour, 17 hours). A collision of two objects' 96-bit identities among 50,000 has a
//! probability under 10^-19.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// The table property of the committed landing objects.
pub const OBJECTS_PROPERTY: &str = "adx.objects";

/// How many days of committed objects a table keeps (redelivery and retries come within hours;
/// a redrive of failed events by hand, within days).
pub const DAYS_KEPT: u32 = 7;

/// How many committed objects a table keeps at most.
pub const MAX_OBJECTS_KEPT: usize = 50_000;

/// Characters of one object's identity.
const ID_CHARS: usize = 16;

/// A landing object's identity in the record: 12 bytes of SHA-256, base64url.
pub fn object_id(bucket: &str, key: &str, version: Option<&str>) -> String {
    let digest = Sha256::digest(format!("s3://{bucket}/{key}#{}", version.unwrap_or("")));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// The committed objects of a table, by the day they were committed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectLedger {
    /// Day (days since 1970-01-01, UTC) to the identities committed that day, in order.
    days: BTreeMap<u32, Vec<String>>,
    /// Every identity kept.
    all: HashSet<String>,
}

/// The property's shape.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    /// Day to the day's identities, concatenated.
    days: BTreeMap<u32, String>,
}

impl ObjectLedger {
    /// The ledger in `property`, as of `today`. A property of the earlier shape (a JSON list of
    /// `s3://bucket/key#version`) is read as committed today; one that cannot be read is an
    /// error (replacing it would forget what the table holds).
    pub fn from_property(property: Option<&str>, today: u32) -> Result<ObjectLedger, String> {
        let mut ledger = ObjectLedger::default();
        let Some(property) = property else {
            return Ok(ledger);
        };
        if let Ok(stored) = serde_json::from_str::<Stored>(property) {
            for (day, ids) in stored.days {
                let ids = ids.as_bytes().chunks(ID_CHARS);
                for id in ids.filter_map(|c| std::str::from_utf8(c).ok()) {
                    ledger.insert(id.to_string(), day);
                }
            }
        } else if let Ok(old) = serde_json::from_str::<Vec<String>>(property) {
            for identity in old {
                let (object, version) = identity.rsplit_once('#').unwrap_or((&identity, ""));
                let Some((bucket, key)) =
                    object.strip_prefix("s3://").and_then(|o| o.split_once('/'))
                else {
                    continue;
                };
                let version = (!version.is_empty()).then_some(version);
                ledger.insert(object_id(bucket, key, version), today);
            }
        } else {
            let shown: String = property.chars().take(40).collect();
            return Err(format!("neither shape of the record: {shown:?}"));
        }
        Ok(ledger)
    }

    /// Whether the object of `id` is recorded.
    pub fn contains(&self, id: &str) -> bool {
        self.all.contains(id)
    }

    /// Records `id`, committed on `day`.
    pub fn insert(&mut self, id: String, day: u32) {
        if self.all.insert(id.clone()) {
            self.days.entry(day).or_default().push(id);
        }
    }

    /// How many objects are recorded.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether no object is recorded.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Forgets the days before the last [`DAYS_KEPT`] as of `today`, then the oldest objects
    /// beyond [`MAX_OBJECTS_KEPT`].
    pub fn trim(&mut self, today: u32) {
        let first_kept = today.saturating_sub(DAYS_KEPT - 1);
        let old: Vec<u32> = self.days.range(..first_kept).map(|(d, _)| *d).collect();
        for day in old {
            for id in self.days.remove(&day).unwrap_or_default() {
                self.all.remove(&id);
            }
        }
        while self.all.len() > MAX_OBJECTS_KEPT {
            let Some(mut oldest) = self.days.first_entry() else {
                break;
            };
            let excess = (self.all.len() - MAX_OBJECTS_KEPT).min(oldest.get().len());
            let dropped: Vec<String> = oldest.get_mut().drain(..excess).collect();
            if oldest.get().is_empty() {
                oldest.remove();
            }
            for id in dropped {
                self.all.remove(&id);
            }
        }
    }

    /// The property's value.
    pub fn to_property(&self) -> String {
        let stored = Stored {
            days: self
                .days
                .iter()
                .map(|(day, ids)| (*day, ids.concat()))
                .collect(),
        };
        serde_json::to_string(&stored).unwrap_or_else(|_| "{\"days\":{}}".into())
    }
}

/// Today, in days since 1970-01-01 (UTC).
pub fn today() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs / 86_400).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_short_and_tell_versions_apart() {
        let a = object_id("landing", "clicks/a.csv", Some("v1"));
        assert_eq!(a.len(), ID_CHARS);
        assert_eq!(a, object_id("landing", "clicks/a.csv", Some("v1")));
        assert_ne!(a, object_id("landing", "clicks/a.csv", Some("v2")));
        assert_ne!(a, object_id("landing", "clicks/a.csv", None));
        assert_ne!(a, object_id("landing2", "clicks/a.csv", Some("v1")));
    }

    #[test]
    fn a_ledger_reads_back_what_it_wrote() {
        let mut ledger = ObjectLedger::default();
        ledger.insert(object_id("b", "k1", None), 20_000);
        ledger.insert(object_id("b", "k2", Some("v")), 20_001);
        ledger.insert(object_id("b", "k2", Some("v")), 20_001);
        assert_eq!(ledger.len(), 2);
        let again = ObjectLedger::from_property(Some(&ledger.to_property()), 20_001).unwrap();
        assert_eq!(again, ledger);
        assert!(again.contains(&object_id("b", "k2", Some("v"))));
        assert!(!again.contains(&object_id("b", "k3", None)));
    }

    #[test]
    fn the_earlier_shape_is_read_as_committed_today() {
        let old = r#"["s3://landing/clicks/a.csv#v1","s3://landing/clicks/b.csv#"]"#;
        let ledger = ObjectLedger::from_property(Some(old), 20_000).unwrap();
        assert_eq!(ledger.len(), 2);
        assert!(ledger.contains(&object_id("landing", "clicks/a.csv", Some("v1"))));
        assert!(ledger.contains(&object_id("landing", "clicks/b.csv", None)));
        assert!(ObjectLedger::from_property(Some("not json"), 20_000).is_err());
        assert!(
            ObjectLedger::from_property(None, 20_000)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn old_days_go_then_the_oldest_objects_beyond_the_cap() {
        // Today is day 107: days 101 to 107 are the last 7 days.
        let mut ledger = ObjectLedger::default();
        ledger.insert(object_id("b", "day 100", None), 100);
        ledger.insert(object_id("b", "day 101", None), 101);
        ledger.insert(object_id("b", "day 107", None), 107);
        ledger.trim(107);
        assert!(
            !ledger.contains(&object_id("b", "day 100", None)),
            "8 days back"
        );
        assert!(
            ledger.contains(&object_id("b", "day 101", None)),
            "7 days back"
        );
        assert!(ledger.contains(&object_id("b", "day 107", None)), "today");
        assert_eq!(ledger.len(), 2);

        let mut ledger = ObjectLedger::default();
        for i in 0..MAX_OBJECTS_KEPT + 10 {
            let day = if i < 20 { 500 } else { 501 };
            ledger.insert(object_id("b", &format!("k{i}"), None), day);
        }
        ledger.trim(501);
        assert_eq!(ledger.len(), MAX_OBJECTS_KEPT);
        assert!(
            !ledger.contains(&object_id("b", "k9", None)),
            "the oldest go"
        );
        assert!(ledger.contains(&object_id("b", "k10", None)));
        assert!(ledger.contains(&object_id("b", &format!("k{}", MAX_OBJECTS_KEPT + 9), None)));
        let bytes = ledger.to_property().len();
        assert!(bytes < 810_000, "{bytes} bytes at the cap");
    }
}
