//! Which columns of a part get a Parquet dictionary, decided from the part's first rows.
//!
//! Parquet's writer builds a dictionary for every column until the dictionary outgrows its page
//! limit, then falls back to plain encoding. For a column of near-unique values (ids, prices,
//! millisecond timestamps) that is all cost: every value is hashed and interned, and the
//! dictionary page ends up holding every value once anyway. A sample of the first rows tells
//! such columns apart: with no repeated value in the sample, or a number of distinct values
//! (estimated from the repeats) whose dictionary would pass the page limit, the column is
//! written plain from its first page. Low-cardinality columns (enums, countries, campaigns)
//! keep their dictionary. The choice depends on the part's first rows only, so a retried
//! batch makes the same choice and writes the same bytes.
//!
//! A column whose sample holds at most [`SMALL_DICTIONARY`] distinct values is also written
//! uncompressed: its pages are a tiny dictionary and bit-packed indices of at most 4 bits,
//! which zstd shrinks by a few hundred bytes at best, while a compressed column costs a
//! compression context and a pass over its pages in every part.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_buffer::ToByteSlice;
use arrow_schema::{DataType, TimeUnit};
use xxhash_rust::xxh3::xxh3_64;

/// Values of a column looked at to decide.
pub const SAMPLE_VALUES: usize = 512;

/// Fewer values than this say too little: the column keeps its dictionary.
const MIN_SAMPLE: usize = 64;

/// Distinct values up to which a dictionary column is written uncompressed (indices of at
/// most 4 bits).
pub const SMALL_DICTIONARY: usize = 16;

/// What the first rows of a part say about its candidate columns.
#[derive(Debug, Default, PartialEq)]
pub struct ColumnChoice {
    /// Columns to write without a dictionary.
    pub plain: Vec<String>,
    /// Columns to write with their (small) dictionary and no compression.
    pub uncompressed: Vec<String>,
}

/// How the `candidates` (top-level columns, by name) of `batch` should be written, when
/// dictionary pages above `page_limit` bytes make Parquet fall back to plain encoding.
/// Columns of other types than strings and numbers, and those not named, keep the default.
pub fn choose_columns(
    batch: &RecordBatch,
    candidates: &[String],
    page_limit: usize,
) -> ColumnChoice {
    let mut choice = ColumnChoice::default();
    for name in candidates {
        let Some(sample) = batch.column_by_name(name).and_then(|c| sample(c.as_ref())) else {
            continue;
        };
        if !sample.dictionary_pays(page_limit) {
            choice.plain.push(name.clone());
        } else if sample.small() {
            choice.uncompressed.push(name.clone());
        }
    }
    choice
}

/// What a sample of a column showed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    /// Non-null values looked at.
    values: usize,
    /// Distinct values among them.
    distinct: usize,
    /// Bytes a dictionary entry takes (plain encoding: 4-byte length and the bytes of a string).
    entry_bytes: f64,
}

impl Sample {
    /// Whether the sample is large enough and shows at most [`SMALL_DICTIONARY`] values.
    fn small(&self) -> bool {
        self.values >= MIN_SAMPLE && self.distinct <= SMALL_DICTIONARY
    }

    /// Whether a dictionary is worth building: values repeat, and the estimated number of
    /// distinct values of the column fits the dictionary page.
    fn dictionary_pays(&self, page_limit: usize) -> bool {
        if self.values < MIN_SAMPLE {
            return true;
        }
        let repeats = self.values - self.distinct;
        if repeats == 0 {
            return false;
        }
        // Drawing n values from D equally likely ones repeats about n²/2D times while n is
        // small against D; the distinct values seen are a floor.
        let n = self.values as f64;
        let estimate = (n * n / (2.0 * repeats as f64)).max(self.distinct as f64);
        estimate * self.entry_bytes <= page_limit as f64
    }
}

/// Samples the first non-null values of a flat column; `None` for other types.
fn sample(column: &dyn Array) -> Option<Sample> {
    match column.data_type() {
        DataType::Utf8 => {
            let strings = column.as_string::<i32>();
            let mut bytes = 0usize;
            let hashes = collect(strings.iter().flatten().map(|s| {
                bytes += s.len();
                xxh3_64(s.as_bytes())
            }));
            let values = hashes.len();
            Some(Sample {
                values,
                distinct: distinct(hashes),
                entry_bytes: 4.0 + bytes as f64 / values.max(1) as f64,
            })
        }
        DataType::Int32 => Some(primitive::<Int32Type>(column)),
        DataType::Int64 => Some(primitive::<Int64Type>(column)),
        DataType::Float32 => Some(primitive::<Float32Type>(column)),
        DataType::Float64 => Some(primitive::<Float64Type>(column)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Some(primitive::<TimestampMillisecondType>(column))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Some(primitive::<TimestampMicrosecondType>(column))
        }
        _ => None,
    }
}

fn primitive<T: ArrowPrimitiveType>(column: &dyn Array) -> Sample {
    let array = column.as_primitive::<T>();
    let width = std::mem::size_of::<T::Native>();
    let hashes = collect(array.iter().flatten().map(|v| xxh3_64(v.to_byte_slice())));
    Sample {
        values: hashes.len(),
        distinct: distinct(hashes),
        entry_bytes: width as f64,
    }
}

fn collect(hashes: impl Iterator<Item = u64>) -> Vec<u64> {
    hashes.take(SAMPLE_VALUES).collect()
}

fn distinct(mut hashes: Vec<u64>) -> usize {
    hashes.sort_unstable();
    hashes.dedup();
    hashes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(columns: Vec<(&str, Arc<dyn Array>)>) -> RecordBatch {
        match RecordBatch::try_from_iter(columns) {
            Ok(b) => b,
            Err(e) => panic!("test batch: {e}"),
        }
    }

    #[test]
    fn unique_and_wide_columns_go_plain_repeating_ones_keep_their_dictionary() {
        let rows = 3000;
        let ids = StringArray::from_iter_values((0..rows).map(|i| format!("id-{i:032}")));
        let countries =
            StringArray::from_iter_values((0..rows).map(|i| ["DE", "FR", "IT"][i % 3].to_string()));
        // 300 values over 3,000 rows: they repeat within the sample, their dictionary is small.
        let users = StringArray::from_iter_values((0..rows).map(|i| format!("u-{:06}", i % 300)));
        let prices = Int64Array::from_iter_values((0..rows as i64).map(|i| i * 7919 % 100_003));
        // Repeats, but 200,000 distinct 40-byte values need a dictionary of about 8 MB.
        let wide = StringArray::from_iter_values(
            (0..rows).map(|i| format!("{:040}", (i * 2_654_435_761usize) % 200_000)),
        );
        let nulls = StringArray::from(vec![None::<&str>; rows]);
        let b = batch(vec![
            ("id", Arc::new(ids)),
            ("country", Arc::new(countries)),
            ("user", Arc::new(users)),
            ("price", Arc::new(prices)),
            ("wide", Arc::new(wide)),
            ("nulls", Arc::new(nulls)),
        ]);
        let all = ["id", "country", "user", "price", "wide", "nulls"].map(String::from);
        let choice = choose_columns(&b, &all, 256 << 10);
        assert_eq!(choice.plain, vec!["id", "price", "wide"]);
        // Three countries: a dictionary of indices under 4 bits, left uncompressed.
        assert_eq!(choice.uncompressed, vec!["country"]);
        assert_eq!(
            choose_columns(&b, &all[1..3], 256 << 10).plain,
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_small_sample_keeps_the_dictionary() {
        let ids = StringArray::from_iter_values((0..10).map(|i| format!("id-{i}")));
        let b = batch(vec![("id", Arc::new(ids))]);
        assert_eq!(
            choose_columns(&b, &["id".to_string()], 256 << 10),
            ColumnChoice::default()
        );
    }

    #[test]
    fn the_estimate_follows_the_repeats() {
        let s = Sample {
            values: 512,
            distinct: 510,
            entry_bytes: 40.0,
        };
        // 2 repeats in 512 draws: about 65,000 distinct values, 2.6 MB of dictionary.
        assert!(!s.dictionary_pays(256 << 10));
        assert!(s.dictionary_pays(8 << 20));
        assert!(!s.small());
    }

    #[test]
    fn sixteen_values_are_small_seventeen_are_not() {
        let of = |distinct| Sample {
            values: 512,
            distinct,
            entry_bytes: 6.0,
        };
        assert!(of(1).small());
        assert!(of(SMALL_DICTIONARY).small());
        assert!(!of(SMALL_DICTIONARY + 1).small());
        // Too few values to tell.
        let few = Sample {
            values: MIN_SAMPLE - 1,
            distinct: 2,
            entry_bytes: 6.0,
        };
        assert!(!few.small());
    }
}
