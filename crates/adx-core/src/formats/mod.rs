//! Input formats: which one an object key names, how to undo its compression, and one decoder
//! per format. A decoder hands every record (decoded or not) to a callback, and stops early
//! only when the rest of the object cannot be read ([`Stop::Object`]).

pub(crate) mod avro;
pub(crate) mod avro_blocks;
pub(crate) mod avro_datum;
pub(crate) mod avro_direct;
pub(crate) mod compression;
pub(crate) mod csv;
pub(crate) mod decoded;
pub(crate) mod detect;
pub(crate) mod glue;
pub(crate) mod json;
pub(crate) mod read_ahead;
pub(crate) mod tracked;

pub use compression::Compression;
pub use decoded::{Decoded, Position, Raw, Stop};
pub use detect::{Format, detect};
