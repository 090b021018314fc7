//! The size bounds of the curated writer ([`WriterLimits`]), shared by the half that gathers
//! records ([`crate::curated::writer`]) and the half that encodes Parquet
//! ([`crate::curated::encoder`]).

/// Size bounds of the curated writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterLimits {
    /// Rows gathered in builders before they are handed to the Parquet encoder.
    pub batch_rows: usize,
    /// Most rows in one row group (a cap for very narrow rows; the size target below usually
    /// closes a row group first).
    pub row_group_rows: usize,
    /// Target uncompressed size of a row group (what Parquet records as its total byte size):
    /// a row group is closed once it is estimated to hold this much.
    pub row_group_bytes: usize,
    /// A part object is closed once it holds this many bytes.
    pub part_bytes: usize,
    /// Memory of the row groups in progress (encoded pages and encoder buffers, as the
    /// Parquet writer estimates it) allowed across all open hours; above it the largest row
    /// group is flushed early (so many hours written at once make smaller row groups).
    pub buffer_bytes: usize,
    /// zstd level of the Parquet pages.
    pub zstd_level: i32,
    /// Event-time hours with a part open at once; past it the least recently used hour's part
    /// is closed (its later records start a new part), so a file spread over a year of hours
    /// still writes in bounded memory.
    pub max_open_hours: usize,
    /// Threads a part's columns are encoded on (the encoding thread's own included): a
    /// batch's top-level columns, and a row group's column chunks when it closes, are shared
    /// among them. 1 encodes every column on the encoding thread.
    pub encode_workers: usize,
}

impl Default for WriterLimits {
    fn default() -> Self {
        WriterLimits {
            batch_rows: 8192,
            row_group_rows: 4 << 20,
            row_group_bytes: 112 << 20,
            part_bytes: 128 << 20,
            buffer_bytes: 48 << 20,
            zstd_level: 1,
            max_open_hours: 24,
            encode_workers: 1,
        }
    }
}
