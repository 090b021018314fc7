//! The column metrics of a closed part, from the row groups its Parquet writer flushed: per
//! leaf column that has a column id, its compressed size, value and null counts, and (outside
//! lists) its bounds in Iceberg's single-value binary form, base64. Computed once per part from
//! the footer's metadata, never per record.
//!
//! Bounds by physical and logical type:
//! - INT32 (no logical type, or a signed 32-bit integer): 4 bytes little-endian;
//! - INT64 (no logical type, or a signed 64-bit integer): 8 bytes little-endian;
//! - INT64 timestamps in millis (our `timestamp-millis`) or micros: Iceberg's microseconds,
//!   8 bytes little-endian (millis × 1000);
//! - BOOLEAN: one byte, 0 or 1;
//! - BYTE_ARRAY strings (UTF-8): the UTF-8 bytes. Parquet truncates string statistics at 64
//!   bytes: the min to a prefix (still a lower bound) and the max to a prefix incremented (still
//!   an upper bound), so they stay valid bounds, as Iceberg's own truncated ones are;
//! - FLOAT and DOUBLE: no bounds (NaN and signed zeros make Parquet's min/max differ from
//!   Iceberg's rules; a table without them only prunes less);
//! - anything else: no bounds.
//!
//! Bounds are merged across row groups in the type's order (strings byte-wise, which is the
//! order of their code points). A row group that holds non-null values of a column without
//! saying its min and max drops the column's bounds: a bound that some value escapes would
//! make a reader skip the file wrongly.

use crate::pending::ColumnMetrics;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use parquet::basic::{LogicalType, TimeUnit, Type as PhysicalType};
use parquet::file::metadata::{ColumnChunkMetaData, RowGroupMetaData};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnDescriptor;

/// How a column's bounds are read from its statistics and written for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BoundKind {
    Bool,
    Int,
    Long,
    /// INT64 timestamps: each unit is this many microseconds.
    Timestamp(i64),
    Utf8,
}

/// One bound, typed: compared in its type's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Bool(bool),
    Int(i32),
    /// A long, or a timestamp already in microseconds.
    Long(i64),
    Utf8(Vec<u8>),
}

impl Bound {
    /// Iceberg's single-value binary form.
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Bound::Bool(b) => vec![u8::from(*b)],
            Bound::Int(n) => n.to_le_bytes().to_vec(),
            Bound::Long(n) => n.to_le_bytes().to_vec(),
            Bound::Utf8(s) => s.clone(),
        }
    }
}

/// The bound kind of a leaf column outside lists, when it has one.
fn bound_kind(descr: &ColumnDescriptor) -> Option<BoundKind> {
    if descr.max_rep_level() > 0 {
        return None;
    }
    let logical = descr.logical_type_ref();
    match (descr.physical_type(), logical) {
        (PhysicalType::BOOLEAN, None) => Some(BoundKind::Bool),
        (PhysicalType::INT32, None) => Some(BoundKind::Int),
        (PhysicalType::INT32, Some(LogicalType::Integer(t)))
            if t.is_signed && t.bit_width == 32 =>
        {
            Some(BoundKind::Int)
        }
        (PhysicalType::INT64, None) => Some(BoundKind::Long),
        (PhysicalType::INT64, Some(LogicalType::Integer(t)))
            if t.is_signed && t.bit_width == 64 =>
        {
            Some(BoundKind::Long)
        }
        (PhysicalType::INT64, Some(LogicalType::Timestamp(t))) => match t.unit {
            TimeUnit::MILLIS => Some(BoundKind::Timestamp(1_000)),
            TimeUnit::MICROS => Some(BoundKind::Timestamp(1)),
            _ => None,
        },
        (PhysicalType::BYTE_ARRAY, Some(LogicalType::String | LogicalType::Enum)) => {
            Some(BoundKind::Utf8)
        }
        _ => None,
    }
}

/// The (min, max) of one column chunk's statistics, typed; `None` when it does not say them
/// (or a timestamp overflows in microseconds).
fn chunk_bounds(kind: BoundKind, stats: &Statistics) -> Option<(Bound, Bound)> {
    match (kind, stats) {
        (BoundKind::Bool, Statistics::Boolean(s)) => {
            Some((Bound::Bool(*s.min_opt()?), Bound::Bool(*s.max_opt()?)))
        }
        (BoundKind::Int, Statistics::Int32(s)) => {
            Some((Bound::Int(*s.min_opt()?), Bound::Int(*s.max_opt()?)))
        }
        (BoundKind::Long, Statistics::Int64(s)) => {
            Some((Bound::Long(*s.min_opt()?), Bound::Long(*s.max_opt()?)))
        }
        (BoundKind::Timestamp(scale), Statistics::Int64(s)) => Some((
            Bound::Long(s.min_opt()?.checked_mul(scale)?),
            Bound::Long(s.max_opt()?.checked_mul(scale)?),
        )),
        (BoundKind::Utf8, Statistics::ByteArray(s)) => Some((
            Bound::Utf8(s.min_opt()?.data().to_vec()),
            Bound::Utf8(s.max_opt()?.data().to_vec()),
        )),
        _ => None,
    }
}

/// What is known of a column's bounds so far.
#[derive(Debug, Clone)]
enum Bounds {
    /// None to give: a type without bounds, or a row group that holds values without saying
    /// its min and max.
    Unknown,
    /// No value seen yet (only nulls so far).
    Empty,
    /// The smallest and largest values seen.
    Seen(Bound, Bound),
}

/// The metrics of one column being gathered over the row groups.
struct Gathered {
    id: i32,
    kind: Option<BoundKind>,
    bytes: u64,
    values: u64,
    nulls: Option<u64>,
    bounds: Bounds,
}

impl Gathered {
    fn new(id: i32, kind: Option<BoundKind>) -> Self {
        Gathered {
            id,
            kind,
            bytes: 0,
            values: 0,
            nulls: Some(0),
            bounds: if kind.is_some() {
                Bounds::Empty
            } else {
                Bounds::Unknown
            },
        }
    }

    /// Adds one row group's chunk of the column.
    fn add(&mut self, chunk: &ColumnChunkMetaData) {
        let values = u64::try_from(chunk.num_values()).unwrap_or(0);
        self.bytes += u64::try_from(chunk.compressed_size()).unwrap_or(0);
        self.values += values;
        let stats = chunk.statistics();
        let nulls = stats.and_then(Statistics::null_count_opt);
        self.nulls = match (self.nulls, nulls) {
            (Some(total), Some(n)) => Some(total + n),
            _ => None,
        };
        let Some(kind) = self.kind else {
            return;
        };
        let chunk_bounds = stats.and_then(|s| chunk_bounds(kind, s));
        self.bounds = match (
            std::mem::replace(&mut self.bounds, Bounds::Unknown),
            chunk_bounds,
        ) {
            (Bounds::Unknown, _) => Bounds::Unknown,
            (Bounds::Empty, Some((min, max))) => Bounds::Seen(min, max),
            (Bounds::Seen(lo, hi), Some((min, max))) => Bounds::Seen(lo.min(min), hi.max(max)),
            // Only nulls in this row group: what was known stands.
            (known, None) if nulls == Some(values) => known,
            (_, None) => Bounds::Unknown,
        };
    }

    fn finish(self) -> ColumnMetrics {
        let (lower, upper) = match self.bounds {
            Bounds::Seen(min, max) => (
                Some(STANDARD.encode(min.to_bytes())),
                Some(STANDARD.encode(max.to_bytes())),
            ),
            Bounds::Empty | Bounds::Unknown => (None, None),
        };
        ColumnMetrics {
            id: self.id,
            bytes: self.bytes,
            values: self.values,
            nulls: self.nulls,
            lower,
            upper,
        }
    }
}

/// The metrics of every leaf column with a column id, in the schema's leaf order, over `groups`
/// (the row groups of one Parquet file).
pub fn column_metrics(groups: &[RowGroupMetaData]) -> Vec<ColumnMetrics> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    let mut gathered: Vec<(usize, Gathered)> = first
        .columns()
        .iter()
        .enumerate()
        .filter_map(|(i, chunk)| {
            let descr = chunk.column_descr();
            let info = descr.self_type().get_basic_info();
            info.has_id()
                .then(|| (i, Gathered::new(info.id(), bound_kind(descr))))
        })
        .collect();
    for group in groups {
        for (i, column) in &mut gathered {
            if let Some(chunk) = group.columns().get(*i) {
                column.add(chunk);
            }
        }
    }
    gathered.into_iter().map(|(_, g)| g.finish()).collect()
}
