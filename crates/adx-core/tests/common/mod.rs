//! What the core's integration tests share: the repo's schema folder as the registry (cached,
//! as the handlers cache it), one catalog for the test binary (as a warm Lambda process keeps
//! one), the ports over a store, and the schemas' text.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use adx_core::CachedRegistry;
use adx_core::Catalog;
use adx_core::Ports;
use adx_core::{ObjectStore, SchemaRegistry};
use adx_local::LocalSchemaFolder;
use std::sync::LazyLock;
use std::time::Duration;

/// The repo's schema folder.
pub const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");

/// The repo's schemas as the registry.
pub static REGISTRY: LazyLock<CachedRegistry<LocalSchemaFolder>> = LazyLock::new(|| {
    CachedRegistry::new(
        LocalSchemaFolder::new(SCHEMA_DIR),
        Duration::from_secs(3600),
    )
});

/// Compiled datasets, shared by all cases as a warm Lambda process shares them.
pub static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::new);

/// The ports over `store`.
pub fn ports(store: &dyn ObjectStore) -> Ports<'_> {
    Ports {
        store,
        registry: &*REGISTRY as &dyn SchemaRegistry,
        catalog: &CATALOG,
    }
}

/// The text of `schemas/<name>.avsc`.
pub fn schema_text(name: &str) -> String {
    std::fs::read_to_string(format!("{SCHEMA_DIR}/{name}.avsc"))
        .unwrap_or_else(|e| panic!("schemas/{name}.avsc: {e}"))
}
