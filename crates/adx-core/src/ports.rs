//! The small traits through which the core reaches the outside world: an object store (S3 or a
//! local directory) and a schema registry (Glue or a local folder of `.avsc` files).
//!
//! They are synchronous on purpose: the core is CPU work on one thread; async adapters bridge
//! with their runtime handle when they implement them.

use std::io::Read;

/// A failure of the object store: always an infrastructure fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist.
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The object was replaced since its event was sent: its pinned version or ETag is gone.
    #[error("s3://{bucket}/{key} changed since its event: {pin:?} is no longer there")]
    Changed {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The version that was asked for.
        pin: Pin,
    },
    /// Any other failure, with its cause.
    #[error("{operation} s3://{bucket}/{key}: {message}")]
    Failed {
        /// What was being done (get, put, ...).
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The cause.
        message: String,
    },
}

/// Which content of an object a read must see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Pin {
    /// Whatever the key holds now.
    #[default]
    Latest,
    /// This version id (a versioned bucket).
    VersionId(String),
    /// The content with this ETag (an unversioned bucket).
    ETag(String),
}

/// An object being written: bytes are streamed in, and only `finish` (or a waited-for
/// `finish_in_background`) makes it visible.
pub trait ObjectWriter: Send {
    /// Appends bytes to the object.
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    /// Completes the object; before this, readers never see a partial object.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
    /// Starts completing the object and returns; it is complete once [`PendingObject::wait`]
    /// says so. Stores that can complete it in the background (uploading its last parts) do;
    /// by default it is completed here, before this returns.
    fn finish_in_background(self: Box<Self>) -> Box<dyn PendingObject> {
        Box::new(Completed(self.finish()))
    }
}

/// An object whose completion is under way. Dropped without [`PendingObject::wait`], it is
/// abandoned: the store does not complete the object if it has not already.
pub trait PendingObject: Send {
    /// Waits until the object is complete, or its completion failed.
    fn wait(self: Box<Self>) -> Result<(), StoreError>;
}

/// A completion that has already happened, with its outcome.
pub struct Completed(pub Result<(), StoreError>);

impl PendingObject for Completed {
    fn wait(self: Box<Self>) -> Result<(), StoreError> {
        self.0
    }
}

/// Where objects are read from and written to.
pub trait ObjectStore: Send + Sync {
    /// Opens an object for streaming reads.
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError>;
    /// Opens the content `pin` names, failing with [`StoreError::Changed`] when the key no
    /// longer holds it. Stores without versions read the latest content.
    fn get_pinned(
        &self,
        bucket: &str,
        key: &str,
        pin: &Pin,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let _ = pin;
        self.get(bucket, key)
    }
    /// Starts writing an object; it replaces any object of the same key when finished.
    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError>;
    /// The keys of `bucket` that start with `prefix`, in key order. Stores that cannot list say so.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Failed {
            operation: "list",
            bucket: bucket.to_string(),
            key: prefix.to_string(),
            message: "this store cannot list".into(),
        })
    }
    /// The keys of `bucket` that start with `prefix`, in key order, each with when it was last
    /// written, where the store can tell (`None`: it cannot).
    fn list_written(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Option<std::time::SystemTime>)>, StoreError> {
        Ok(self
            .list(bucket, prefix)?
            .into_iter()
            .map(|key| (key, None))
            .collect())
    }
    /// Removes an object; removing one that does not exist is no error. Stores that cannot
    /// delete say so.
    fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        Err(StoreError::Failed {
            operation: "delete",
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: "this store cannot delete".into(),
        })
    }
    /// Removes objects of `bucket`, as [`ObjectStore::delete`] does each (stores that can remove
    /// many in one request do).
    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), StoreError> {
        keys.iter().try_for_each(|key| self.delete(bucket, key))
    }
    /// Writes a whole small object at once.
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut writer = self.create(bucket, key)?;
        writer.write(bytes)?;
        writer.finish()
    }
}

/// A schema version as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// Schema name (= dataset name).
    pub name: String,
    /// The registry's id of this version (a UUID in Glue, a content hash locally).
    pub version_id: String,
    /// Version number, counting from 1.
    pub version_number: u64,
    /// Data format as the registry says it (`AVRO`).
    pub data_format: String,
    /// The schema text.
    pub definition: String,
}

/// A failure to reach or read the registry: an infrastructure fault.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct RegistryError {
    /// What was being done.
    pub operation: String,
    /// The cause.
    pub message: String,
}

/// Where dataset schemas come from.
pub trait SchemaRegistry: Send + Sync {
    /// The latest version of schema `name`, or `None` when no such schema is registered.
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError>;
    /// The schema version with this id, or `None` when the registry does not know it.
    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError>;
}
