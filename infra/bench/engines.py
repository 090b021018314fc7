"""The file handler against the fastest columnar engines, per core (issue 31's comparison).

Run by infra/bench/engines.sh, which installs the pinned engines and builds `adx`; see there.
For each case (click_conversions CSV, ad_impressions JSON Lines), the same generated file is
converted by `adx invoke file-ingest` (decode, validate against the contract, de-duplicate,
split by event hour, add lineage, write zstd Parquet) and by DuckDB, Polars and pyarrow (read,
write zstd Parquet at level 1, nothing else), each in its own process pinned to one core, in
rounds whose order rotates. Our CPU time is the whole process's (`adx invoke --stats`); the
engines' is measured inside theirs, after the interpreter's start (convert.py). No engine here
reads the nested bid_requests Avro, so that case (an Avro container file) is converted by
fastavro + pyarrow instead, the Python way of doing it (convert.py). Prints per case and program
the median CPU seconds, records per CPU second, output size, the engine's share of its time
spent reading (where it reads and writes in two steps), and our speed over each program's as
the median of the rounds' ratios (paired).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Each case: dataset, format, and the programs it is converted by besides ours.
CASES = (
    ("click_conversions", "csv", ("duckdb", "polars", "pyarrow")),
    ("ad_impressions", "jsonl", ("duckdb", "polars", "pyarrow")),
    ("bid_requests", "avro", ("fastavro",)),
)


def run(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}")
    return out


def last_json(text):
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    sys.exit(f"no JSON line in:\n{text}")


def generate(adx, work, dataset, fmt, records):
    """The landing object and its S3 event, as `adx gen` writes them."""
    landing = work / "store" / "landing"
    events = work / "events" / dataset
    run([adx, "gen", "--out", landing, "--events", events, "--records", str(records),
         "--seed", "1", "--arrival", "2026-11-28T06:00:00Z", "--dataset", dataset,
         "--format", fmt, "--compression", "none"])
    (obj,) = [p for p in (landing / dataset).rglob("*") if p.is_file()]
    (event,) = list(events.rglob("*.json"))
    return obj, event


def ours(adx, work, schemas, event, dataset):
    store = work / "store"
    for bucket in ("curated", "quarantine"):
        shutil.rmtree(store / bucket, ignore_errors=True)
    # Our settings only: no ADX_* variable of the caller's shell changes the comparison.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADX_")}
    env.update(ADX_STORE_ROOT=str(store), ADX_SCHEMA_DIR=str(schemas),
               CURATED_BUCKET="curated", QUARANTINE_BUCKET="quarantine")
    out = run(["taskset", "-c", "0", adx, "invoke", "file-ingest", "--stats",
               "--event", event], env=env)
    stats = last_json(out.stderr)
    curated = json.loads(out.stdout)["datasets"][dataset]["curated"]
    size = sum(p.stat().st_size for p in (store / "curated" / dataset).rglob("*.parquet"))
    return stats["cpu_s"], size, curated


def engine(python, name, fmt, src, work):
    """CPU seconds, read seconds (None if not apart), output bytes and rows; or why the
    engine's reader refuses the file."""
    dst = work / f"{name}.parquet"
    out = run(["taskset", "-c", "0", python, HERE / "convert.py", name, fmt, src, dst])
    result = last_json(out.stdout)
    if "refused" in result:
        return result["refused"]
    return result["cpu_s"], result["decode_s"], result["output_bytes"], result["rows"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adx", required=True, help="the adx binary")
    parser.add_argument("--python", required=True, help="the engines venv's python")
    parser.add_argument("--schemas", default="schemas")
    parser.add_argument("--work", default="out/bench-engines")
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    schemas = Path(args.schemas).resolve()
    print(f"{args.records:,} records per file, {args.rounds} rounds, one core "
          "(taskset -c 0), medians; zstd level 1 for the engines")
    print(f"{'case':<24} {'program':<8} {'CPU s':>7} {'records/s':>11} {'output MB':>10} "
          f"{'us / it':>8} {'read share':>10}")
    for dataset, fmt, engines in CASES:
        src, event = generate(args.adx, work, dataset, fmt, args.records)
        programs = ("adx",) + engines
        cpu = {p: [] for p in programs}
        read = {p: [] for p in programs}
        size = {}
        failed = {}
        for r in range(args.rounds):
            order = programs[r % len(programs):] + programs[:r % len(programs)]
            for p in order:
                if p in failed:
                    continue
                if p == "adx":
                    c, s, curated = ours(args.adx, work, schemas, event, dataset)
                    if curated != args.records:
                        sys.exit(f"adx curated {curated} records of {args.records}")
                else:
                    result = engine(args.python, p, fmt, src, work)
                    if isinstance(result, str):
                        failed[p] = result
                        continue
                    c, d, s, rows = result
                    if rows != args.records:
                        sys.exit(f"{p} read {rows} rows of {args.records}")
                    if d is not None:
                        read[p].append(d / c)
                cpu[p].append(c)
                size[p] = s
        case = f"{dataset} {fmt}"
        for p, reason in failed.items():
            print(f"{case:<24} {p:<8} cannot convert this file: {reason}")
        programs = tuple(p for p in programs if p not in failed)
        for p in programs:
            median = statistics.median(cpu[p])
            # Our speed over this program's: the median of the rounds' ratios (paired).
            ratio = statistics.median(o / a for o, a in zip(cpu[p], cpu["adx"]))
            shown = "" if p == "adx" else f"{ratio:.2f}"
            share = f"{statistics.median(read[p]):.0%}" if read[p] else ""
            print(f"{case:<24} {p:<8} {median:>7.3f} {args.records / median:>11,.0f} "
                  f"{size[p] / 1e6:>10.1f} {shown:>8} {share:>10}")
        if len(programs) < 2:
            print(f"{case:<24} no engine converted this file")
            continue
        fastest = min(programs[1:], key=lambda p: statistics.median(cpu[p]))
        ratio = statistics.median(o / a for o, a in zip(cpu[fastest], cpu["adx"]))
        print(f"{case:<24} us / fastest ({fastest}): {ratio:.2f}; output size us / it: "
              f"{size['adx'] / size[fastest]:.2f}")


if __name__ == "__main__":
    main()
