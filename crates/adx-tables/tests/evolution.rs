//! Schema evolution on the local SQL catalog: the contract of click_conversions gains an
//! optional field (a BACKWARD change, the next column id); `sync` adds the column to the table
//! under the contract's id; files written before read it as null, files written after carry
//! it; files of the new version written before the table is evolved wait, pending, until it
//! is. A change the table cannot follow (a new required field, an id used twice) is refused
//! and leaves the table as it was.

use adx_core::{
    CachedRegistry, Catalog as Datasets, Dataset, ObjectSource, Pin, Ports, SchemaRegistry,
    WriterLimits, ingest_object,
};
use adx_local::{LocalSchemaFolder, LocalStore};
use adx_tables::local::{namespace, open, table_location};
use adx_tables::sync::{Synced, sync_table};
use adx_tables::{Catalog, TableIdent};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const V1: &str = include_str!("../../../schemas/click_conversions.avsc");
mod common;

use adx_tables::commit::{commit, read_pending, settle};
use common::{ARRIVAL_MS, commit_all, ingest_config};

/// The contract with one more field after `currency`: `text` is its JSON.
fn with_field(field: &str) -> String {
    let anchor = r#"{"name": "currency""#;
    let at = V1.find(anchor).expect("the currency field");
    let end = at + V1[at..].find('}').expect("its end") + 1;
    format!("{}, {field}{}", &V1[..end], &V1[end..])
}

fn dataset(dir: &Path) -> Arc<Dataset> {
    let registry = CachedRegistry::new(LocalSchemaFolder::new(dir), Duration::from_secs(0));
    Datasets::new()
        .latest(&registry as &dyn SchemaRegistry, "click_conversions")
        .unwrap()
        .unwrap()
}

/// Ingests a CSV of two clicks (`header`, `rows`) as landing object `name`, and commits it.
async fn ingest_and_commit(
    root: &Path,
    schemas: &Path,
    catalog: &dyn Catalog,
    name: &str,
    csv: &str,
) {
    ingest(root, schemas, name, csv);
    commit_all(root, &LocalStore::new(root), catalog).await;
}

/// Ingests a CSV of two clicks as landing object `name` (nothing committed).
fn ingest(root: &Path, schemas: &Path, name: &str, csv: &str) {
    let store = LocalStore::new(root);
    let registry = CachedRegistry::new(LocalSchemaFolder::new(schemas), Duration::from_secs(0));
    let datasets = Datasets::new();
    let ports = Ports {
        store: &store,
        registry: &registry as &dyn SchemaRegistry,
        catalog: &datasets,
    };
    let key = format!("click_conversions/{name}.csv");
    let path = root.join("landing").join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, csv).unwrap();
    let source = ObjectSource {
        bucket: "landing".into(),
        key,
        version: Some("v1".into()),
        pin: Pin::Latest,
        arrival_ms: ARRIVAL_MS,
        size: Some(csv.len() as u64),
    };
    let config = ingest_config(WriterLimits::default());
    let (_, report) = ingest_object(ports, &config, &source).unwrap();
    assert_eq!(report.curated, 2, "{report:?}");
}

/// `(event_id, channel)` of every row of the table.
async fn rows(catalog: &dyn Catalog) -> Vec<(String, Option<String>)> {
    common::rows(catalog, "click_conversions", &["event_id", "channel"])
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone()))
        .collect()
}

const HEADER: &str = "event_id,event_type,event_time,user_id,campaign_id,impression_id,click_id,conversion_type,revenue_micros,currency";

#[tokio::test(flavor = "multi_thread")]
async fn a_new_optional_field_becomes_a_column_that_older_files_read_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let schemas = root.join("schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    let contract = schemas.join("click_conversions.avsc");
    std::fs::write(&contract, V1).unwrap();
    let catalog = open(&root, "curated").await.unwrap();
    let location = table_location(&root, "curated", "click_conversions");

    // v1: the table, and a file of two clicks.
    let v1 = dataset(&schemas);
    let outcome = sync_table(&catalog, &namespace(), &v1, location.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Synced::Created);
    let t = "2026-11-28T05:59:00Z";
    let old = format!("{HEADER}\ne-1,CLICK,{t},,c,,,,,\ne-2,CLICK,{t},,c,,,,,\n");
    ingest_and_commit(&root, &schemas, &catalog, "old", &old).await;

    // v2: a new optional field, the next id (click_conversions has ids up to 15, lineage
    // included).
    std::fs::write(
        &contract,
        with_field(
            r#"{"name": "channel", "field-id": 16, "type": ["null", "string"], "default": null}"#,
        ),
    )
    .unwrap();
    // Files of v2 before the table is evolved: they wait, pending, and the table is unchanged.
    let new = format!("{HEADER},channel\ne-3,CLICK,{t},,c,,,,,,search\ne-4,CLICK,{t},,c,,,,,,\n");
    ingest(&root, &schemas, "new", &new);
    let store = LocalStore::new(&root);
    let file_uri = |b: &str, k: &str| format!("file://{}", root.join(b).join(k).display());
    let waiting = commit(
        &catalog,
        &namespace(),
        &store,
        read_pending(&store, "curated").unwrap(),
        &file_uri,
    )
    .await
    .unwrap();
    settle(&store, "curated", &waiting).unwrap();
    assert_eq!(waiting.waiting.len(), 1, "{waiting:?}");
    assert!(waiting.waiting.values().all(|r| r.contains("column id 16")));
    assert!(waiting.set_aside.is_empty() && waiting.done.is_empty());
    assert_eq!(
        read_pending(&store, "curated").unwrap().len(),
        1,
        "still pending"
    );
    assert_eq!(
        common::table_keys(&catalog, "click_conversions", "event_id")
            .await
            .len(),
        2
    );

    let v2 = dataset(&schemas);
    let outcome = sync_table(&catalog, &namespace(), &v2, location.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Synced::Evolved(1));
    let table = catalog
        .load_table(&TableIdent::new(namespace(), "click_conversions".into()))
        .await
        .unwrap();
    let column = table
        .metadata()
        .current_schema()
        .field_by_name("channel")
        .unwrap();
    assert_eq!((column.id, column.required), (16, false));
    // Evolved: the next run takes them.
    commit_all(&root, &store, &catalog).await;
    assert_eq!(
        rows(&catalog).await,
        vec![
            ("e-1".to_string(), None),
            ("e-2".to_string(), None),
            ("e-3".to_string(), Some("search".to_string())),
            ("e-4".to_string(), None),
        ]
    );
    // Synced again: nothing to do.
    let outcome = sync_table(&catalog, &namespace(), &v2, location.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Synced::Unchanged);

    // Changes the table cannot follow: refused, the table as it was.
    for (field, reason) in [
        (
            r#"{"name": "medium", "field-id": 17, "type": "string", "default": "web"}"#,
            "required",
        ),
        (
            r#"{"name": "medium", "field-id": 3, "type": ["null", "string"], "default": null}"#,
            "duplicate 'field.id' 3",
        ),
    ] {
        std::fs::write(&contract, with_field(field)).unwrap();
        let bad = dataset(&schemas);
        let e = sync_table(&catalog, &namespace(), &bad, location.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(reason), "{e}");
    }
    let table = catalog
        .load_table(&TableIdent::new(namespace(), "click_conversions".into()))
        .await
        .unwrap();
    assert_eq!(table.metadata().current_schema().highest_field_id(), 16);
}
