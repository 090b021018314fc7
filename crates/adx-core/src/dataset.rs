//! A dataset: its reader schema, compiled shape, key and event-time fields and rules, all read
//! from the schema text (the `adx` block beside the Avro fields), so that a new dataset needs a
//! schema and no code.

use crate::curated::arrow_schema::arrow_schema;
use crate::datum::Datum;
use crate::error::FieldError;
use crate::ports::{RegisteredSchema, RegistryError, SchemaRegistry};
use crate::rules::{RuleSpec, Rules};
use crate::shape::{Kind, RecordShape, Ty};
use apache_avro::Schema;
use arrow_schema::SchemaRef;
use chrono::{DateTime, SecondsFormat};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The `adx` block of a schema file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Name of the top-level field that identifies a record (de-duplication key).
    pub key: String,
    /// Name of the top-level timestamp-millis field that places the record in time.
    pub event_time: String,
    /// Earliest event time accepted (RFC 3339); default 2000-01-01T00:00:00Z.
    #[serde(default)]
    pub event_time_not_before: Option<String>,
    /// Rules beyond types.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A dataset ready for ingestion.
#[derive(Debug)]
pub struct Dataset {
    /// Dataset name (= schema name).
    pub name: String,
    /// Registry version id of the reader schema.
    pub version_id: String,
    /// The reader schema.
    pub schema: Schema,
    /// The reader schema compiled.
    pub shape: Arc<RecordShape>,
    /// Position of the key field.
    pub key: usize,
    /// Position of the event-time field.
    pub event_time: usize,
    /// Earliest accepted event time, epoch millis.
    pub not_before_ms: i64,
    /// The compiled rules.
    pub rules: Rules,
    /// Arrow schema of the curated Parquet (the contract's fields, then lineage columns).
    pub arrow_schema: SchemaRef,
}

const DEFAULT_NOT_BEFORE_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

impl Dataset {
    /// Compiles a registered schema into a dataset.
    pub fn from_registered(registered: &RegisteredSchema) -> Result<Dataset, String> {
        let schema = Schema::parse_str(&registered.definition)
            .map_err(|e| format!("not a valid Avro schema: {e}"))?;
        let json: serde_json::Value =
            serde_json::from_str(&registered.definition).map_err(|e| format!("not JSON: {e}"))?;
        let spec: DatasetSpec = match json.get("adx") {
            Some(block) => {
                serde_json::from_value(block.clone()).map_err(|e| format!("adx block: {e}"))?
            }
            None => return Err("the schema has no `adx` block (key, event_time, rules)".into()),
        };
        let shape = RecordShape::from_avro(&schema)?;
        if shape.name != registered.name {
            return Err(format!(
                "record name {} differs from the schema name {}",
                shape.name, registered.name
            ));
        }
        let key = shape
            .position(&spec.key)
            .ok_or_else(|| format!("key field {} is not a field", spec.key))?;
        if !matches!(
            shape.fields[key].ty.kind,
            Kind::Str | Kind::Long | Kind::Int
        ) {
            return Err(format!(
                "key field {} must be a string, int or long",
                spec.key
            ));
        }
        let event_time = shape
            .position(&spec.event_time)
            .ok_or_else(|| format!("event_time field {} is not a field", spec.event_time))?;
        if !matches!(
            shape.fields[event_time].ty,
            Ty {
                kind: Kind::TimestampMillis,
                nullable: false
            }
        ) {
            return Err(format!(
                "event_time field {} must be a non-null timestamp-millis",
                spec.event_time
            ));
        }
        let not_before_ms = match &spec.event_time_not_before {
            None => DEFAULT_NOT_BEFORE_MS,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map_err(|e| format!("event_time_not_before {t}: {e}"))?
                .timestamp_millis(),
        };
        let rules = Rules::compile(&shape, &spec.rules)?;
        let arrow_schema = arrow_schema(&shape);
        Ok(Dataset {
            name: registered.name.clone(),
            version_id: registered.version_id.clone(),
            schema,
            shape,
            key,
            event_time,
            not_before_ms,
            rules,
            arrow_schema,
        })
    }

    /// The record type of this dataset.
    pub fn record_ty(&self) -> Ty {
        Ty {
            kind: Kind::Record(self.shape.clone()),
            nullable: false,
        }
    }

    /// Event time of a record of this dataset, in epoch millis.
    pub fn event_time_of(&self, record: &Datum) -> Option<i64> {
        match record {
            Datum::Record(fields) => match fields.get(self.event_time) {
                Some(Datum::Timestamp(ms)) => Some(*ms),
                _ => None,
            },
            _ => None,
        }
    }

    /// Applies the event-time window and the dataset's rules to a converted record.
    pub fn validate(
        &self,
        record: &Datum,
        arrival_ms: i64,
        max_future_skew_ms: i64,
    ) -> Result<(), FieldError> {
        let field = &self.shape.fields[self.event_time].name;
        let Some(t) = self.event_time_of(record) else {
            return Err(FieldError::new(field, "a timestamp", "none"));
        };
        if t < self.not_before_ms {
            return Err(FieldError::new(
                field,
                format!("a time not before {}", rfc3339(self.not_before_ms)),
                rfc3339(t),
            ));
        }
        if t > arrival_ms.saturating_add(max_future_skew_ms) {
            return Err(FieldError::new(
                field,
                format!(
                    "a time at most {} s after arrival at {}",
                    max_future_skew_ms / 1000,
                    rfc3339(arrival_ms)
                ),
                rfc3339(t),
            ));
        }
        self.rules.check(record)
    }

    /// The de-duplication key of a record, as bytes.
    pub fn key_bytes<'a>(&self, record: &'a Datum, scratch: &'a mut [u8; 8]) -> Option<&'a [u8]> {
        match record {
            Datum::Record(fields) => match fields.get(self.key) {
                Some(Datum::Str(s)) => Some(s.as_bytes()),
                Some(Datum::Long(v)) => {
                    *scratch = v.to_le_bytes();
                    Some(&scratch[..])
                }
                Some(Datum::Int(v)) => {
                    *scratch = i64::from(*v).to_le_bytes();
                    Some(&scratch[..])
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// Compiled datasets by registry version id, for the life of the process.
#[derive(Default)]
pub struct Catalog {
    compiled: Mutex<HashMap<String, Arc<Dataset>>>,
}

/// Why a dataset could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The registry failed (infrastructure).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The registered schema cannot be used (a deployment fault).
    #[error("schema {name} (version {version_id}): {message}")]
    BadSchema {
        /// Schema name.
        name: String,
        /// Version id.
        version_id: String,
        /// What is wrong.
        message: String,
    },
}

impl Catalog {
    /// A new, empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Compiles (once per version id) a registered schema.
    pub fn compile(&self, registered: &RegisteredSchema) -> Result<Arc<Dataset>, CatalogError> {
        let mut compiled = self
            .compiled
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(ds) = compiled.get(&registered.version_id) {
            return Ok(ds.clone());
        }
        let ds =
            Dataset::from_registered(registered).map_err(|message| CatalogError::BadSchema {
                name: registered.name.clone(),
                version_id: registered.version_id.clone(),
                message,
            })?;
        let ds = Arc::new(ds);
        compiled.insert(registered.version_id.clone(), ds.clone());
        Ok(ds)
    }

    /// The dataset `name` at its latest registered version, or `None` when there is none.
    pub fn latest(
        &self,
        registry: &dyn SchemaRegistry,
        name: &str,
    ) -> Result<Option<Arc<Dataset>>, CatalogError> {
        match registry.latest(name)? {
            Some(registered) => self.compile(&registered).map(Some),
            None => Ok(None),
        }
    }
}
