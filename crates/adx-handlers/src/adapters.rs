//! Picks the adapters the configuration asks for and builds them once per process: the local
//! directory store and schema folder of the embedded default, or S3 and the Glue Schema Registry.

use crate::{HandlerConfig, HandlerError};
#[cfg(feature = "aws")]
use adx_aws::{AwsContext, AwsSettings, GlueRegistry, S3Store};
use adx_core::CachedRegistry;
use adx_core::{Catalog, ObjectStore, Ports, SchemaRegistry};
use adx_local::{LocalSchemaFolder, LocalStore};

/// Size of the parts in which large objects are uploaded to S3.
pub const S3_UPLOAD_PART_BYTES: usize = 8 << 20;

/// The adapters of one process, built once and reused by every invocation.
pub struct Adapters {
    /// The object store.
    pub store: Box<dyn ObjectStore>,
    /// The schema registry (cached: version ids for the life of the process, latest versions
    /// for `SCHEMA_CACHE_TTL_SECONDS`).
    pub registry: Box<dyn SchemaRegistry>,
    /// Datasets compiled so far.
    pub catalog: Catalog,
    /// The AWS SDK clients and their runtime, when an AWS adapter is in use. Declared last so
    /// that the adapters using its runtime are dropped first.
    #[cfg(feature = "aws")]
    pub aws: Option<AwsContext>,
}

impl Adapters {
    /// Builds the adapters: the local directory store when `ADX_STORE_ROOT` is set, S3
    /// otherwise; the local schema folder when `ADX_SCHEMA_DIR` is set, the Glue registry
    /// `REGISTRY_NAME` otherwise. The SDK clients are built here, once, when either is AWS.
    #[cfg(feature = "aws")]
    pub fn from_config(config: &HandlerConfig) -> Result<Adapters, HandlerError> {
        let aws = if config.store_root.is_none() || config.schema_dir.is_none() {
            let settings =
                AwsSettings::from_env().map_err(|e| HandlerError::Config(e.to_string()))?;
            Some(AwsContext::load(&settings).map_err(|e| HandlerError::Config(e.to_string()))?)
        } else {
            None
        };
        let store: Box<dyn ObjectStore> = match (&config.store_root, &aws) {
            (Some(root), _) => Box::new(LocalStore::new(root)),
            (None, Some(context)) => Box::new(S3Store::new(context, S3_UPLOAD_PART_BYTES)),
            (None, None) => return Err(HandlerError::Config("no object store".into())),
        };
        let registry: Box<dyn SchemaRegistry> = match (&config.schema_dir, &aws) {
            (Some(dir), _) => Box::new(CachedRegistry::new(
                LocalSchemaFolder::new(dir),
                config.schema_cache_ttl,
            )),
            (None, Some(context)) => Box::new(CachedRegistry::new(
                GlueRegistry::new(context, &config.registry_name),
                config.schema_cache_ttl,
            )),
            (None, None) => return Err(HandlerError::Config("no schema registry".into())),
        };
        Ok(Adapters {
            store,
            registry,
            catalog: Catalog::new(),
            aws,
        })
    }

    /// Builds the local adapters of the embedded default (`ADX_STORE_ROOT` and
    /// `ADX_SCHEMA_DIR`); in a build without the `aws` feature, S3 and Glue do not exist, and a
    /// configuration that asks for them is refused with the reason.
    #[cfg(not(feature = "aws"))]
    pub fn from_config(config: &HandlerConfig) -> Result<Adapters, HandlerError> {
        let without = |what: &str, variable: &str| {
            HandlerError::Config(format!(
                "{variable} is not set, and this build has no {what} (it was built without the \
                 `aws` feature): set {variable}, or build adx with its default features"
            ))
        };
        let root = config
            .store_root
            .as_ref()
            .ok_or_else(|| without("S3 store", "ADX_STORE_ROOT"))?;
        let dir = config
            .schema_dir
            .as_ref()
            .ok_or_else(|| without("Glue Schema Registry", "ADX_SCHEMA_DIR"))?;
        Ok(Adapters {
            store: Box::new(LocalStore::new(root)),
            registry: Box::new(CachedRegistry::new(
                LocalSchemaFolder::new(dir),
                config.schema_cache_ttl,
            )),
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
