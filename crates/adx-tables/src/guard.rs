//! The committer's guard against committing on a stale judgement.
//!
//! The committer decides which manifests are new from the record a table holds (its `adx.`
//! properties). iceberg-rust's `Transaction::commit` reloads the table before it commits and,
//! when another writer committed in between, re-applies the transaction's actions to the new
//! state: right for a compaction or a snapshot expiry, which leave that record alone, wrong after
//! another committer, whose commit changed it (the record would go back, and a retried batch
//! could be committed twice). [`Guarded`] hands the transaction the table through a catalog that
//! refuses to go on when the reloaded table's record differs from the one judged; the committer
//! then judges again on the new state.

use iceberg::table::Table;
use iceberg::{
    Catalog, Error, ErrorKind, Namespace, NamespaceIdent, Result, TableCommit, TableCreation,
    TableIdent,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

/// The prefix of the table properties that record what the table holds.
pub const RECORD_PREFIX: &str = "adx.";

/// What a table's properties say it holds: its `adx.` properties.
pub fn record_of(properties: &HashMap<String, String>) -> BTreeMap<String, String> {
    properties
        .iter()
        .filter(|(k, _)| k.starts_with(RECORD_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A catalog that loads `table` only while its record is still `judged`.
#[derive(Debug)]
pub struct Guarded<'a> {
    inner: &'a dyn Catalog,
    table: TableIdent,
    judged: BTreeMap<String, String>,
    changed: AtomicBool,
}

impl<'a> Guarded<'a> {
    /// Guards `table` of `inner`, judged on `judged` (its metadata when the judgement was made).
    pub fn new(inner: &'a dyn Catalog, judged: &Table) -> Guarded<'a> {
        Guarded {
            inner,
            table: judged.identifier().clone(),
            judged: record_of(judged.metadata().properties()),
            changed: AtomicBool::new(false),
        }
    }

    /// Whether the commit was refused because the table's record had changed.
    pub fn changed(&self) -> bool {
        self.changed.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Catalog for Guarded<'_> {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> Result<Vec<NamespaceIdent>> {
        self.inner.list_namespaces(parent).await
    }

    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace> {
        self.inner.create_namespace(namespace, properties).await
    }

    async fn get_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace> {
        self.inner.get_namespace(namespace).await
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        self.inner.namespace_exists(namespace).await
    }

    async fn update_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<()> {
        self.inner.update_namespace(namespace, properties).await
    }

    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> Result<()> {
        self.inner.drop_namespace(namespace).await
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }

    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<Table> {
        self.inner.create_table(namespace, creation).await
    }

    async fn load_table(&self, table: &TableIdent) -> Result<Table> {
        let loaded = self.inner.load_table(table).await?;
        if *table == self.table && record_of(loaded.metadata().properties()) != self.judged {
            self.changed.store(true, Ordering::SeqCst);
            return Err(Error::new(
                ErrorKind::DataInvalid,
                format!(
                    "table {table}: another committer changed what it holds since its manifests \
                     were judged"
                ),
            )
            .with_retryable(false));
        }
        Ok(loaded)
    }

    async fn drop_table(&self, table: &TableIdent) -> Result<()> {
        self.inner.drop_table(table).await
    }

    async fn purge_table(&self, table: &TableIdent) -> Result<()> {
        self.inner.purge_table(table).await
    }

    async fn table_exists(&self, table: &TableIdent) -> Result<bool> {
        self.inner.table_exists(table).await
    }

    async fn rename_table(&self, src: &TableIdent, dest: &TableIdent) -> Result<()> {
        self.inner.rename_table(src, dest).await
    }

    async fn register_table(&self, table: &TableIdent, metadata_location: String) -> Result<Table> {
        self.inner.register_table(table, metadata_location).await
    }

    async fn update_table(&self, commit: TableCommit) -> Result<Table> {
        self.inner.update_table(commit).await
    }
}
