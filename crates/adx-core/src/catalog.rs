//! The catalog: compiled datasets and parsed writer schemas for the life of the process, read
//! through the [`SchemaRegistry`] port, and the verdicts of writer-to-reader compatibility
//! checks. The model ([`crate::model`]) knows nothing of the registry; this is where the two
//! meet.

use crate::model::avro_compat::{Incompatibility, resolution_problem};
use crate::model::dataset::{Dataset, DatasetError};
use crate::ports::{RegisteredSchema, RegistryError, SchemaRegistry};
use apache_avro::Schema;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A writer schema of a Glue-framed datum, parsed once per version id.
pub struct WriterSchema {
    /// The registry's record of it.
    pub registered: RegisteredSchema,
    /// Parsed for decoding.
    pub decoder: serde_avro_fast::Schema,
    /// Parsed for compatibility checks.
    pub avro: Schema,
}

/// Compiled datasets and parsed writer schemas by registry version id, for the life of the
/// process, and the verdicts of writer-to-reader compatibility checks.
#[derive(Default)]
pub struct Catalog {
    compiled: Mutex<HashMap<String, Arc<Dataset>>>,
    writers: Mutex<HashMap<String, Arc<WriterSchema>>>,
    compatible: Mutex<HashMap<(String, String), Result<(), Incompatibility>>>,
}

/// Why a dataset could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The registry failed (infrastructure).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The registered schema cannot be used (a deployment fault).
    #[error("schema {name} (version {version_id}): {error}")]
    BadSchema {
        /// Schema name.
        name: String,
        /// Version id.
        version_id: String,
        /// What is wrong.
        error: DatasetError,
    },
}

/// Why a registered writer schema cannot be used to decode data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriterSchemaError {
    /// apache-avro cannot parse it (its message).
    #[error("not a valid Avro schema: {0}")]
    InvalidAvro(String),
    /// serde_avro_fast cannot parse it (its message).
    #[error("not a usable Avro schema: {0}")]
    Unusable(String),
}

/// Where data for a dataset name goes: the dataset, or why there is none (the data then goes
/// to quarantine).
#[derive(Debug, Clone)]
pub enum Route {
    /// The dataset at its latest registered version.
    Dataset(Arc<Dataset>),
    /// No schema of that name is registered.
    NotRegistered {
        /// The name asked for.
        name: String,
    },
    /// The latest registered schema of that name is not a usable dataset.
    Unusable {
        /// Schema name.
        name: String,
        /// Its version id.
        version_id: String,
        /// What is wrong with it.
        error: DatasetError,
    },
}

impl Route {
    /// The dataset, if there is one.
    pub fn dataset(self) -> Option<Arc<Dataset>> {
        match self {
            Route::Dataset(ds) => Some(ds),
            _ => None,
        }
    }

    /// Why there is no dataset (the text quarantine entries give), if there is none.
    pub fn reason(&self) -> Option<String> {
        match self {
            Route::Dataset(_) => None,
            Route::NotRegistered { name } => {
                Some(format!("no schema named `{name}` is registered"))
            }
            Route::Unusable {
                name,
                version_id,
                error,
            } => Some(format!(
                "schema `{name}` (version {version_id}) is not a usable dataset: {error}"
            )),
        }
    }
}

impl From<CatalogError> for crate::error::IngestError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Registry(e) => crate::error::IngestError::Registry(e),
            CatalogError::BadSchema {
                name,
                version_id,
                error,
            } => crate::error::IngestError::BadSchema {
                name,
                message: format!("version {version_id}: {error}"),
            },
        }
    }
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
        let ds = Dataset::from_registered(registered).map_err(|error| CatalogError::BadSchema {
            name: registered.name.clone(),
            version_id: registered.version_id.clone(),
            error,
        })?;
        let ds = Arc::new(ds);
        compiled.insert(registered.version_id.clone(), ds.clone());
        Ok(ds)
    }

    /// Parses (once per version id) a writer schema; an error says why it cannot be used.
    pub fn writer(
        &self,
        registered: &RegisteredSchema,
    ) -> Result<Arc<WriterSchema>, WriterSchemaError> {
        let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = writers.get(&registered.version_id) {
            return Ok(w.clone());
        }
        let avro = Schema::parse_str(&registered.definition)
            .map_err(|e| WriterSchemaError::InvalidAvro(e.to_string()))?;
        let decoder: serde_avro_fast::Schema =
            registered
                .definition
                .parse()
                .map_err(|e: serde_avro_fast::schema::SchemaError| {
                    WriterSchemaError::Unusable(e.to_string())
                })?;
        let w = Arc::new(WriterSchema {
            registered: registered.clone(),
            decoder,
            avro,
        });
        writers.insert(registered.version_id.clone(), w.clone());
        Ok(w)
    }

    /// Whether data written with `writer` can be read as `reader` (checked once per pair).
    pub fn check_compatible(
        &self,
        writer: &WriterSchema,
        reader: &Dataset,
    ) -> Result<(), Incompatibility> {
        let key = (
            writer.registered.version_id.clone(),
            reader.version_id.clone(),
        );
        let mut verdicts = self.compatible.lock().unwrap_or_else(|p| p.into_inner());
        verdicts
            .entry(key)
            .or_insert_with(|| match resolution_problem(&writer.avro, &reader.schema) {
                Some(problem) => Err(problem),
                None => Ok(()),
            })
            .clone()
    }

    /// The dataset `name` at its latest version for routing data: a schema that is missing or
    /// not usable as a dataset is a [`Route`] that says why (the data goes to quarantine, rather
    /// than the invocation failing and being retried forever); only a registry fault is an error.
    pub fn route(&self, registry: &dyn SchemaRegistry, name: &str) -> Result<Route, RegistryError> {
        match self.latest(registry, name) {
            Ok(Some(ds)) => Ok(Route::Dataset(ds)),
            Ok(None) => Ok(Route::NotRegistered {
                name: name.to_string(),
            }),
            Err(CatalogError::Registry(e)) => Err(e),
            Err(CatalogError::BadSchema {
                name,
                version_id,
                error,
            }) => {
                tracing::warn!(schema = %name, version = %version_id, "registered schema is not a usable dataset: {error}");
                Ok(Route::Unusable {
                    name,
                    version_id,
                    error,
                })
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const CLICKS: &str = include_str!("../../../schemas/click_conversions.avsc");

    use crate::test_support::registered_as as registered;

    #[test]
    fn the_catalog_compiles_once_per_version() {
        let catalog = Catalog::new();
        let a = catalog
            .compile(&registered("click_conversions", CLICKS))
            .unwrap();
        let b = catalog
            .compile(&registered("click_conversions", CLICKS))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let e = catalog.compile(&registered("wrong", CLICKS)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("schema wrong (version wrong-v1): "),
            "{e}"
        );
    }
}
