//! The catalog of the embedded default: an Iceberg SQL catalog in a SQLite file under the store
//! root (`<root>/_tables/catalog.db`), its tables in the curated bucket's folder with `file://`
//! paths, so that any Iceberg reader (pyiceberg, Spark, DuckDB) opens them as they are on disk.

use crate::TableError;
use iceberg::io::LocalFsStorageFactory;
use iceberg::{CatalogBuilder, NamespaceIdent};
use iceberg_catalog_sql::{SqlBindStyle, SqlCatalog, SqlCatalogBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::NAMESPACE;

/// The catalog's SQLite file under the store root.
pub fn catalog_file(root: &Path) -> PathBuf {
    root.join("_tables").join("catalog.db")
}

/// The namespace of the curated tables.
pub fn namespace() -> NamespaceIdent {
    NamespaceIdent::new(NAMESPACE.to_string())
}

/// The `file://` location of `dataset`'s table: its folder in the curated bucket, where its
/// data files are.
pub fn table_location(root: &Path, curated_bucket: &str, dataset: &str) -> String {
    format!(
        "file://{}",
        root.join(curated_bucket).join(dataset).display()
    )
}

/// Opens (creating it when missing) the SQL catalog of the store at `root`.
pub async fn open(root: &Path, curated_bucket: &str) -> Result<SqlCatalog, TableError> {
    let file = catalog_file(root);
    let local = |message: String| TableError::Local {
        path: file.display().to_string(),
        message,
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| local(e.to_string()))?;
    }
    let root = std::fs::canonicalize(root).map_err(|e| local(e.to_string()))?;
    sqlx::any::install_default_drivers();
    let warehouse = format!("file://{}", root.join(curated_bucket).display());
    let uri = format!("sqlite://{}?mode=rwc", catalog_file(&root).display());
    let catalog = SqlCatalogBuilder::default()
        .uri(uri)
        .warehouse_location(warehouse)
        .sql_bind_style(SqlBindStyle::QMark)
        .with_storage_factory(Arc::new(LocalFsStorageFactory))
        .load("adx", HashMap::new())
        .await?;
    Ok(catalog)
}
