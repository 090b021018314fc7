//! An object store in memory: for fuzzing, property tests and benchmarks that must not touch
//! the disk. Objects appear only when their writer finishes, as in S3 and the directory store.

use adx_core::{ObjectStore, ObjectWriter, StoreError};
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

type Objects = BTreeMap<(String, String), Arc<Vec<u8>>>;

/// An object store held in memory; clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<Objects>>,
}

fn lock(objects: &Mutex<Objects>) -> MutexGuard<'_, Objects> {
    // A panic in another thread cannot leave the map half-updated: every update is one insert.
    objects.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Stores `bytes` as `s3://bucket/key`, replacing what was there.
    pub fn insert(&self, bucket: &str, key: &str, bytes: impl Into<Vec<u8>>) {
        lock(&self.objects).insert(
            (bucket.to_string(), key.to_string()),
            Arc::new(bytes.into()),
        );
    }

    /// The content of `s3://bucket/key`, if it exists.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Arc<Vec<u8>>> {
        lock(&self.objects)
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    /// Every object of `bucket`, by key.
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, Arc<Vec<u8>>> {
        lock(&self.objects)
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Removes `s3://bucket/key`; true when it existed.
    pub fn remove(&self, bucket: &str, key: &str) -> bool {
        lock(&self.objects)
            .remove(&(bucket.to_string(), key.to_string()))
            .is_some()
    }
}

struct MemoryWriter {
    objects: Arc<Mutex<Objects>>,
    bucket: String,
    key: String,
    bytes: Vec<u8>,
}

impl ObjectWriter for MemoryWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        let MemoryWriter {
            objects,
            bucket,
            key,
            bytes,
        } = *self;
        lock(&objects).insert((bucket, key), Arc::new(bytes));
        Ok(())
    }
}

/// Reads a shared object without copying it.
struct SharedRead(Cursor<Arc<Vec<u8>>>);

impl Read for SharedRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let position = self.0.position() as usize;
        let data = self.0.get_ref().as_slice();
        let rest = data.get(position..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.0.set_position((position + n) as u64);
        Ok(n)
    }
}

impl ObjectStore for MemoryStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        match self.object(bucket, key) {
            Some(bytes) => Ok(Box::new(SharedRead(Cursor::new(bytes)))),
            None => Err(StoreError::NotFound {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }),
        }
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .objects(bucket)
            .into_keys()
            .filter(|k| k.starts_with(prefix))
            .collect())
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.remove(bucket, key);
        Ok(())
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        Ok(Box::new(MemoryWriter {
            objects: self.objects.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            bytes: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_appear_when_finished_and_read_back() {
        let store = MemoryStore::new();
        let mut w = store.create("b", "k/1").unwrap();
        w.write(b"hello ").unwrap();
        w.write(b"world").unwrap();
        assert!(store.object("b", "k/1").is_none(), "not before finish");
        w.finish().unwrap();
        let mut text = String::new();
        store
            .get("b", "k/1")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello world");
        assert_eq!(store.objects("b").len(), 1);
        assert!(store.objects("other").is_empty());
        assert!(matches!(
            store.get("b", "k/2"),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(store.list("b", "k/").unwrap(), vec!["k/1".to_string()]);
        assert!(store.list("b", "x").unwrap().is_empty());
        store.delete("b", "k/1").unwrap();
        store.insert("b", "k/1", "again");
        assert!(store.remove("b", "k/1"));
        assert!(!store.remove("b", "k/1"));
    }
}
