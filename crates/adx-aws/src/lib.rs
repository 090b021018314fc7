//! The AWS side of the hexagon: the S3 object store and the Glue Schema Registry behind the
//! core's ports, and the administration the `adx` tool does against AWS (registering schemas,
//! checking a deployment, reading MSK).
//!
//! The core's ports are synchronous; every adapter here runs its SDK calls on the small tokio
//! runtime of an [`AwsContext`], built once per process with the SDK clients.

#![warn(missing_docs)]

pub mod context;
pub mod doctor;
pub mod error;
pub mod glue_admin;
pub mod glue_registry;
pub mod msk;
pub mod s3_read;
pub mod s3_store;
pub mod s3_write;
#[cfg(feature = "stack")]
pub mod stack;

pub use context::{AwsContext, AwsSettings};
pub use error::AwsError;
pub use glue_registry::GlueRegistry;
pub use s3_read::READ_AHEAD_BYTES;
pub use s3_store::S3Store;
pub use s3_write::PARTS_IN_FLIGHT;
