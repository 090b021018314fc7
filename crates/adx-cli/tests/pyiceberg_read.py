"""Reads the demo's Iceberg tables with pyiceberg (an independent reader) and prints, as JSON,
per table: its rows, the type of event_time, and a scan filtered on event_time (hidden
partitioning) against a filter of the rows read whole, with the files each scan plans.

Usage: pyiceberg_read.py <catalog.db> <warehouse folder>
"""
import json
import sys

import pyiceberg.expressions as E
from pyiceberg.catalog.sql import SqlCatalog

catalog_file, warehouse = sys.argv[1], sys.argv[2]
catalog = SqlCatalog("adx", uri=f"sqlite:///{catalog_file}", warehouse=f"file://{warehouse}")
out = {}
for name in ["ad_impressions", "click_conversions", "bid_requests"]:
    table = catalog.load_table(f"advertisex.{name}")
    whole = table.scan().to_arrow()
    times = sorted(whole.column("event_time").to_pylist())
    middle = times[len(times) // 2]
    filtered = table.scan(row_filter=E.GreaterThanOrEqual("event_time", middle.isoformat()))
    out[name] = {
        "rows": whole.num_rows,
        "event_time_type": str(whole.schema.field("event_time").type),
        "partition_spec": str(table.spec()),
        "filtered_rows": filtered.to_arrow().num_rows,
        "filtered_rows_expected": sum(1 for t in times if t >= middle),
        "files": len(list(table.scan().plan_files())),
        "filtered_files": len(list(filtered.plan_files())),
        "source_partition_nulls": whole.column("_source_partition").null_count,
    }
print(json.dumps(out))
