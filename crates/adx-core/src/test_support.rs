//! What the core's unit tests share: one in-memory object store (which can also count the
//! objects open at once, and leave completions pending until they are waited for), one record
//! shape builder, the repo's datasets compiled, and a registry over the repo's schemas.
//! Integration tests use `adx_local`'s adapters instead; the unit tests cannot, because that
//! crate links its own copy of the core.

use crate::catalog::Catalog;
use crate::model::dataset::Dataset;
use crate::model::shape::RecordShape;
use crate::pipeline::{IngestConfig, Ports};
use crate::ports::{
    ObjectStore, ObjectWriter, PendingObject, RegisteredSchema, RegistryError, SchemaRegistry,
    StoreError,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

/// Locks a mutex, whatever a panicking test left in it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An in-memory object store. Clones share their objects.
#[derive(Clone, Default)]
pub(crate) struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Objects by (bucket, key).
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    /// Objects being written now, and at most.
    open: Mutex<(usize, usize)>,
    /// Leave background completions pending until they are waited for.
    defer: bool,
    /// Fail every pending completion when it is waited for.
    fail: bool,
    /// Completions pending now, and at most.
    completing: Mutex<(usize, usize)>,
    /// Keys in the order their completion was waited for.
    completed: Mutex<Vec<String>>,
}

impl MemoryStore {
    /// An empty store whose objects complete at once.
    pub(crate) fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store whose background completions wait until they are waited for, and then
    /// fail when `fail`.
    pub(crate) fn deferring(fail: bool) -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Inner {
                defer: true,
                fail,
                ..Inner::default()
            }),
        }
    }

    /// The content of `bucket/key`, if complete.
    pub(crate) fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        lock(&self.inner.objects)
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    /// The complete objects of `bucket`, by key.
    pub(crate) fn objects(&self, bucket: &str) -> BTreeMap<String, Vec<u8>> {
        lock(&self.inner.objects)
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The most objects that were being written at once.
    pub(crate) fn most_open(&self) -> usize {
        lock(&self.inner.open).1
    }

    /// Completions pending now, and the most that were pending at once.
    pub(crate) fn completing(&self) -> (usize, usize) {
        *lock(&self.inner.completing)
    }

    /// Keys in the order their pending completion was waited for.
    pub(crate) fn completed(&self) -> Vec<String> {
        lock(&self.inner.completed).clone()
    }
}

/// An object being written.
struct MemoryWriter {
    store: MemoryStore,
    bucket: String,
    key: String,
    bytes: Vec<u8>,
}

/// A completion left for `wait`.
struct Deferred(Box<MemoryWriter>);

impl PendingObject for Deferred {
    fn wait(self: Box<Self>) -> Result<(), StoreError> {
        let inner = self.0.store.inner.clone();
        lock(&inner.completing).0 -= 1;
        lock(&inner.completed).push(self.0.key.clone());
        if inner.fail {
            return Err(StoreError::Failed {
                operation: "CompleteMultipartUpload",
                bucket: self.0.bucket.clone(),
                key: self.0.key.clone(),
                message: "refused".into(),
            });
        }
        self.0.finish()
    }
}

impl ObjectWriter for MemoryWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn finish_in_background(self: Box<Self>) -> Box<dyn PendingObject> {
        if !self.store.inner.defer {
            return Box::new(crate::ports::Completed(self.finish()));
        }
        let mut completing = lock(&self.store.inner.completing);
        completing.0 += 1;
        completing.1 = completing.1.max(completing.0);
        drop(completing);
        Box::new(Deferred(self))
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        lock(&self.store.inner.open).0 -= 1;
        lock(&self.store.inner.objects).insert((self.bucket, self.key), self.bytes);
        Ok(())
    }
}

impl ObjectStore for MemoryStore {
    fn get(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        match self.object(bucket, key) {
            Some(bytes) => Ok(Box::new(std::io::Cursor::new(bytes))),
            None => Err(StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            }),
        }
    }

    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let mut open = lock(&self.inner.open);
        open.0 += 1;
        open.1 = open.1.max(open.0);
        Ok(Box::new(MemoryWriter {
            store: self.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            bytes: Vec::new(),
        }))
    }
}

/// The shape of a record named `r` with the given Avro fields (a JSON array's content).
pub(crate) fn shape(fields: &str) -> Arc<RecordShape> {
    let text = format!(r#"{{"type":"record","name":"r","fields":[{fields}]}}"#);
    let schema =
        apache_avro::Schema::parse_str(&text).unwrap_or_else(|e| panic!("test schema {text}: {e}"));
    RecordShape::from_avro(&schema).unwrap_or_else(|e| panic!("test schema {text}: {e}"))
}

/// The fields of the sample record the decoders' tests share: a string, a nullable long, a
/// timestamp, an enum, an array of records and a double with a default.
pub(crate) const SAMPLE_FIELDS: &str = r#"
    {"name":"id","type":"string"},
    {"name":"n","type":["null","long"],"default":null},
    {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
    {"name":"xs","type":{"type":"array","items":{"type":"record","name":"X","fields":[{"name":"v","type":"int"}]}}},
    {"name":"d","type":"double","default":1.5}
"#;

/// `definition` registered as `name`, version id `<name>-v1`.
pub(crate) fn registered_as(name: &str, definition: &str) -> RegisteredSchema {
    RegisteredSchema {
        name: name.into(),
        version_id: format!("{name}-v1"),
        version_number: 1,
        data_format: "AVRO".into(),
        definition: definition.into(),
    }
}

/// The repo's schema of `dataset`, registered under a version id made of its name.
pub(crate) fn registered(dataset: &str) -> RegisteredSchema {
    let definition = match dataset {
        "ad_impressions" => include_str!("../../../schemas/ad_impressions.avsc"),
        "click_conversions" => include_str!("../../../schemas/click_conversions.avsc"),
        "bid_requests" => include_str!("../../../schemas/bid_requests.avsc"),
        other => panic!("no schema {other} in schemas/"),
    };
    RegisteredSchema {
        name: dataset.into(),
        version_id: version_id(dataset),
        version_number: 1,
        data_format: "AVRO".into(),
        definition: definition.into(),
    }
}

/// The version id [`registered`] and [`Schemas`] give `dataset`'s schema: a UUID whose last
/// byte tells the datasets apart.
pub(crate) fn version_id(dataset: &str) -> String {
    let n = match dataset {
        "ad_impressions" => 1,
        "click_conversions" => 2,
        "bid_requests" => 3,
        _ => 0,
    };
    format!("00000000-0000-0000-0000-0000000000{n:02x}")
}

/// The repo's dataset `name`, compiled.
pub(crate) fn dataset(name: &str) -> Arc<Dataset> {
    let registered = registered(name);
    match Dataset::from_registered(&registered) {
        Ok(ds) => Arc::new(ds),
        Err(e) => panic!("schemas/{name}.avsc: {e}"),
    }
}

/// A registry over the repo's three schemas (see [`registered`]).
pub(crate) struct Schemas;

impl SchemaRegistry for Schemas {
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        Ok(["ad_impressions", "click_conversions", "bid_requests"]
            .contains(&name)
            .then(|| registered(name)))
    }

    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        Ok(["ad_impressions", "click_conversions", "bid_requests"]
            .into_iter()
            .find(|n| self::version_id(n) == version_id)
            .map(registered))
    }
}

/// Ports over `store`, the repo's schemas and `catalog`.
pub(crate) fn ports<'a>(store: &'a MemoryStore, catalog: &'a Catalog) -> Ports<'a> {
    Ports {
        store,
        registry: &Schemas,
        catalog,
    }
}

/// Pipeline settings for tests: buckets `curated` and `quarantine`, 5 minutes of skew, default
/// writer bounds, everything on the caller's thread.
pub(crate) fn ingest_config() -> IngestConfig {
    IngestConfig {
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits: crate::curated::WriterLimits::default(),
        max_record_bytes: 1 << 20,
        max_inflated_bytes: 1 << 30,
        encode_thread: false,
    }
}
