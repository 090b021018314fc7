//! A caching layer over any [`SchemaRegistry`]: a schema version never changes, so a version
//! found by id is kept for the life of the process; the latest version of a schema is kept for
//! a time to live. Concurrent lookups of one id or name make a single registry call; failures
//! are not cached, so the next call tries again.

use crate::ports::{RegisteredSchema, RegistryError, SchemaRegistry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Slot<T> = Arc<Mutex<Option<T>>>;
type Slots<T> = Mutex<HashMap<String, Slot<T>>>;
/// A latest version as fetched, with when it was fetched.
type Fetched = (Instant, Option<RegisteredSchema>);

/// The cache; it is itself a [`SchemaRegistry`].
pub struct CachedRegistry<R> {
    inner: R,
    ttl: Duration,
    by_id: Slots<RegisteredSchema>,
    latest: Slots<Fetched>,
}

fn slot<T>(map: &Slots<T>, key: &str) -> Slot<T> {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

impl<R: SchemaRegistry> CachedRegistry<R> {
    /// Caches `inner`, keeping latest versions for `ttl`.
    pub fn new(inner: R, ttl: Duration) -> Self {
        CachedRegistry {
            inner,
            ttl,
            by_id: Mutex::default(),
            latest: Mutex::default(),
        }
    }

    /// The registry behind the cache.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: SchemaRegistry> SchemaRegistry for CachedRegistry<R> {
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        let slot = slot(&self.latest, name);
        // Holding the slot's lock while asking makes concurrent callers wait for one answer.
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, value)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let value = self.inner.latest(name)?;
        *guard = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        let slot = slot(&self.by_id, version_id);
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = guard.as_ref() {
            return Ok(Some(value.clone()));
        }
        // An unknown id is not remembered: it may be registered a moment later.
        let value = self.inner.by_version_id(version_id)?;
        if let Some(v) = &value {
            *guard = Some(v.clone());
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    impl SchemaRegistry for Counting {
        fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.by_version_id(name)
        }

        fn by_version_id(&self, id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            if self.fail {
                return Err(RegistryError {
                    operation: "get".into(),
                    message: "unreachable".into(),
                });
            }
            Ok((id != "unknown").then(|| RegisteredSchema {
                name: "ds".into(),
                version_id: id.into(),
                version_number: 1,
                data_format: "AVRO".into(),
                definition: "{}".into(),
            }))
        }
    }

    #[test]
    fn concurrent_lookups_of_one_id_make_one_call() {
        let cache = Arc::new(CachedRegistry::new(
            Counting {
                calls: AtomicUsize::new(0),
                fail: false,
            },
            Duration::from_secs(300),
        ));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                std::thread::spawn(move || cache.by_version_id("v1").unwrap().unwrap().version_id)
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), "v1");
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
        assert!(cache.by_version_id("unknown").unwrap().is_none());
        assert!(cache.by_version_id("unknown").unwrap().is_none());
        assert_eq!(
            cache.inner().calls.load(Ordering::SeqCst),
            3,
            "unknown ids are asked again"
        );
    }

    #[test]
    fn latest_expires_and_failures_are_not_cached() {
        let cache = CachedRegistry::new(
            Counting {
                calls: AtomicUsize::new(0),
                fail: false,
            },
            Duration::from_millis(0),
        );
        cache.latest("a").unwrap();
        cache.latest("a").unwrap();
        assert_eq!(
            cache.inner().calls.load(Ordering::SeqCst),
            4,
            "a zero TTL asks every time"
        );
        let cache = CachedRegistry::new(
            Counting {
                calls: AtomicUsize::new(0),
                fail: false,
            },
            Duration::from_secs(60),
        );
        cache.latest("a").unwrap();
        cache.latest("a").unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
        let failing = CachedRegistry::new(
            Counting {
                calls: AtomicUsize::new(0),
                fail: true,
            },
            Duration::from_secs(60),
        );
        assert!(failing.by_version_id("v").is_err());
        assert!(failing.by_version_id("v").is_err());
        assert_eq!(failing.inner().calls.load(Ordering::SeqCst), 2);
    }
}
