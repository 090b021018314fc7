//! What every target shares: the schema registry (the repo's schemas, read once), the object
//! store in memory, the handler configuration, and the checks of a run's answer against what
//! the store holds afterwards.

use adx_core::Ty;
use adx_core::internals::DirectPlan;
use adx_core::internals::SeedContext;
use adx_core::internals::WriterSchema;
use adx_core::internals::decode_datum;
use adx_core::{Catalog, DatasetReport, InvocationReport};
use adx_core::{RegisteredSchema, RegistryError, SchemaRegistry};
use adx_handlers::{Adapters, HandlerConfig};
use adx_local::schema_folder::version_id_of;
use adx_local::{LocalSchemaFolder, MemoryStore};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The repo's schema folder.
pub const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");

/// The datasets of the repo, in the order input bytes pick them.
pub const DATASETS: [&str; 3] = ["ad_impressions", "click_conversions", "bid_requests"];

/// Bucket of landing objects in the file targets.
pub const LANDING: &str = "landing";
const CURATED: &str = "curated";
const QUARANTINE: &str = "quarantine";

/// Arrival time of every file (2026-11-27T03:00:00Z, as `adx gen --arrival` made the seeds).
pub const ARRIVAL_MS: i64 = 1_795_748_400_000;

/// The schema versions a Glue header can name, in the order input bytes pick them.
#[derive(Debug, Clone)]
pub struct Versions {
    /// Version ids: the latest of each dataset (in [`DATASETS`] order), then an older
    /// `ad_impressions` without `currency` (resolvable), an `ad_impressions` whose
    /// `campaign_id` is an int (not resolvable), a JSON schema, a schema of no dataset, and an
    /// id the registry does not know.
    pub ids: Vec<String>,
    /// The dataset each id's schema belongs to, when it is one of [`DATASETS`].
    pub datasets: Vec<Option<&'static str>>,
}

/// The repo's schemas held in memory, plus a few versions that only the fuzzer uses: a
/// registry that never touches the disk after it is built, so that executions are fast and
/// an unknown version id costs nothing.
#[derive(Clone)]
pub struct FrozenRegistry {
    latest: Arc<BTreeMap<String, RegisteredSchema>>,
    by_id: Arc<BTreeMap<String, RegisteredSchema>>,
}

fn registered(name: &str, number: u64, format: &str, definition: String) -> RegisteredSchema {
    RegisteredSchema {
        name: name.to_string(),
        version_id: version_id_of(&definition),
        version_number: number,
        data_format: format.to_string(),
        definition,
    }
}

impl FrozenRegistry {
    /// Reads the repo's schema folder (latest versions and `history/`) and adds the extra
    /// versions listed in [`Versions`].
    pub fn load() -> (FrozenRegistry, Versions) {
        let folder = LocalSchemaFolder::new(SCHEMA_DIR);
        let mut latest = BTreeMap::new();
        let mut by_id = BTreeMap::new();
        let names = folder.names().expect("the repo's schema folder lists");
        for name in &names {
            for (i, text) in folder
                .history(name)
                .expect("history reads")
                .into_iter()
                .enumerate()
            {
                let old = registered(name, i as u64 + 1, "AVRO", text);
                by_id.insert(old.version_id.clone(), old);
            }
            let schema = folder
                .latest(name)
                .expect("the repo's schemas read")
                .expect("a listed schema exists");
            by_id.insert(schema.version_id.clone(), schema.clone());
            latest.insert(name.clone(), schema);
        }
        let mut ids = Vec::new();
        let mut datasets = Vec::new();
        for name in DATASETS {
            let schema = latest.get(name).expect("every dataset has a schema");
            ids.push(schema.version_id.clone());
            datasets.push(Some(name));
        }

        // Older and broken versions of ad_impressions, derived from the repo's schema.
        let base: serde_json::Value =
            serde_json::from_str(&latest["ad_impressions"].definition).expect("schema is JSON");
        let mut older = base.clone();
        if let Some(fields) = older["fields"].as_array_mut() {
            fields.retain(|f| f["name"] != "currency");
        }
        let mut broken = base;
        if let Some(fields) = broken["fields"].as_array_mut() {
            for f in fields.iter_mut().filter(|f| f["name"] == "campaign_id") {
                f["type"] = "int".into();
            }
        }
        let orphan =
            r#"{"type":"record","name":"orphan","fields":[{"name":"id","type":"string"}]}"#;
        let extras = [
            (
                registered("ad_impressions", 0, "AVRO", older.to_string()),
                Some("ad_impressions"),
            ),
            (
                registered("ad_impressions", 0, "AVRO", broken.to_string()),
                Some("ad_impressions"),
            ),
            (
                registered("page_views", 1, "JSON", r#"{"type":"object"}"#.into()),
                None,
            ),
            (registered("orphan", 1, "AVRO", orphan.into()), None),
        ];
        for (schema, dataset) in extras {
            ids.push(schema.version_id.clone());
            datasets.push(dataset);
            if schema.name == "orphan" {
                latest.insert(schema.name.clone(), schema.clone());
            }
            by_id.insert(schema.version_id.clone(), schema);
        }
        ids.push("00000000-0000-4000-8000-00000000dead".into());
        datasets.push(None);
        (
            FrozenRegistry {
                latest: Arc::new(latest),
                by_id: Arc::new(by_id),
            },
            Versions { ids, datasets },
        )
    }
}

impl SchemaRegistry for FrozenRegistry {
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        Ok(self.latest.get(name).cloned())
    }

    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        Ok(self.by_id.get(version_id).cloned())
    }
}

/// The handler configuration: ordinary, or with tiny bounds so that oversized records,
/// decompression bombs and part rollover are reached by small inputs.
fn handler_config(small: bool) -> HandlerConfig {
    let mut vars: BTreeMap<&str, &str> = BTreeMap::from([
        ("CURATED_BUCKET", CURATED),
        ("QUARANTINE_BUCKET", QUARANTINE),
        ("TOPIC_DATASETS", "imps=ad_impressions,ghost=page_views"),
        ("ADX_MAX_RECORD_BYTES", "1048576"),
        ("ADX_MAX_INFLATED_BYTES", "16777216"),
        ("ADX_MAX_DATUM_BYTES", "1048576"),
        ("ADX_BATCH_ROWS", "1024"),
        ("ADX_PART_BYTES", "8388608"),
        ("ADX_BUFFER_BYTES", "8388608"),
    ]);
    if small {
        vars.extend([
            ("ADX_MAX_RECORD_BYTES", "200"),
            ("ADX_MAX_INFLATED_BYTES", "4096"),
            ("ADX_MAX_DATUM_BYTES", "256"),
            ("ADX_BATCH_ROWS", "2"),
            ("ADX_ROW_GROUP_ROWS", "3"),
            ("ADX_PART_BYTES", "2048"),
            ("ADX_BUFFER_BYTES", "4096"),
            ("ADX_MAX_OPEN_HOURS", "2"),
        ]);
    }
    HandlerConfig::from_lookup(&|name| vars.get(name).map(|v| v.to_string()))
        .expect("the fuzz configuration is valid")
}

/// One thread's fixture: built once, reused by every execution.
pub struct Harness {
    /// The store the adapters write to (a clone sharing the same objects).
    pub store: MemoryStore,
    /// Store, registry and catalog, as the handlers take them.
    pub adapters: Adapters,
    /// Ordinary bounds.
    pub config: HandlerConfig,
    /// Tiny bounds.
    pub small: HandlerConfig,
    /// The version ids a Glue header can name.
    pub versions: Versions,
    /// The fast Avro path of each dataset's latest schema, beside its general decoder.
    pub direct: Vec<DirectCheck>,
    buckets: RefCell<BTreeSet<String>>,
    landing: RefCell<BTreeSet<(String, String)>>,
}

/// A dataset's latest schema read both ways: the fast path for writers of exactly the reader's
/// shape ([`DirectPlan`]) and the general decoder.
pub struct DirectCheck {
    plan: DirectPlan,
    writer: Arc<WriterSchema>,
    ty: Ty,
}

impl DirectCheck {
    fn new(registry: &FrozenRegistry, catalog: &Catalog, name: &str) -> DirectCheck {
        let registered = registry
            .latest(name)
            .ok()
            .flatten()
            .expect("every dataset has a schema");
        let writer = catalog
            .writer(&registered)
            .expect("the repo's schemas parse");
        let ty = catalog
            .route(registry, name)
            .ok()
            .and_then(|route| route.dataset())
            .expect("every dataset compiles")
            .record_ty();
        let plan = DirectPlan::compile(&writer.avro, &ty).expect("a schema matches itself");
        DirectCheck { plan, writer, ty }
    }

    /// Panics when the fast path reads `datum` and the general decoder does not read the
    /// same record from it.
    pub fn agrees(&self, datum: &[u8]) {
        if let Some(direct) = self.plan.decode(datum) {
            let general = decode_datum(
                datum,
                &self.writer.decoder,
                &self.ty,
                &SeedContext::for_avro(),
            );
            // Compared as text: NaN is not equal to itself.
            assert_eq!(
                format!("{:?}", Ok::<_, adx_core::RecordError>(direct)),
                format!("{general:?}"),
                "the fast Avro path and the general decoder disagree on {datum:?}"
            );
        }
    }
}

impl Harness {
    fn new() -> Harness {
        let (registry, versions) = FrozenRegistry::load();
        let store = MemoryStore::new();
        let catalog = Catalog::new();
        let direct = DATASETS
            .iter()
            .map(|name| DirectCheck::new(&registry, &catalog, name))
            .collect();
        Harness {
            adapters: Adapters {
                store: Box::new(store.clone()),
                registry: Box::new(registry),
                catalog,
                aws: None,
            },
            store,
            config: handler_config(false),
            small: handler_config(true),
            versions,
            direct,
            buckets: RefCell::new(BTreeSet::from([
                LANDING.to_string(),
                CURATED.to_string(),
                QUARANTINE.to_string(),
            ])),
            landing: RefCell::default(),
        }
    }

    /// The configuration the flag asks for.
    pub fn config(&self, small: bool) -> &HandlerConfig {
        if small { &self.small } else { &self.config }
    }

    /// Empties the store (what the previous execution left).
    pub fn reset(&self) {
        self.landing.borrow_mut().clear();
        for bucket in self.buckets.borrow().iter() {
            for key in self.store.objects(bucket).keys() {
                self.store.remove(bucket, key);
            }
        }
    }

    /// Puts a landing object, remembering its bucket for [`Harness::reset`].
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.buckets.borrow_mut().insert(bucket.to_string());
        self.landing
            .borrow_mut()
            .insert((bucket.to_string(), key.to_string()));
        self.store.insert(bucket, key, bytes);
    }

    /// Checks one dataset's report against the store: the counts reconcile, every object it
    /// names is in the store with its size, curated objects are Parquet holding the rows
    /// reported, quarantine objects hold one JSON line per record reported. An object reported
    /// more than once (an event naming one object twice) is checked at its last report only:
    /// the store holds the last write.
    pub fn check_dataset(&self, dataset: &str, report: &DatasetReport) {
        let last: BTreeMap<(&str, &str), usize> = report
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| ((o.bucket.as_str(), o.key.as_str()), i))
            .collect();
        assert!(
            report.reconciles(),
            "{dataset}: received {} != curated {} + quarantined {} + duplicates {}",
            report.received,
            report.curated,
            report.quarantined,
            report.duplicates
        );
        let mut rows = BTreeMap::<&str, u64>::new();
        for (i, object) in report.objects.iter().enumerate() {
            *rows.entry(object.kind).or_default() += object.records;
            if last[&(object.bucket.as_str(), object.key.as_str())] != i {
                continue;
            }
            let bytes = self
                .store
                .object(&object.bucket, &object.key)
                .unwrap_or_else(|| {
                    panic!("{dataset}: reported object {object:?} is not in the store")
                });
            assert_eq!(
                bytes.len() as u64,
                object.bytes,
                "{dataset}: size of {object:?}"
            );
            match object.kind {
                "curated" => {
                    assert_eq!(object.bucket, CURATED, "{object:?}");
                    assert_eq!(
                        parquet_rows(&bytes, &object.key),
                        object.records,
                        "{object:?}"
                    );
                }
                "quarantine" => {
                    assert_eq!(object.bucket, QUARANTINE, "{object:?}");
                    let mut lines = 0;
                    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        let entry: serde_json::Value = serde_json::from_slice(line)
                            .unwrap_or_else(|e| panic!("{object:?}: a line is not JSON: {e}"));
                        assert!(entry["error"]["message"].is_string(), "{entry}");
                        lines += 1;
                    }
                    assert_eq!(lines, object.records, "{object:?}: lines");
                }
                other => panic!("{dataset}: object of unknown kind {other}"),
            }
        }
        assert_eq!(
            rows.get("curated").copied().unwrap_or(0),
            report.curated,
            "{dataset}: rows"
        );
        assert_eq!(
            rows.get("quarantine").copied().unwrap_or(0),
            report.quarantined,
            "{dataset}: quarantine lines"
        );
    }

    /// Checks a whole answer: every dataset's report, and that the curated and quarantine
    /// buckets hold exactly the objects reported (nothing written and left out of the answer,
    /// nothing reported twice unless `repeats_allowed`, as when an event names an object twice).
    pub fn check_invocation(&self, report: &InvocationReport, repeats_allowed: bool) {
        let mut reported = BTreeSet::new();
        for (dataset, r) in &report.datasets {
            self.check_dataset(dataset, r);
            for o in &r.objects {
                let fresh = reported.insert((o.bucket.clone(), o.key.clone()));
                assert!(fresh || repeats_allowed, "{o:?} is reported twice");
            }
        }
        let mut stored = BTreeSet::new();
        for bucket in [CURATED, QUARANTINE] {
            for (key, bytes) in self.store.objects(bucket) {
                if bucket == CURATED && key.starts_with(adx_core::PENDING_PREFIX) {
                    // A pending manifest names only curated objects of the answer.
                    let manifest: adx_core::PendingManifest = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("{key}: not a pending manifest: {e}"));
                    for file in &manifest.files {
                        let named = (file.bucket.clone(), file.key.clone());
                        assert!(
                            reported.contains(&named),
                            "{key} names {named:?}, not reported"
                        );
                    }
                    continue;
                }
                let entry = (bucket.to_string(), key);
                // An event may name a landing object in the curated or quarantine bucket.
                if !self.landing.borrow().contains(&entry) || reported.contains(&entry) {
                    stored.insert(entry);
                }
            }
        }
        assert_eq!(
            stored, reported,
            "objects in the store vs. objects reported"
        );
    }
}

/// Rows of a Parquet object. Under the fuzzer (`cfg(fuzzing)`) every batch is decoded; the
/// replay in the (debug) test suite reads the footer only, which costs far less there.
fn parquet_rows(bytes: &[u8], key: &str) -> u64 {
    let bytes = bytes::Bytes::copy_from_slice(bytes);
    if cfg!(fuzzing) {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("{key} is not readable Parquet: {e}"));
        let mut rows = 0;
        for batch in reader {
            let batch = batch.unwrap_or_else(|e| panic!("{key}: a batch does not read: {e}"));
            rows += batch.num_rows() as u64;
        }
        rows
    } else {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let reader = SerializedFileReader::new(bytes)
            .unwrap_or_else(|e| panic!("{key} is not readable Parquet: {e}"));
        u64::try_from(reader.metadata().file_metadata().num_rows())
            .unwrap_or_else(|_| panic!("{key}: a negative row count"))
    }
}

thread_local! {
    static HARNESS: Harness = Harness::new();
}

/// Runs `f` on this thread's fixture, the store emptied first.
pub fn with<T>(f: impl FnOnce(&Harness) -> T) -> T {
    HARNESS.with(|h| {
        h.reset();
        f(h)
    })
}
