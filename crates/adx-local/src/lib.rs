//! Adapters for the embedded default, with no AWS and no emulator: a directory that plays the
//! object store (`s3://bucket/key` is the file `<root>/bucket/key`) and a folder of `.avsc` files
//! that plays the schema registry; and an object store in memory, for fuzzing and tests.

#![warn(missing_docs)]

pub mod memory;
pub mod schema_folder;
pub mod store;

pub use memory::MemoryStore;
pub use schema_folder::LocalSchemaFolder;
pub use store::LocalStore;
