//! Pending data files committed to the tables, exactly once, on the embedded default: landing
//! objects of every dataset are ingested by the core (which writes Parquet and one pending
//! manifest per dataset and object), the committer adds the files to the tables, and a reader
//! of the tables (iceberg-rust's own scan) sees every good record of the generator exactly
//! once. A retried invocation writes its manifest again: the next commit drops it, and the
//! tables do not change.

use adx_core::{ObjectSource, WriterLimits, ingest_object};
use adx_gen::{Compression, Dataset as GenDataset, Expected, Format, GenConfig, RecordValue};
use adx_local::LocalStore;
use adx_tables::commit::{commit, read_pending, settle};
use adx_tables::local::{namespace, open};
use adx_tables::{Catalog, TableIdent};
use iceberg::transaction::ApplyTransactionAction;
use std::collections::BTreeMap;
use std::path::Path;

mod common;

use common::{ARRIVAL_MS, Contracts, SCHEMA_DIR, ingest_config, landing_source, table_keys};

/// Writes a generated object of `dataset` into the landing bucket; its source and good keys.
fn landing_object(root: &Path, dataset: GenDataset, format: Format) -> (ObjectSource, Vec<String>) {
    let cfg = GenConfig {
        seed: 5,
        records: 2_000,
        bad_share: 0.05,
        duplicate_share: 0.02,
        arrival_ms: ARRIVAL_MS,
    };
    let schema = std::fs::read_to_string(format!("{SCHEMA_DIR}/{}.avsc", dataset.name())).unwrap();
    let mut bytes = Vec::new();
    adx_gen::encode(
        dataset,
        format,
        Compression::None,
        &cfg,
        &schema,
        &mut bytes,
    )
    .unwrap();
    let key = format!("{}/part-1.{}", dataset.name(), format.extension());
    let path = root.join("landing").join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let good = adx_gen::records_for(dataset, &format, &cfg)
        .filter_map(|r| match (r.expected, r.value) {
            (Expected::Good, RecordValue::Json(v)) => {
                Some(v[dataset.key_field()].as_str().unwrap().to_string())
            }
            _ => None,
        })
        .collect();
    (landing_source(&key, bytes.len()), good)
}

#[tokio::test(flavor = "multi_thread")]
async fn committed_files_are_in_the_tables_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let store = LocalStore::new(&root);
    let contracts = Contracts::of(SCHEMA_DIR);
    let ports = contracts.ports(&store);
    let catalog = open(&root, "curated").await.unwrap();
    let cases = [
        (GenDataset::ClickConversions, Format::Csv),
        (GenDataset::AdImpressions, Format::JsonLines),
        (
            GenDataset::BidRequests,
            Format::Avro(adx_gen::AvroCodec::Null),
        ),
    ];
    let mut expected = Vec::new();
    for (dataset, format) in cases {
        contracts.sync(&catalog, &root, &[dataset.name()]).await;
        let (source, good) = landing_object(&root, dataset, format);
        ingest_object(ports, &ingest_config(WriterLimits::default()), &source).unwrap();
        expected.push((dataset, source, good));
    }
    let file_uri =
        |bucket: &str, key: &str| format!("file://{}", root.join(bucket).join(key).display());

    let pending = read_pending(&store, "curated").unwrap();
    assert_eq!(pending.len(), 3, "one manifest per dataset and object");
    let report = commit(&catalog, &namespace(), &store, pending, &file_uri)
        .await
        .unwrap();
    assert!(report.set_aside.is_empty(), "{:?}", report.set_aside);
    settle(&store, "curated", &report).unwrap();
    assert!(read_pending(&store, "curated").unwrap().is_empty());
    for (dataset, _, good) in &expected {
        let keys = table_keys(&catalog, dataset.name(), dataset.key_field()).await;
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for k in good {
            want.insert(k.clone(), 1);
        }
        assert_eq!(
            keys,
            want,
            "{}: every good record exactly once",
            dataset.name()
        );
        assert_eq!(report.tables[dataset.name()].records, good.len() as u64);
    }

    // A retried invocation (an S3 event delivered twice) writes its manifest again.
    let (dataset, source, good) = &expected[0];
    ingest_object(ports, &ingest_config(WriterLimits::default()), source).unwrap();
    let pending = read_pending(&store, "curated").unwrap();
    assert_eq!(pending.len(), 1);
    let again = commit(&catalog, &namespace(), &store, pending, &file_uri)
        .await
        .unwrap();
    settle(&store, "curated", &again).unwrap();
    assert_eq!(again.tables[dataset.name()].already_committed, 1);
    assert_eq!(again.tables[dataset.name()].committed, 0);
    assert_eq!(
        table_keys(&catalog, dataset.name(), dataset.key_field())
            .await
            .len(),
        good.len(),
        "the table did not change"
    );
    let table = catalog
        .load_table(&TableIdent::new(namespace(), dataset.name().to_string()))
        .await
        .unwrap();
    assert_eq!(
        table.metadata().snapshots().count(),
        1,
        "no second snapshot"
    );
    // Nothing left to do: a commit of nothing changes nothing.
    let nothing = commit(&catalog, &namespace(), &store, Vec::new(), &file_uri)
        .await
        .unwrap();
    assert!(nothing.tables.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_committers_at_once_commit_each_file_once() {
    // Two committers (the scheduled Lambda and someone's `adx commit`) read the same pending
    // manifests and commit at the same moment, each through its own catalog client. The one
    // that commits second finds its base stale; rebased, its fast append holds files the table
    // already has, which Iceberg refuses: it fails, changing nothing, and a later run drops the
    // manifests as already committed.
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let store = LocalStore::new(&root);
    let contracts = Contracts::of(SCHEMA_DIR);
    let ports = contracts.ports(&store);
    let first = open(&root, "curated").await.unwrap();
    let second = open(&root, "curated").await.unwrap();
    let (dataset, format) = (GenDataset::ClickConversions, Format::Csv);
    contracts.sync(&first, &root, &[dataset.name()]).await;
    let (source, good) = landing_object(&root, dataset, format);
    ingest_object(ports, &ingest_config(WriterLimits::default()), &source).unwrap();
    let file_uri =
        |bucket: &str, key: &str| format!("file://{}", root.join(bucket).join(key).display());

    let ns = namespace();
    let (a, b) = tokio::join!(
        commit(
            &first,
            &ns,
            &store,
            read_pending(&store, "curated").unwrap(),
            &file_uri
        ),
        commit(
            &second,
            &ns,
            &store,
            read_pending(&store, "curated").unwrap(),
            &file_uri
        ),
    );
    let won: Vec<_> = [&a, &b].into_iter().filter(|r| r.is_ok()).collect();
    assert!(!won.is_empty(), "one of them commits: {a:?} {b:?}");
    let table = first
        .load_table(&TableIdent::new(namespace(), dataset.name().to_string()))
        .await
        .unwrap();
    assert_eq!(
        table.metadata().snapshots().count(),
        1,
        "one snapshot, whoever won: {a:?} {b:?}"
    );
    if let Some(Ok(report)) = won.first() {
        settle(&store, "curated", report).unwrap();
    }
    // The next run: nothing new; every record once.
    let next = commit(
        &first,
        &namespace(),
        &store,
        read_pending(&store, "curated").unwrap(),
        &file_uri,
    )
    .await
    .unwrap();
    settle(&store, "curated", &next).unwrap();
    assert!(read_pending(&store, "curated").unwrap().is_empty());
    let keys = table_keys(&first, dataset.name(), dataset.key_field()).await;
    assert_eq!(keys.len(), good.len());
    assert!(keys.values().all(|n| *n == 1), "every record once");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_table_holds_survives_snapshot_expiry() {
    // Snapshot retention (the Glue optimizer, or Athena's VACUUM) expires the snapshot that
    // added an object's files; the record of what the table holds is in table properties,
    // which it leaves alone, so a redelivery of that object is still dropped.
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let store = LocalStore::new(&root);
    let contracts = Contracts::of(SCHEMA_DIR);
    let ports = contracts.ports(&store);
    let catalog = open(&root, "curated").await.unwrap();
    contracts
        .sync(&catalog, &root, &["click_conversions"])
        .await;
    let config = ingest_config(WriterLimits::default());
    let (clicks, good) = landing_object(&root, GenDataset::ClickConversions, Format::Csv);
    ingest_object(ports, &config, &clicks).unwrap();
    common::commit_all(&root, &store, &catalog).await;
    // A second snapshot of the clicks table (another object), then expiry of the first.
    let (more, _) = landing_object(&root, GenDataset::ClickConversions, Format::JsonLines);
    ingest_object(ports, &config, &more).unwrap();
    let ident = TableIdent::new(namespace(), "click_conversions".to_string());
    let first_snapshot = catalog
        .load_table(&ident)
        .await
        .unwrap()
        .metadata()
        .current_snapshot_id()
        .unwrap();
    common::commit_all(&root, &store, &catalog).await;
    let table = catalog.load_table(&ident).await.unwrap();
    let before = table_keys(&catalog, "click_conversions", "event_id").await;
    let tx = iceberg::transaction::Transaction::new(&table);
    let tx = tx
        .expire_snapshots()
        .expire_snapshot_ids([first_snapshot])
        .apply(tx)
        .unwrap();
    let table = tx.commit(&catalog).await.unwrap();
    assert!(
        table.metadata().snapshot_by_id(first_snapshot).is_none(),
        "the snapshot that added the clicks is gone"
    );
    // The table's record of its objects: 16 characters per object.
    let property = table.metadata().properties()[adx_tables::ledger::OBJECTS_PROPERTY].clone();
    let ledger = adx_tables::ledger::ObjectLedger::from_property(
        Some(&property),
        adx_tables::ledger::today(),
    )
    .unwrap();
    assert_eq!(ledger.len(), 2, "{property}");
    assert!(ledger.contains(&adx_tables::ledger::object_id(
        &clicks.bucket,
        &clicks.key,
        clicks.version.as_deref()
    )));
    assert!(property.len() < 64, "{property}");
    // The clicks object is delivered again: dropped, the table unchanged.
    ingest_object(ports, &config, &clicks).unwrap();
    let again = common::commit_all(&root, &store, &catalog).await;
    assert_eq!(again.tables["click_conversions"].already_committed, 1);
    assert_eq!(again.tables["click_conversions"].committed, 0);
    let keys = table_keys(&catalog, "click_conversions", "event_id").await;
    assert_eq!(keys, before, "the table is unchanged");
    assert_eq!(keys.len(), good.len());
    assert!(keys.values().all(|n| *n == 2), "once from each object");
}

#[test]
fn a_run_takes_only_the_manifests_written_before_its_listing_settled() {
    // A manifest written while the listing runs may be missed while its successor is seen; so
    // a run takes only those written `settle` before it, the others wait for the next run.
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let store = LocalStore::new(&root);
    let pending = root.join("curated/_pending/click_conversions");
    std::fs::create_dir_all(&pending).unwrap();
    for name in ["old", "new"] {
        std::fs::write(pending.join(format!("{name}.json")), b"{}").unwrap();
    }
    let a_minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(pending.join("old.json"))
        .unwrap()
        .set_modified(a_minute_ago)
        .unwrap();
    let keys = |p: &[adx_tables::commit::Pending]| -> Vec<String> {
        p.iter().map(|p| p.key.clone()).collect()
    };
    let (taken, waiting) =
        adx_tables::commit::read_settled(&store, "curated", std::time::Duration::from_secs(15))
            .unwrap();
    assert_eq!(keys(&taken), ["_pending/click_conversions/old.json"]);
    assert_eq!(waiting, 1);
    let (taken, waiting) =
        adx_tables::commit::read_settled(&store, "curated", std::time::Duration::ZERO).unwrap();
    assert_eq!(taken.len(), 2, "no settling: everything");
    assert_eq!(waiting, 0);
}
