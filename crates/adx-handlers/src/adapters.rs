//! Picks the adapters the configuration asks for and builds them once per process.

use crate::{HandlerConfig, HandlerError};
use adx_core::registry_cache::CachedRegistry;
use adx_core::{Catalog, ObjectStore, SchemaRegistry, ingest::Ports};
use adx_local::{LocalSchemaFolder, LocalStore};

/// The adapters of one process, built once and reused by every invocation.
pub struct Adapters {
    /// The object store.
    pub store: Box<dyn ObjectStore>,
    /// The schema registry.
    pub registry: Box<dyn SchemaRegistry>,
    /// Datasets compiled so far.
    pub catalog: Catalog,
}

impl Adapters {
    /// Builds the adapters: the local directory store when `ADX_STORE_ROOT` is set and the
    /// local schema folder when `ADX_SCHEMA_DIR` is set.
    pub fn from_config(config: &HandlerConfig) -> Result<Adapters, HandlerError> {
        let store: Box<dyn ObjectStore> = match &config.store_root {
            Some(root) => Box::new(LocalStore::new(root)),
            None => {
                return Err(HandlerError::Config(
                    "ADX_STORE_ROOT is not set, and this build has no S3 adapter".into(),
                ));
            }
        };
        let registry: Box<dyn SchemaRegistry> = match &config.schema_dir {
            Some(dir) => Box::new(CachedRegistry::new(
                LocalSchemaFolder::new(dir),
                config.schema_cache_ttl,
            )),
            None => {
                return Err(HandlerError::Config(format!(
                    "ADX_SCHEMA_DIR is not set, and this build has no Glue adapter for registry {}",
                    config.registry_name
                )));
            }
        };
        Ok(Adapters {
            store,
            registry,
            catalog: Catalog::new(),
        })
    }

    /// The ports the core works through.
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            store: self.store.as_ref(),
            registry: self.registry.as_ref(),
            catalog: &self.catalog,
        }
    }
}
