//! Input formats: which one an object key names, how to undo its compression, and one decoder
//! per format. A decoder hands every record (decoded or not) to a callback, and stops early
//! only when the rest of the object cannot be read ([`Stop::Object`]).

pub mod avro;
pub mod avro_blocks;
pub mod avro_datum;
pub mod avro_direct;
pub mod compression;
pub mod csv;
pub mod decoded;
pub mod detect;
pub mod glue;
pub mod json;
pub mod read_ahead;
pub mod tracked;

pub use compression::Compression;
pub use decoded::{Decoded, Emit, MAX_PAYLOAD_HEADER_BYTES, Position, Raw, Stop};
pub use detect::{Format, detect};
