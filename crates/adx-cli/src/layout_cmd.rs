//! `adx layout <file.parquet>`: how a curated Parquet file is laid out, for query engines: its
//! row groups (rows, uncompressed and compressed bytes), and per column of the first row
//! group its encodings, compression, sizes and whether statistics (min/max, nulls) are there.

use clap::Args;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::PathBuf;

/// Arguments of `adx layout`.
#[derive(Args)]
pub struct LayoutArgs {
    /// A Parquet file (a local path: with the embedded default, `<ADX_STORE_ROOT>/curated/...`).
    file: PathBuf,
}

fn mib(bytes: i64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Runs `adx layout`.
pub fn run(args: LayoutArgs) -> Result<(), String> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| format!("opening {}: {e}", args.file.display()))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
    let meta = reader.metadata();
    let file_meta = meta.file_metadata();
    println!(
        "{}: {} rows, {} row groups, {} columns, created by {}",
        args.file.display(),
        file_meta.num_rows(),
        meta.num_row_groups(),
        file_meta.schema_descr().num_columns(),
        file_meta.created_by().unwrap_or("?")
    );
    println!(
        "{:>9} {:>10} {:>16} {:>14}",
        "row group", "rows", "uncompressed MiB", "compressed MiB"
    );
    for (i, rg) in meta.row_groups().iter().enumerate() {
        println!(
            "{:>9} {:>10} {:>16.2} {:>14.2}",
            i,
            rg.num_rows(),
            mib(rg.total_byte_size()),
            mib(rg.compressed_size())
        );
    }
    if let Some(rg) = meta.row_groups().first() {
        println!(
            "\ncolumns of row group 0:\n{:<28} {:<36} {:<10} {:>10} {:>10} {:<6}",
            "column", "encodings", "codec", "unc. KiB", "comp. KiB", "stats"
        );
        for c in rg.columns() {
            let encodings: Vec<String> = c.encodings().map(|e| format!("{e:?}")).collect();
            let stats = match c.statistics() {
                Some(s) if s.min_bytes_opt().is_some() && s.max_bytes_opt().is_some() => "min/max",
                Some(_) => "nulls",
                None => "none",
            };
            println!(
                "{:<28} {:<36} {:<20} {:>10.1} {:>10.1} {:<6}",
                c.column_path().string(),
                encodings.join(","),
                format!("{:?}", c.compression()),
                c.uncompressed_size() as f64 / 1024.0,
                c.compressed_size() as f64 / 1024.0,
                stats
            );
        }
    }
    Ok(())
}
