//! De-duplication of an object large enough for its key set to leave the caches: 60,000
//! click_conversions CSV rows with 5% duplicates and 2% bad rows, so that past 12,288 keys
//! the key set answers through its filter and pending keys, and grows its table through
//! flushes (to 262,144 slots). Every duplicate the generator wrote is counted as one, and
//! every good record, and only those, is curated exactly once.

use adx_core::CachedRegistry;
use adx_core::Catalog;
use adx_core::WriterLimits;
use adx_core::{IngestConfig, ObjectSource, Ports, ingest_object};
use adx_core::{PENDING_PREFIX, PendingManifest};
use adx_core::{Pin, SchemaRegistry};
use adx_gen::{Compression, Dataset as GenDataset, Expected, Format, GenConfig, RecordValue};
use adx_local::{LocalSchemaFolder, MemoryStore};
use arrow_array::{Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::time::Duration;

/// The repo's schema folder.
const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");
/// Rows of the object.
const RECORDS: usize = 60_000;
/// When the object arrived (the generator's default arrival).
const ARRIVAL_MS: i64 = 1_795_845_600_000;

#[test]
fn every_duplicate_of_a_large_object_is_caught_and_every_good_record_curated_once() {
    let dataset = GenDataset::ClickConversions;
    let cfg = GenConfig {
        seed: 23,
        records: RECORDS,
        bad_share: 0.02,
        duplicate_share: 0.05,
        arrival_ms: ARRIVAL_MS,
    };
    let schema = std::fs::read_to_string(format!("{SCHEMA_DIR}/{}.avsc", dataset.name()))
        .expect("the dataset's schema");
    let mut bytes = Vec::new();
    adx_gen::encode(
        dataset,
        Format::Csv,
        Compression::None,
        &cfg,
        &schema,
        &mut bytes,
    )
    .expect("generating the object");

    // What the generator wrote: good keys, duplicates, bad rows.
    let key_field = dataset.key_field();
    let (mut good, mut duplicates, mut bad) = (Vec::new(), 0u64, 0u64);
    for record in adx_gen::records_for(dataset, &Format::Csv, &cfg) {
        match (record.expected, record.value) {
            (Expected::Good, RecordValue::Json(v)) => {
                good.push(v[key_field].as_str().expect("a string key").to_string());
            }
            (Expected::Good, RecordValue::Raw(_)) => panic!("a good record that is not JSON"),
            (Expected::Duplicate, _) => duplicates += 1,
            (Expected::Bad(_), _) => bad += 1,
        }
    }
    assert!(
        good.len() > 50_000 && duplicates > 2_000,
        "{} good, {duplicates} duplicates",
        good.len()
    );

    let store = MemoryStore::new();
    let key = "click_conversions/2026/11/28/large.csv";
    store.insert("landing", key, bytes);
    let registry = CachedRegistry::new(LocalSchemaFolder::new(SCHEMA_DIR), Duration::from_secs(60));
    let catalog = Catalog::new();
    let ports = Ports {
        store: &store,
        registry: &registry as &dyn SchemaRegistry,
        catalog: &catalog,
    };
    let config = IngestConfig {
        curated_bucket: "curated".into(),
        quarantine_bucket: "quarantine".into(),
        max_future_skew_ms: 300_000,
        limits: WriterLimits::default(),
        max_record_bytes: 1 << 20,
        max_inflated_bytes: 1 << 30,
        encode_thread: false,
    };
    let source = ObjectSource {
        bucket: "landing".into(),
        key: key.into(),
        version: None,
        pin: Pin::Latest,
        arrival_ms: ARRIVAL_MS,
        size: None,
    };
    let (_, report) = ingest_object(ports, &config, &source).expect("the object is ingested");
    assert_eq!(report.received, RECORDS as u64);
    assert_eq!(report.duplicates, duplicates, "{report:?}");
    assert_eq!(report.quarantined, bad, "{report:?}");
    assert_eq!(report.curated, good.len() as u64, "{report:?}");

    // One pending manifest, naming exactly the report's curated objects.
    let (parts, manifests): (Vec<_>, Vec<_>) = store
        .objects("curated")
        .into_iter()
        .partition(|(k, _)| !k.starts_with(PENDING_PREFIX));
    let [(_, manifest)] = manifests.as_slice() else {
        panic!("one pending manifest expected: {manifests:?}");
    };
    let manifest: PendingManifest = serde_json::from_slice(manifest).expect("a manifest");
    let named: Vec<(&str, u64, u64)> = manifest
        .files
        .iter()
        .map(|f| (f.key.as_str(), f.records, f.bytes))
        .collect();
    let reported: Vec<(&str, u64, u64)> = report
        .objects
        .iter()
        .filter(|o| o.kind == "curated")
        .map(|o| (o.key.as_str(), o.records, o.bytes))
        .collect();
    assert_eq!(named, reported);
    assert_eq!(parts.len(), reported.len());

    // Each good key exactly once in the curated Parquet, and no other.
    let mut curated: BTreeMap<String, usize> = BTreeMap::new();
    for (object, parquet) in parts {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(parquet.to_vec()))
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("{object}: {e}"));
        for batch in reader {
            let batch = batch.unwrap_or_else(|e| panic!("{object}: {e}"));
            let keys = batch
                .column_by_name(key_field)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .unwrap_or_else(|| panic!("{object}: no string column {key_field}"));
            for i in 0..keys.len() {
                *curated.entry(keys.value(i).to_string()).or_default() += 1;
            }
        }
    }
    let twice: Vec<_> = curated.iter().filter(|(_, n)| **n > 1).take(3).collect();
    assert!(twice.is_empty(), "curated more than once: {twice:?}");
    let expected: BTreeMap<String, usize> = good.into_iter().map(|k| (k, 1)).collect();
    assert_eq!(curated.len(), expected.len());
    assert!(
        curated == expected,
        "the curated keys are not the good ones"
    );
}
