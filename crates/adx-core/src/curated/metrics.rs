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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curated::arrow_schema::with_field_id;
    use crate::curated::part_writer::PartWriter;
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
        TimestampMillisecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const ROWS: usize = 250;
    const LONG: usize = 100;

    fn schema() -> SchemaRef {
        let tag = with_field_id(Field::new("item", DataType::Utf8, true), Some(8));
        Arc::new(Schema::new(vec![
            with_field_id(Field::new("id", DataType::Utf8, false), Some(1)),
            with_field_id(Field::new("n32", DataType::Int32, true), Some(2)),
            with_field_id(Field::new("n64", DataType::Int64, true), Some(3)),
            with_field_id(
                Field::new(
                    "t",
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    false,
                ),
                Some(4),
            ),
            with_field_id(Field::new("flag", DataType::Boolean, true), Some(5)),
            with_field_id(Field::new("ratio", DataType::Float64, false), Some(6)),
            with_field_id(
                Field::new("tags", DataType::List(Arc::new(tag)), true),
                Some(7),
            ),
            Field::new("no_id", DataType::Utf8, false),
            // Null in the first row group (rows 0..100), values after.
            with_field_id(Field::new("late", DataType::Int32, true), Some(9)),
            // Longer than Parquet's 64-byte statistics: truncated bounds.
            with_field_id(Field::new("long", DataType::Utf8, false), Some(10)),
        ]))
    }

    /// Rows `start..start + rows`, their extremes in the middle of the row groups.
    fn batch(start: usize, rows: usize) -> RecordBatch {
        let range = start..start + rows;
        let spread = |n: usize| ((n * 37) % 101) as i64 - 50;
        let mut tags = ListBuilder::new(StringBuilder::new()).with_field(with_field_id(
            Field::new("item", DataType::Utf8, true),
            Some(8),
        ));
        for n in range.clone() {
            if n % 5 == 4 {
                tags.append_null();
                continue;
            }
            for i in 0..n % 3 {
                tags.values().append_value(format!("tag-{}", (n + i) % 7));
            }
            tags.append(true);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                range.clone().map(|n| format!("id-{:03}", (n * 53) % ROWS)),
            )),
            Arc::new(Int32Array::from_iter(
                range
                    .clone()
                    .map(|n| (n % 4 != 0).then(|| spread(n) as i32)),
            )),
            Arc::new(Int64Array::from_iter(
                range
                    .clone()
                    .map(|n| (n % 6 != 1).then(|| spread(n) * 1_000_000_007)),
            )),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(
                    range
                        .clone()
                        .map(|n| 1_795_845_600_000 + spread(n) * 60_000),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(BooleanArray::from_iter(
                range.clone().map(|n| (n % 3 != 0).then_some(n % 7 == 3)),
            )),
            Arc::new(Float64Array::from_iter_values(
                range.clone().map(|n| spread(n) as f64 / 3.0),
            )),
            Arc::new(tags.finish()),
            Arc::new(StringArray::from_iter_values(
                range.clone().map(|n| format!("{n}")),
            )),
            Arc::new(Int32Array::from_iter(
                range.clone().map(|n| (n >= 100).then(|| spread(n) as i32)),
            )),
            Arc::new(StringArray::from_iter_values(
                range.map(|n| format!("{}{:03}", "x".repeat(LONG), (n * 11) % ROWS)),
            )),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    /// A part of [`ROWS`] rows in row groups of 100, and its metrics.
    fn part() -> (Vec<u8>, Vec<ColumnMetrics>) {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(100))
            .build();
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props, 2).unwrap();
        writer.write(&batch(0, 120)).unwrap();
        writer.write(&batch(120, ROWS - 120)).unwrap();
        let metadata = writer.finish().unwrap();
        assert_eq!(metadata.row_groups().len(), 3);
        let metrics = column_metrics(metadata.row_groups());
        (std::mem::take(writer.inner_mut()), metrics)
    }

    /// The non-null values of a primitive column read back.
    fn primitive<T: arrow_array::types::ArrowPrimitiveType>(arrays: &[ArrayRef]) -> Vec<T::Native> {
        arrays
            .iter()
            .flat_map(|c| c.as_primitive::<T>().iter().flatten().collect::<Vec<_>>())
            .collect()
    }

    fn decode(bound: &Option<String>) -> Vec<u8> {
        STANDARD.decode(bound.as_deref().expect("a bound")).unwrap()
    }

    fn i32_of(bytes: &[u8]) -> i32 {
        i32::from_le_bytes(bytes.try_into().unwrap())
    }

    fn i64_of(bytes: &[u8]) -> i64 {
        i64::from_le_bytes(bytes.try_into().unwrap())
    }

    #[test]
    fn the_metrics_of_a_part_are_what_its_file_and_its_data_say() {
        let (file, metrics) = part();
        let by_id: BTreeMap<i32, &ColumnMetrics> = metrics.iter().map(|m| (m.id, m)).collect();
        // Every leaf with an id, in leaf order; the list's own id is no leaf's.
        let ids: Vec<i32> = metrics.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 8, 9, 10]);

        // Sizes and counts: the footer's, summed over the row groups.
        let reader = SerializedFileReader::new(bytes::Bytes::from(file.clone())).unwrap();
        let footer = reader.metadata();
        for (leaf, descr) in footer
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .enumerate()
        {
            let info = descr.self_type().get_basic_info();
            let Some(m) = info.has_id().then(|| by_id[&info.id()]) else {
                assert_eq!(descr.name(), "no_id");
                continue;
            };
            let chunks = footer.row_groups().iter().map(|g| g.column(leaf));
            let bytes: i64 = chunks.clone().map(|c| c.compressed_size()).sum();
            let values: i64 = chunks.clone().map(|c| c.num_values()).sum();
            let nulls: u64 = chunks
                .map(|c| c.statistics().and_then(|s| s.null_count_opt()).unwrap())
                .sum();
            assert_eq!(
                (m.bytes, m.values, m.nulls),
                (bytes as u64, values as u64, Some(nulls)),
                "column {}",
                descr.path()
            );
        }

        // Bounds and null counts: the data's.
        let batches: Vec<RecordBatch> =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let column = |name: &str| -> Vec<ArrayRef> {
            batches
                .iter()
                .map(|b| b.column_by_name(name).unwrap().clone())
                .collect()
        };
        let nulls = |name: &str| column(name).iter().map(|c| c.null_count() as u64).sum();
        for (id, name) in [(1, "id"), (2, "n32"), (3, "n64"), (5, "flag"), (9, "late")] {
            assert_eq!(by_id[&id].nulls, Some(nulls(name)), "{name}");
            assert_eq!(by_id[&id].values, ROWS as u64, "{name}");
        }
        let strings = |name: &str| -> Vec<String> {
            column(name)
                .iter()
                .flat_map(|c| {
                    c.as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let ids = strings("id");
        assert_eq!(
            decode(&by_id[&1].lower),
            ids.iter().min().unwrap().as_bytes()
        );
        assert_eq!(
            decode(&by_id[&1].upper),
            ids.iter().max().unwrap().as_bytes()
        );
        let n32: Vec<i32> = primitive::<Int32Type>(&column("n32"));
        assert_eq!(
            i32_of(&decode(&by_id[&2].lower)),
            *n32.iter().min().unwrap()
        );
        assert_eq!(
            i32_of(&decode(&by_id[&2].upper)),
            *n32.iter().max().unwrap()
        );
        let n64: Vec<i64> = primitive::<Int64Type>(&column("n64"));
        assert_eq!(
            i64_of(&decode(&by_id[&3].lower)),
            *n64.iter().min().unwrap()
        );
        assert_eq!(
            i64_of(&decode(&by_id[&3].upper)),
            *n64.iter().max().unwrap()
        );
        // Timestamps in microseconds.
        let t: Vec<i64> = primitive::<TimestampMillisecondType>(&column("t"));
        assert_eq!(
            i64_of(&decode(&by_id[&4].lower)),
            t.iter().min().unwrap() * 1_000
        );
        assert_eq!(
            i64_of(&decode(&by_id[&4].upper)),
            t.iter().max().unwrap() * 1_000
        );
        let flags: Vec<bool> = column("flag")
            .iter()
            .flat_map(|c| c.as_boolean().iter().flatten().collect::<Vec<_>>())
            .collect();
        assert!(flags.contains(&true) && flags.contains(&false));
        assert_eq!(
            (decode(&by_id[&5].lower), decode(&by_id[&5].upper)),
            (vec![0], vec![1])
        );
        // No bounds for doubles, nor inside lists.
        assert_eq!((&by_id[&6].lower, &by_id[&6].upper), (&None, &None));
        assert_eq!((&by_id[&8].lower, &by_id[&8].upper), (&None, &None));
        // A first row group of nulls only leaves the bounds to the others.
        let late: Vec<i32> = primitive::<Int32Type>(&column("late"));
        assert_eq!(by_id[&9].nulls, Some(100));
        assert_eq!(
            i32_of(&decode(&by_id[&9].lower)),
            *late.iter().min().unwrap()
        );
        assert_eq!(
            i32_of(&decode(&by_id[&9].upper)),
            *late.iter().max().unwrap()
        );
        // Long strings: truncated, still bounds.
        let long = strings("long");
        let (lower, upper) = (decode(&by_id[&10].lower), decode(&by_id[&10].upper));
        assert!(
            lower.len() <= 64 && upper.len() <= 64,
            "{lower:?} {upper:?}"
        );
        assert!(long.iter().all(|s| lower.as_slice() <= s.as_bytes()));
        assert!(long.iter().all(|s| upper.as_slice() >= s.as_bytes()));
    }

    #[test]
    fn a_row_group_with_values_but_no_min_or_max_drops_the_bounds() {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(100))
            .build();
        let mut writer = PartWriter::try_new(Vec::new(), schema(), props, 1).unwrap();
        writer.write(&batch(0, ROWS)).unwrap();
        let groups = writer.finish().unwrap().row_groups().to_vec();
        let whole = column_metrics(&groups);
        // The second row group's `n32` (leaf 1) without statistics.
        let mut blind = groups.clone();
        let columns = blind[1].columns_mut();
        columns[1] = columns[1]
            .clone()
            .into_builder()
            .clear_statistics()
            .build()
            .unwrap();
        let metrics = column_metrics(&blind);
        assert_eq!(metrics[1].id, 2);
        assert_eq!(
            (&metrics[1].lower, &metrics[1].upper, metrics[1].nulls),
            (&None, &None, None)
        );
        assert_eq!(metrics[1].values, whole[1].values);
        // The other columns keep theirs.
        assert_eq!(metrics[0], whole[0]);
        assert_eq!(metrics[2..], whole[2..]);
        assert!(whole[1].lower.is_some());
    }
}
