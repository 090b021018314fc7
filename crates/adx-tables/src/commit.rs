//! The committer: gathers the pending manifests that the handlers wrote
//! (`adx_core::PendingManifest`) and adds their data files to each dataset's table, in one
//! fast-append snapshot per table and run, exactly once. What a table holds is recorded in the
//! same transaction as the append, in table properties (which compaction and snapshot expiry
//! leave alone): per Kafka topic-partition the last committed offset
//! (`adx.kafka.<topic>.<partition>`), and the identities of the last committed landing objects
//! (`adx.objects`, see [`crate::ledger`]). A manifest already committed is
//! dropped; one whose offsets partly overlap what is committed has its files rewritten without
//! those rows; one that cannot be read or rewritten is set aside under `_pending_set_aside/` with
//! the reason and never blocks the others; one whose files hold
//! columns the table does not have yet waits, pending, until the table is evolved.

use crate::TableError;
use crate::guard::Guarded;
use crate::ledger::{OBJECTS_PROPERTY, ObjectLedger, object_id};
use adx_core::{
    ObjectStore, PENDING_PREFIX, PendingFile, PendingManifest, PendingSource, RewriteError,
    Watermarks, rewrite_without_committed,
};
use base64::Engine;
use iceberg::spec::{
    DataContentType, DataFile, DataFileBuilder, DataFileFormat, Datum, Literal, Schema, Struct,
    Type,
};
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::{Catalog, NamespaceIdent, TableIdent};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

/// Where manifests that cannot be committed are moved, with the reason.
pub const SET_ASIDE_PREFIX: &str = "_pending_set_aside/";

/// The table property of a topic-partition's last committed offset.
pub fn watermark_property(topic: &str, partition: i32) -> String {
    format!("adx.kafka.{topic}.{partition}")
}

/// A pending manifest as read from the store.
pub struct Pending {
    /// Its key in the curated bucket.
    pub key: String,
    /// The manifest, or why it cannot be read.
    pub manifest: Result<PendingManifest, String>,
}

/// What a commit run did, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCommit {
    /// Manifests whose files were added.
    pub committed: u64,
    /// Manifests already in the table (dropped).
    pub already_committed: u64,
    /// Data files added.
    pub files: u64,
    /// Records added.
    pub records: u64,
    /// Manifests of retried batches whose files were rewritten without the rows the table
    /// already held.
    pub rewritten: u64,
}

/// What a commit run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitReport {
    /// Per table.
    pub tables: BTreeMap<String, TableCommit>,
    /// Manifests set aside, with the reason.
    pub set_aside: BTreeMap<String, String>,
    /// Manifests left pending, with the reason: their files hold columns the table does not
    /// have yet (their contract changed; `adx tables sync` evolves the table, and the next
    /// run takes them). Their table's other manifests go on.
    pub waiting: BTreeMap<String, String>,
    /// Manifests to remove now that their table holds their files.
    #[serde(skip)]
    pub done: Vec<String>,
}

/// Reads every pending manifest of the curated bucket, in key order.
pub fn read_pending(store: &dyn ObjectStore, bucket: &str) -> Result<Vec<Pending>, TableError> {
    Ok(read_settled(store, bucket, std::time::Duration::ZERO)?.0)
}

/// Reads the pending manifests of the curated bucket written at least `settle` before this
/// call, in key order, and says how many newer ones wait for the next run.
///
/// Why: the handlers of one Kafka partition write their batches' manifests one after the
/// other, and a later batch must never be committed without the earlier one (its offsets would
/// then look committed). A listing of many pages is no snapshot: a manifest written while it
/// runs can be missed by an early page while its successor, written just after, is seen by a
/// later one. A manifest written before the listing began is seen by every page, and so is its
/// predecessor, written earlier still; so only those are taken. `settle` covers the skew
/// between this clock and the store's, and the time a manifest's write takes (S3's
/// `LastModified` is when the PUT began, or when a multipart upload was started; a manifest is a
/// few kilobytes). With a `settle` above zero, a manifest whose store cannot tell when it was
/// written is not taken.
pub fn read_settled(
    store: &dyn ObjectStore,
    bucket: &str,
    settle: std::time::Duration,
) -> Result<(Vec<Pending>, usize), TableError> {
    let store_err = |e: adx_core::StoreError| TableError::Store(e.to_string());
    let cutoff = std::time::SystemTime::now()
        .checked_sub(settle)
        .unwrap_or(std::time::UNIX_EPOCH);
    let listed = store
        .list_written(bucket, PENDING_PREFIX)
        .map_err(store_err)?;
    let total = listed.len();
    let mut keys: Vec<String> = listed
        .into_iter()
        .filter(|(_, written)| settle.is_zero() || written.is_some_and(|w| w < cutoff))
        .map(|(key, _)| key)
        .collect();
    let unsettled = total - keys.len();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let mut bytes = Vec::new();
        store
            .get(bucket, &key)
            .map_err(store_err)?
            .read_to_end(&mut bytes)
            .map_err(|e| TableError::Store(format!("reading {bucket}/{key}: {e}")))?;
        let manifest = serde_json::from_slice(&bytes).map_err(|e| format!("not a manifest: {e}"));
        out.push(Pending { key, manifest });
    }
    Ok((out, unsettled))
}

/// Commits `pending` to the tables of `catalog` in `namespace`: one fast append per table, with
/// the record of what it holds updated in the same transaction. `file_uri` turns a (bucket,
/// key) into the data file's location. Manifests of a dataset without a table are left pending.
/// A retried batch whose offsets overlap what a table holds has its files rewritten, through
/// `store`, without the rows already in (`adx_core::rewrite_without_committed`).
pub async fn commit(
    catalog: &dyn Catalog,
    namespace: &NamespaceIdent,
    store: &dyn ObjectStore,
    pending: Vec<Pending>,
    file_uri: &(dyn Fn(&str, &str) -> String + Sync),
) -> Result<CommitReport, TableError> {
    let mut report = CommitReport::default();
    let mut by_table: BTreeMap<String, Vec<(String, PendingManifest)>> = BTreeMap::new();
    for p in pending {
        match p.manifest {
            Ok(m) => by_table
                .entry(m.dataset.clone())
                .or_default()
                .push((p.key, m)),
            Err(reason) => {
                report.set_aside.insert(p.key, reason);
            }
        }
    }
    for (dataset, manifests) in by_table {
        let ident = TableIdent::new(namespace.clone(), dataset.clone());
        if !catalog.table_exists(&ident).await? {
            tracing::warn!(%dataset, "no table: its pending manifests wait (run `adx tables sync`)");
            continue;
        }
        let mut judgements = 0;
        let plan = loop {
            judgements += 1;
            let table = catalog.load_table(&ident).await?;
            let plan = plan_table(&table, store, manifests.clone(), file_uri)?;
            if plan.files.is_empty() {
                break Some(plan);
            }
            // Committed through the guard: a commit by another writer in between is retried by
            // iceberg-rust on the new state, unless it changed what the table holds; then the
            // manifests are judged again (the files rewritten on the old judgement, if any, are
            // never committed and go with orphan-file deletion).
            let guarded = Guarded::new(catalog, &table);
            match plan.transaction(&table)?.commit(&guarded).await {
                Ok(_) => break Some(plan),
                Err(_) if guarded.changed() && judgements < MAX_JUDGEMENTS => {
                    tracing::info!(%dataset, judgements, "another committer committed first: judging again");
                }
                Err(e) if guarded.changed() => {
                    // The table's manifests wait for the next run; the other tables go on.
                    tracing::warn!(%dataset, judgements, error = %e, "other committers kept committing first");
                    for (key, _) in &manifests {
                        report.waiting.insert(
                            key.clone(),
                            format!(
                                "other committers committed to its table first, {judgements} \
                                 times: the next run takes it"
                            ),
                        );
                    }
                    break None;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let Some(plan) = plan else { continue };
        report.set_aside.extend(plan.set_aside);
        report.waiting.extend(plan.waiting);
        report.done.extend(plan.done);
        report.tables.insert(dataset, plan.commit);
    }
    Ok(report)
}

/// How many times the committer judges a table's manifests in one run when other committers
/// keep committing first.
pub const MAX_JUDGEMENTS: u32 = 4;

/// What one table's manifests come to, judged on one state of the table.
struct TablePlan {
    commit: TableCommit,
    /// Data files to add.
    files: Vec<DataFile>,
    /// The table's record, updated with what the files add.
    properties: Vec<(String, String)>,
    done: Vec<String>,
    set_aside: BTreeMap<String, String>,
    waiting: BTreeMap<String, String>,
}

impl TablePlan {
    /// The table's transaction: one fast append and its record, together.
    fn transaction(&self, table: &iceberg::table::Table) -> Result<Transaction, TableError> {
        let tx = Transaction::new(table);
        let mut props = tx.update_table_properties();
        for (k, v) in &self.properties {
            props = props.set(k.clone(), v.clone());
        }
        let tx = props.apply(tx)?;
        let append = tx
            .fast_append()
            .add_data_files(self.files.clone())
            .set_snapshot_properties(HashMap::from([(
                "adx.manifests".to_string(),
                self.commit.committed.to_string(),
            )]));
        Ok(append.apply(tx)?)
    }
}

/// Judges one table's manifests on `table` as loaded: what to add, drop, rewrite, set aside or
/// leave waiting.
fn plan_table(
    table: &iceberg::table::Table,
    store: &dyn ObjectStore,
    manifests: Vec<(String, PendingManifest)>,
    file_uri: &(dyn Fn(&str, &str) -> String + Sync),
) -> Result<TablePlan, TableError> {
    let metadata = table.metadata();
    let schema = metadata.current_schema().clone();
    let spec_id = metadata.default_partition_spec_id();
    let mut plan = TablePlan {
        commit: TableCommit::default(),
        files: Vec::new(),
        properties: Vec::new(),
        done: Vec::new(),
        set_aside: BTreeMap::new(),
        waiting: BTreeMap::new(),
    };
    let mut state = match TableState::from_properties(metadata.properties(), crate::ledger::today())
    {
        Ok(state) => state,
        Err(reason) => {
            // Never committed over: a record that cannot be read would be replaced by one
            // that forgot what the table holds.
            for (key, _) in manifests {
                plan.waiting.insert(key, reason.clone());
            }
            return Ok(plan);
        }
    };
    // Objects first, then the batches in the order their consumer read them (see
    // `crate::order`).
    let ordered = crate::order::commit_order(manifests);
    // Partitions with a batch that waits: their later batches wait too, or they would move
    // the partition's watermark past it.
    let mut held: BTreeSet<(String, i32)> = BTreeSet::new();
    for (key, manifest) in ordered {
        // The files first: a manifest whose files the table cannot take yet waits, one whose
        // files cannot be described is set aside; neither changes what the table holds.
        let unknown = manifest
            .files
            .iter()
            .flat_map(|f| &f.columns)
            .find(|c| schema.field_by_id(c.id).is_none());
        let partitions: Vec<(String, i32)> = match &manifest.source {
            PendingSource::Kafka { ranges } => ranges
                .iter()
                .map(|r| (r.topic.clone(), r.partition))
                .collect(),
            PendingSource::Object { .. } => Vec::new(),
        };
        if let Some((topic, partition)) = partitions.iter().find(|p| held.contains(*p)) {
            plan.waiting.insert(
                key,
                format!("an earlier batch of {topic}-{partition} waits: this one waits after it"),
            );
            held.extend(partitions);
            continue;
        }
        if let Some(c) = unknown {
            held.extend(partitions);
            plan.waiting.insert(
                key,
                format!(
                    "column id {} is not in the table: its contract changed, and `adx tables \
                     sync` evolves the table",
                    c.id
                ),
            );
            continue;
        }
        let verdict = state.judge(&manifest.source);
        let pending_files = match &verdict {
            Admit::AlreadyCommitted => {
                plan.commit.already_committed += 1;
                plan.done.push(key);
                continue;
            }
            Admit::New => manifest.files.clone(),
            Admit::Partial(held) => match rewrite(store, &manifest.files, held) {
                Ok(files) => {
                    plan.commit.rewritten += 1;
                    files
                }
                Err(RewriteError::Store(e)) => return Err(TableError::Store(e.to_string())),
                Err(e) => {
                    plan.set_aside.insert(key, format!("rewriting it: {e}"));
                    continue;
                }
            },
        };
        let data_files: Result<Vec<DataFile>, String> = pending_files
            .iter()
            .map(|f| data_file(f, &schema, spec_id, file_uri))
            .collect();
        let data_files = match data_files {
            Ok(d) => d,
            Err(reason) => {
                plan.set_aside.insert(key, reason);
                continue;
            }
        };
        state.record(&manifest.source);
        plan.commit.records += pending_files.iter().map(|f| f.records).sum::<u64>();
        plan.commit.files += data_files.len() as u64;
        plan.commit.committed += 1;
        plan.files.extend(data_files);
        plan.done.push(key);
    }
    plan.properties = state.properties();
    Ok(plan)
}

/// Removes the committed manifests and moves the set-aside ones, with their reason.
pub fn settle(
    store: &dyn ObjectStore,
    bucket: &str,
    report: &CommitReport,
) -> Result<(), TableError> {
    let store_err = |e: adx_core::StoreError| TableError::Store(e.to_string());
    for (key, reason) in &report.set_aside {
        let mut bytes = Vec::new();
        if let Ok(mut body) = store.get(bucket, key) {
            let _ = body.read_to_end(&mut bytes);
        }
        let aside = serde_json::json!({
            "reason": reason,
            "manifest": String::from_utf8_lossy(&bytes),
        });
        let name = key.strip_prefix(PENDING_PREFIX).unwrap_or(key);
        store
            .put(
                bucket,
                &format!("{SET_ASIDE_PREFIX}{name}"),
                aside.to_string().as_bytes(),
            )
            .map_err(store_err)?;
        store.delete(bucket, key).map_err(store_err)?;
    }
    store.delete_many(bucket, &report.done).map_err(store_err)?;
    Ok(())
}

/// Whether a manifest's source is new to the table.
/// What the committer does with a manifest.
enum Admit {
    /// Its files are all new to the table.
    New,
    /// The table holds all of it.
    AlreadyCommitted,
    /// The table holds part of its offsets, up to these watermarks: its files are rewritten
    /// without those rows.
    Partial(Watermarks),
}

/// `files` without the rows at or below `held`, rewritten outside the async context (the
/// store's adapters block on runtimes of their own); files left empty are dropped.
fn rewrite(
    store: &dyn ObjectStore,
    files: &[PendingFile],
    held: &Watermarks,
) -> Result<Vec<PendingFile>, RewriteError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut out = Vec::new();
                for f in files {
                    if let Some(rewritten) = rewrite_without_committed(store, f, held)? {
                        out.push(rewritten);
                    }
                }
                Ok(out)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(RewriteError::File {
                    key: files.first().map(|f| f.key.clone()).unwrap_or_default(),
                    message: "the rewrite thread panicked".into(),
                })
            })
    })
}

/// What a table holds, as its properties record it, updated as manifests are admitted.
struct TableState {
    watermarks: BTreeMap<(String, i32), i64>,
    objects: ObjectLedger,
    /// The day of this run (days since 1970-01-01, UTC).
    today: u32,
    changed: bool,
}

impl TableState {
    fn from_properties(props: &HashMap<String, String>, today: u32) -> Result<TableState, String> {
        let mut watermarks = BTreeMap::new();
        for (k, v) in props {
            let Some(rest) = k.strip_prefix("adx.kafka.") else {
                continue;
            };
            if let Some((topic, partition)) = rest.rsplit_once('.')
                && let (Ok(partition), Ok(offset)) = (partition.parse(), v.parse())
            {
                watermarks.insert((topic.to_string(), partition), offset);
            }
        }
        let objects =
            ObjectLedger::from_property(props.get(OBJECTS_PROPERTY).map(String::as_str), today)
                .map_err(|e| {
                    format!(
                        "its table's record of committed objects ({OBJECTS_PROPERTY}) cannot be \
                         read ({e}): nothing is committed to it until the property is repaired"
                    )
                })?;
        Ok(TableState {
            watermarks,
            objects,
            today,
            changed: false,
        })
    }

    /// What to do with a manifest of `source`, given what the table holds (nothing changes).
    fn judge(&self, source: &PendingSource) -> Admit {
        match source {
            PendingSource::Kafka { ranges } => {
                let mut held = Watermarks::new();
                let mut new = false;
                for r in ranges {
                    let at = (r.topic.clone(), r.partition);
                    match self.watermarks.get(&at) {
                        Some(&w) if r.first_offset <= w => {
                            held.insert(at, w);
                            new |= r.last_offset > w;
                        }
                        _ => new = true,
                    }
                }
                match (new, held.is_empty()) {
                    (false, _) => Admit::AlreadyCommitted,
                    (true, true) => Admit::New,
                    (true, false) => Admit::Partial(held),
                }
            }
            PendingSource::Object {
                bucket,
                key,
                version,
            } => {
                if self
                    .objects
                    .contains(&object_id(bucket, key, version.as_deref()))
                {
                    Admit::AlreadyCommitted
                } else {
                    Admit::New
                }
            }
        }
    }

    /// Records that the table now holds `source`.
    fn record(&mut self, source: &PendingSource) {
        match source {
            PendingSource::Kafka { ranges } => {
                for r in ranges {
                    let w = self
                        .watermarks
                        .entry((r.topic.clone(), r.partition))
                        .or_insert(r.last_offset);
                    *w = (*w).max(r.last_offset);
                }
            }
            PendingSource::Object {
                bucket,
                key,
                version,
            } => {
                self.objects
                    .insert(object_id(bucket, key, version.as_deref()), self.today);
            }
        }
        self.changed = true;
    }

    fn properties(&mut self) -> Vec<(String, String)> {
        if !self.changed {
            return Vec::new();
        }
        let mut out: Vec<(String, String)> = self
            .watermarks
            .iter()
            .map(|((t, p), o)| (watermark_property(t, *p), o.to_string()))
            .collect();
        self.objects.trim(self.today);
        out.push((OBJECTS_PROPERTY.to_string(), self.objects.to_property()));
        out
    }
}

/// The table's data file for a pending file: its location, hour partition and metrics.
fn data_file(
    f: &PendingFile,
    schema: &Schema,
    spec_id: i32,
    file_uri: &(dyn Fn(&str, &str) -> String + Sync),
) -> Result<DataFile, String> {
    let hour = i32::try_from(f.hour_ms.div_euclid(3_600_000))
        .map_err(|_| format!("{}: hour out of range", f.key))?;
    let (mut sizes, mut values, mut nulls) = (HashMap::new(), HashMap::new(), HashMap::new());
    let (mut lower, mut upper) = (HashMap::new(), HashMap::new());
    for c in &f.columns {
        sizes.insert(c.id, c.bytes);
        values.insert(c.id, c.values);
        if let Some(n) = c.nulls {
            nulls.insert(c.id, n);
        }
        let Some(Type::Primitive(ty)) = schema.field_by_id(c.id).map(|f| (*f.field_type).clone())
        else {
            continue;
        };
        let bound = |b: &Option<String>| -> Result<Option<Datum>, String> {
            let Some(b) = b else { return Ok(None) };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("{}: column {} bound: {e}", f.key, c.id))?;
            Datum::try_from_bytes(&bytes, ty.clone())
                .map(Some)
                .map_err(|e| format!("{}: column {} bound: {e}", f.key, c.id))
        };
        if let Some(d) = bound(&c.lower)? {
            lower.insert(c.id, d);
        }
        if let Some(d) = bound(&c.upper)? {
            upper.insert(c.id, d);
        }
    }
    DataFileBuilder::default()
        .content(DataContentType::Data)
        .file_path(file_uri(&f.bucket, &f.key))
        .file_format(DataFileFormat::Parquet)
        .partition(Struct::from_iter([Some(Literal::int(hour))]))
        .partition_spec_id(spec_id)
        .record_count(f.records)
        .file_size_in_bytes(f.bytes)
        .column_sizes(sizes)
        .value_counts(values)
        .null_value_counts(nulls)
        .lower_bounds(lower)
        .upper_bounds(upper)
        .build()
        .map_err(|e| format!("{}: {e}", f.key))
}
