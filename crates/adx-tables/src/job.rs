//! One run of the committer, the same in the `table-commit` Lambda and in `adx commit`: read the
//! pending manifests; make sure each of their datasets has its table, in step with its latest
//! contract (created, or evolved when the contract gained columns); commit; then remove (or set
//! aside) the manifests done with. A dataset whose table cannot follow its contract (an
//! incompatible change), or whose contract cannot be read, is refused: its manifests stay
//! pending, its files are kept, the other tables go on, and the run reports the refusal (the
//! Lambda then fails, which raises its Errors alarm).
//!
//! The store and the registry are blocking ports (their AWS adapters block on a runtime of
//! their own), so they are called from the caller's thread; only the catalog work runs on
//! `runtime`.

use crate::TableError;
use crate::commit::{CommitReport, commit, read_settled, settle};
use crate::sync::{Synced, sync_table};
use adx_core::{Catalog as Contracts, ObjectStore, SchemaRegistry};
use iceberg::{Catalog, NamespaceIdent};
use std::collections::{BTreeMap, BTreeSet};

/// What one committer run works with.
pub struct CommitJob<'a> {
    /// The store of the curated bucket (pending manifests; the tables' data files).
    pub store: &'a dyn ObjectStore,
    /// The curated bucket.
    pub curated_bucket: &'a str,
    /// Where the data contracts are registered.
    pub registry: &'a dyn SchemaRegistry,
    /// The contracts compiled so far.
    pub contracts: &'a Contracts,
    /// The namespace (Glue database) of the tables.
    pub namespace: NamespaceIdent,
    /// A new table's location, by dataset.
    pub table_location: &'a (dyn Fn(&str) -> String + Sync),
    /// A data file's location, by bucket and key.
    pub file_uri: &'a (dyn Fn(&str, &str) -> String + Sync),
    /// How long before the run a manifest must have been written to be taken
    /// ([`crate::commit::read_settled`]); zero when nothing writes while the run lists.
    pub settle: std::time::Duration,
}

/// What a committer run did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RunReport {
    /// Tables created or evolved in this run, with what was done.
    pub synced: BTreeMap<String, String>,
    /// Tables created in this run (their optimizers are enabled by the caller, where the
    /// catalog has them).
    #[serde(skip)]
    pub created: Vec<String>,
    /// Datasets whose manifests were not committed because their table cannot follow their
    /// contract, or the contract cannot be read: the reason. Their manifests stay pending.
    pub refused: BTreeMap<String, String>,
    /// The commit itself.
    pub commit: CommitReport,
    /// Manifests written too recently for this run (the next one takes them).
    pub unsettled: usize,
}

/// The CloudWatch namespace of the committer's metrics (the handlers' namespace).
pub const NAMESPACE: &str = "AdvertiseX/Ingestion";

impl RunReport {
    /// Records added to the tables in this run.
    pub fn records(&self) -> u64 {
        self.commit.tables.values().map(|t| t.records).sum()
    }

    /// The run's counts as one CloudWatch embedded-metric-format document (dimension
    /// `Function`): what was committed, and what waits, was set aside or refused, on which
    /// the template's alarms are set.
    ///
    /// `level` is the log level the document carries: Lambda's own filter level, so that its
    /// log-level filtering never drops a metric.
    pub fn emf_document(
        &self,
        function: &str,
        timestamp_ms: i64,
        level: &str,
    ) -> serde_json::Value {
        let sum = |f: fn(&crate::commit::TableCommit) -> u64| -> u64 {
            self.commit.tables.values().map(f).sum()
        };
        let metrics = [
            ("RecordsCommitted", sum(|t| t.records)),
            ("FilesCommitted", sum(|t| t.files)),
            ("ManifestsCommitted", sum(|t| t.committed)),
            ("ManifestsAlreadyCommitted", sum(|t| t.already_committed)),
            ("ManifestsRewritten", sum(|t| t.rewritten)),
            ("ManifestsWaiting", self.commit.waiting.len() as u64),
            ("ManifestsSetAside", self.commit.set_aside.len() as u64),
            ("TablesRefused", self.refused.len() as u64),
        ];
        let mut document = serde_json::Map::new();
        document.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": metrics
                        .iter()
                        .map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        document.insert("level".into(), level.into());
        document.insert("Function".into(), function.into());
        for (name, value) in metrics {
            document.insert(name.into(), value.into());
        }
        serde_json::Value::Object(document)
    }
}

impl CommitJob<'_> {
    /// Runs the committer once over `catalog`, whose async work runs on `runtime`. Fails only
    /// on an infrastructure fault (store, catalog); what it did is then undone or harmless
    /// (a commit is atomic; a manifest is removed only after its commit), and the next run
    /// picks everything up.
    pub fn run(
        &self,
        runtime: &tokio::runtime::Handle,
        catalog: &dyn Catalog,
    ) -> Result<RunReport, TableError> {
        let mut report = RunReport::default();
        let (pending, unsettled) = read_settled(self.store, self.curated_bucket, self.settle)?;
        report.unsettled = unsettled;
        if pending.is_empty() {
            return Ok(report);
        }
        let names: BTreeSet<String> = pending
            .iter()
            .filter_map(|p| p.manifest.as_ref().ok().map(|m| m.dataset.clone()))
            .collect();
        let mut contracts = Vec::new();
        for name in names {
            match self.contracts.latest(self.registry, &name) {
                Ok(Some(dataset)) => contracts.push(dataset),
                Ok(None) => {
                    report
                        .refused
                        .insert(name, "no contract of that name in the registry".into());
                }
                Err(e) => {
                    report
                        .refused
                        .insert(name, format!("its contract cannot be read: {e}"));
                }
            }
        }
        let pending: Vec<_> = pending
            .into_iter()
            .filter(|p| match &p.manifest {
                Ok(m) => !report.refused.contains_key(&m.dataset),
                Err(_) => true,
            })
            .collect();
        let outcome: Result<(), TableError> = runtime.block_on(async {
            let mut ready = Vec::new();
            for dataset in &contracts {
                let location = (self.table_location)(&dataset.name);
                match sync_table(catalog, &self.namespace, dataset, location).await {
                    Ok(Synced::Unchanged) => ready.push(dataset.name.clone()),
                    Ok(Synced::Created) => {
                        report.synced.insert(dataset.name.clone(), "created".into());
                        report.created.push(dataset.name.clone());
                        ready.push(dataset.name.clone());
                    }
                    Ok(Synced::Evolved(n)) => {
                        report
                            .synced
                            .insert(dataset.name.clone(), format!("evolved: {n} new columns"));
                        ready.push(dataset.name.clone());
                    }
                    Err(TableError::SchemaMismatch { table, detail }) => {
                        tracing::error!(%table, %detail, "the table cannot follow its contract: its commits stop");
                        report.refused.insert(dataset.name.clone(), detail);
                    }
                    Err(e) => return Err(e),
                }
            }
            let pending = pending
                .into_iter()
                .filter(|p| match &p.manifest {
                    Ok(m) => ready.contains(&m.dataset),
                    Err(_) => true,
                })
                .collect();
            report.commit = commit(
                catalog,
                &self.namespace,
                self.store,
                pending,
                self.file_uri,
            )
            .await?;
            Ok(())
        });
        outcome?;
        settle(self.store, self.curated_bucket, &report.commit)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::TableCommit;

    #[test]
    fn the_metrics_document_carries_every_count_under_its_definition() {
        let mut report = RunReport::default();
        report.commit.tables.insert(
            "clicks".into(),
            TableCommit {
                committed: 2,
                already_committed: 1,
                files: 3,
                records: 40,
                rewritten: 1,
            },
        );
        report
            .commit
            .waiting
            .insert("_pending/clicks/a.json".into(), "why".into());
        report.refused.insert("bids".into(), "why".into());
        let doc = report.emf_document("adx-dev-table-commit", 7, "WARN");
        let defined: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &defined {
            assert!(doc[*name].is_u64(), "{name} has a value");
        }
        assert_eq!(defined.len(), 8);
        assert_eq!(doc["RecordsCommitted"], 40);
        assert_eq!(doc["ManifestsRewritten"], 1);
        assert_eq!(doc["ManifestsWaiting"], 1);
        assert_eq!(doc["TablesRefused"], 1);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(doc["Function"], "adx-dev-table-commit");
        assert_eq!(doc["level"], "WARN");
    }
}
