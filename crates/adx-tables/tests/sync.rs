//! The tables of the repo's datasets in a local SQL catalog: created from the contracts with
//! their column ids kept (Iceberg assigns fresh ids when it creates a table: the contracts'
//! ids are the ones it assigns), partitioned by the event time's hour; a second sync changes
//! nothing; a table whose schema disagrees with its contract is refused with the reason.

use adx_core::{CachedRegistry, Catalog as Datasets, Dataset};
use adx_local::LocalSchemaFolder;
use adx_tables::local::{namespace, open, table_location};
use adx_tables::schema::{HOUR_PARTITION, table_schema};
use adx_tables::sync::{Synced, check_schema, sync_table};
use adx_tables::{Catalog, TableIdent};
use iceberg::spec::Transform;
use std::sync::Arc;
use std::time::Duration;

const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");
const DATASETS: [&str; 3] = ["ad_impressions", "click_conversions", "bid_requests"];

fn dataset(name: &str) -> Arc<Dataset> {
    let registry = CachedRegistry::new(LocalSchemaFolder::new(SCHEMA_DIR), Duration::from_secs(60));
    Datasets::new()
        .latest(&registry, name)
        .unwrap()
        .unwrap_or_else(|| panic!("schemas/{name}.avsc"))
}

#[tokio::test]
async fn tables_are_made_from_the_contracts_with_their_column_ids() {
    let root = tempfile::tempdir().unwrap();
    let catalog = open(root.path(), "curated").await.unwrap();
    for name in DATASETS {
        let ds = dataset(name);
        let location = table_location(root.path(), "curated", name);
        let outcome = sync_table(&catalog, &namespace(), &ds, location.clone())
            .await
            .unwrap();
        assert_eq!(outcome, Synced::Created, "{name}");
        let table = catalog
            .load_table(&TableIdent::new(namespace(), name.to_string()))
            .await
            .unwrap();
        let metadata = table.metadata();
        assert_eq!(metadata.location(), location);
        // Every column, nested ones included, under the contract's id.
        let contract = table_schema(&ds).unwrap();
        let current = metadata.current_schema();
        assert_eq!(
            current.field_id_to_name_map(),
            contract.field_id_to_name_map(),
            "{name}"
        );
        assert_eq!(current.highest_field_id(), contract.highest_field_id());
        // Partitioned by the hour of the event time.
        let spec = metadata.default_partition_spec();
        assert_eq!(spec.fields().len(), 1);
        let field = &spec.fields()[0];
        assert_eq!(field.name, HOUR_PARTITION);
        assert_eq!(field.transform, Transform::Hour);
        let event_time = current.field_by_id(field.source_id).unwrap();
        assert_eq!(event_time.name, "event_time");
    }
    // Once made, a sync leaves them as they are.
    for name in DATASETS {
        let ds = dataset(name);
        let location = table_location(root.path(), "curated", name);
        let outcome = sync_table(&catalog, &namespace(), &ds, location)
            .await
            .unwrap();
        assert_eq!(outcome, Synced::Unchanged, "{name}");
    }
    assert!(root.path().join("_tables/catalog.db").is_file());
}

#[tokio::test]
async fn a_table_that_disagrees_with_its_contract_is_refused() {
    let ident = TableIdent::new(namespace(), "bid_requests".to_string());
    let bids = table_schema(&dataset("bid_requests")).unwrap();
    let clicks = table_schema(&dataset("click_conversions")).unwrap();
    // The same schema passes; another dataset's fails on the first column that differs.
    check_schema(&ident, &bids, &bids).unwrap();
    let e = check_schema(&ident, &clicks, &bids)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("id 1") && e.contains("event_id") && e.contains("request_id"),
        "{e}"
    );
}
