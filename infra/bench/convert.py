"""One engine's conversion of one file to zstd Parquet, timed inside the process.

Usage: convert.py ENGINE FORMAT INPUT OUTPUT
  ENGINE  duckdb | polars | pyarrow (FORMAT csv or jsonl) | fastavro (FORMAT avro)
  FORMAT  csv | jsonl | avro

fastavro is the Python way of doing what no engine here does, reading nested Avro (bid_requests):
fastavro decodes the container file into records, pyarrow makes a table of them
(`Table.from_pylist`, its own type inference) and writes it.

Each engine is held to one thread (and infra/bench/engines.py runs this under `taskset -c 0`),
reads INPUT with its own reader and type inference, and writes OUTPUT as Parquet with zstd at
level 1. The process CPU time of the read and the write (every thread's, `time.process_time`)
is measured after the imports, so the interpreter's start is not counted against the engine.
Prints one JSON line: engine, format, cpu_s, decode_s (the read alone; null where read and
write are one statement), rows, output_bytes; or, when the engine's reader refuses the file
(its types), engine, format and the reason as `refused`.
"""

import json
import os
import sys
import time

os.environ.setdefault("POLARS_MAX_THREADS", "1")


def convert_duckdb(fmt, src, dst):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    reader = "read_csv" if fmt == "csv" else "read_ndjson"
    target = str(dst).replace("'", "''")
    start = time.process_time()
    decoded = None  # read and write are one statement
    con.execute(
        f"COPY (SELECT * FROM {reader}(?)) TO '{target}' "
        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
        [src],
    )
    cpu = time.process_time() - start
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [dst]).fetchone()[0]
    return cpu, decoded, rows


def convert_polars(fmt, src, dst):
    import polars as pl

    start = time.process_time()
    frame = pl.read_csv(src) if fmt == "csv" else pl.read_ndjson(src)
    decoded = time.process_time() - start
    frame.write_parquet(dst, compression="zstd", compression_level=1)
    return time.process_time() - start, decoded, frame.height


def convert_pyarrow(fmt, src, dst):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    start = time.process_time()
    try:
        if fmt == "csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(src, read_options=pcsv.ReadOptions(use_threads=False))
        else:
            import pyarrow.json as pjson

            table = pjson.read_json(src, read_options=pjson.ReadOptions(use_threads=False))
    except pa.ArrowInvalid as refused:
        raise Refused(f"pyarrow: {refused}") from refused
    decoded = time.process_time() - start
    pq.write_table(table, dst, compression="zstd", compression_level=1)
    return time.process_time() - start, decoded, table.num_rows


def convert_fastavro(fmt, src, dst):
    import fastavro
    import pyarrow as pa
    import pyarrow.parquet as pq

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    start = time.process_time()
    with open(src, "rb") as f:
        records = list(fastavro.reader(f))
    decoded = time.process_time() - start
    try:
        table = pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as refused:
        raise Refused(f"pyarrow: {refused}") from refused
    pq.write_table(table, dst, compression="zstd", compression_level=1)
    return time.process_time() - start, decoded, table.num_rows


class Refused(Exception):
    """The engine's reader refuses the file (not a fault of this script)."""


ENGINES = {
    "duckdb": convert_duckdb,
    "polars": convert_polars,
    "pyarrow": convert_pyarrow,
    "fastavro": convert_fastavro,
}
FORMATS = {"duckdb": ("csv", "jsonl"), "polars": ("csv", "jsonl"), "pyarrow": ("csv", "jsonl"),
           "fastavro": ("avro",)}


def main():
    if len(sys.argv) != 5 or sys.argv[2] not in FORMATS.get(sys.argv[1], ()):
        sys.exit(__doc__)
    engine, fmt, src, dst = sys.argv[1:]
    if os.path.exists(dst):
        os.remove(dst)
    try:
        cpu, decoded, rows = ENGINES[engine](fmt, src, dst)
    except Refused as refused:
        print(json.dumps({"engine": engine, "format": fmt, "refused": str(refused)}))
        return
    print(
        json.dumps(
            {
                "engine": engine,
                "format": fmt,
                "cpu_s": cpu,
                "decode_s": decoded,
                "rows": rows,
                "output_bytes": os.path.getsize(dst),
            }
        )
    )


if __name__ == "__main__":
    main()
