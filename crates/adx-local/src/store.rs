//! The local directory store: `s3://bucket/key` is the file `<root>/bucket/key`. Writes go to a
//! temporary file that is renamed into place on `finish`, so a reader never sees a partial
//! object and a failed invocation leaves none behind.

use adx_core::{ObjectStore, ObjectWriter, StoreError};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An object store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

fn failed(
    operation: &'static str,
    bucket: &str,
    key: &str,
    e: impl std::fmt::Display,
) -> StoreError {
    StoreError::Failed {
        operation,
        bucket: bucket.to_string(),
        key: key.to_string(),
        message: e.to_string(),
    }
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `s3://bucket/key`; keys that would leave the bucket are refused.
    pub fn path_of(&self, bucket: &str, key: &str) -> Result<PathBuf, StoreError> {
        let relative = Path::new(key);
        let safe = !bucket.is_empty()
            && !bucket.contains('/')
            && !key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(failed(
                "resolve",
                bucket,
                key,
                "the key is not a plain relative path",
            ));
        }
        Ok(self.root.join(bucket).join(relative))
    }
}

struct LocalWriter {
    temp: PathBuf,
    target: PathBuf,
    file: Option<BufWriter<File>>,
    /// Set once the temp file has been renamed into place: nothing is left to clean up.
    renamed: bool,
    bucket: String,
    key: String,
}

impl ObjectWriter for LocalWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        match self.file.as_mut() {
            Some(file) => file
                .write_all(bytes)
                .map_err(|e| failed("write", &self.bucket, &self.key, e)),
            None => Err(failed(
                "write",
                &self.bucket,
                &self.key,
                "the object is already finished",
            )),
        }
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| failed("write", &self.bucket, &self.key, "finished twice"))?;
        file.into_inner()
            .map_err(|e| failed("write", &self.bucket, &self.key, e.error()))?;
        fs::rename(&self.temp, &self.target)
            .map_err(|e| failed("rename", &self.bucket, &self.key, e))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // After a successful finish the temp file is gone; otherwise remove the partial one.
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl ObjectStore for LocalStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let path = self.path_of(bucket, key)?;
        match File::open(&path) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }),
            Err(e) => Err(failed("get", bucket, key, e)),
        }
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(bucket);
        let mut keys = Vec::new();
        let mut pending = vec![dir.clone()];
        while let Some(at) = pending.pop() {
            let entries = match fs::read_dir(&at) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(failed("list", bucket, prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| failed("list", bucket, prefix, e))?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue; // a writer's temporary file
                }
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(&dir) {
                    let key = relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    if key.starts_with(prefix) {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn list_written(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Option<std::time::SystemTime>)>, StoreError> {
        let mut out = Vec::new();
        for key in self.list(bucket, prefix)? {
            let path = self.path_of(bucket, &key)?;
            match fs::metadata(&path).and_then(|m| m.modified()) {
                Ok(modified) => out.push((key, Some(modified))),
                // Removed since the listing: gone, not listed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(failed("list", bucket, &key, e)),
            }
        }
        Ok(out)
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(bucket, key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failed("delete", bucket, key, e)),
        }
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let target = self.path_of(bucket, key)?;
        let parent = target
            .parent()
            .ok_or_else(|| failed("put", bucket, key, "no parent directory"))?;
        fs::create_dir_all(parent).map_err(|e| failed("put", bucket, key, e))?;
        let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let temp = parent.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let file = File::create(&temp).map_err(|e| failed("put", bucket, key, e))?;
        Ok(Box::new(LocalWriter {
            temp,
            target,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            renamed: false,
            bucket: bucket.to_string(),
            key: key.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_appear_only_when_finished_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = "a b/c+d/é.json";
        let mut w = store.create("bucket", key).unwrap();
        w.write(b"hello ").unwrap();
        assert!(!dir.path().join("bucket").join(key).exists());
        w.write(b"world").unwrap();
        w.finish().unwrap();
        let mut text = String::new();
        store
            .get("bucket", key)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello world");
        let leftovers = fs::read_dir(dir.path().join("bucket/a b/c+d"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temp file stays behind");
    }

    #[test]
    fn abandoned_writes_leave_nothing_and_missing_objects_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let mut w = store.create("b", "k/x").unwrap();
        w.write(b"partial").unwrap();
        drop(w);
        assert_eq!(fs::read_dir(dir.path().join("b/k")).unwrap().count(), 0);
        assert!(matches!(
            store.get("b", "k/x"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.get("b", "../etc/passwd").is_err());
        store.put("b", "k/y/z", b"1").unwrap();
        store.put("b", "k/x", b"2").unwrap();
        store.put("b", "l", b"3").unwrap();
        assert_eq!(store.list("b", "k/").unwrap(), ["k/x", "k/y/z"]);
        assert_eq!(store.list("none", "").unwrap(), Vec::<String>::new());
        store.delete("b", "k/x").unwrap();
        store.delete("b", "k/x").unwrap();
        assert_eq!(store.list("b", "").unwrap(), ["k/y/z", "l"]);
    }
}
