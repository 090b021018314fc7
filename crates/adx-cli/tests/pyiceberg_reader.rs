//! The demo's tables through an independent Iceberg reader: pyiceberg (Python, pyarrow) opens
//! the SQL catalog `adx demo` leaves in its folder, reads every table whole (the records the
//! demo committed, event times as microsecond UTC timestamps), and a scan filtered on
//! `event_time` returns exactly the matching rows while planning fewer files (the hourly
//! partitions and the column bounds of our metrics prune).
//!
//! Run by `infra/test-all.sh`: `infra/local/install.sh` makes the pyiceberg venv and
//! `infra/local/env.sh` names its interpreter (`ADX_PYICEBERG_PYTHON`).

mod common;

use serde_json::Value;
use std::process::Command;

#[test]
#[ignore = "needs the pyiceberg venv: infra/local/install.sh, then source infra/local/env.sh"]
fn pyiceberg_reads_the_demo_tables_and_prunes_by_event_time() {
    let python = std::env::var("ADX_PYICEBERG_PYTHON").expect(
        "ADX_PYICEBERG_PYTHON is not set: infra/local/install.sh, then source infra/local/env.sh",
    );
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let demo = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(["demo", "--dir", root.to_str().unwrap()])
        .args(["--records", "300", "--stream-records", "300"])
        .current_dir(common::aws::repo_root())
        .env_remove("ADX_STORE_ROOT")
        .env_remove("ADX_SCHEMA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "{stdout}");
    // What the demo committed, per table, from its summary.
    let committed: Vec<(String, u64)> = stdout
        .lines()
        .filter(|l| l.contains("data files committed"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_string(), cols[1].parse().unwrap())
        })
        .collect();
    assert_eq!(committed.len(), 3, "{stdout}");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyiceberg_read.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(root.join("_tables").join("catalog.db"))
        .arg(root.join("curated"))
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (table, records) in committed {
        let t = &tables[&table];
        assert_eq!(t["rows"], records, "{table}: {t}");
        assert_eq!(t["event_time_type"], "timestamp[us, tz=UTC]", "{table}");
        assert!(
            t["partition_spec"]
                .as_str()
                .is_some_and(|s| s.contains("hour")),
            "{table}: {t}"
        );
        assert_eq!(
            t["filtered_rows"], t["filtered_rows_expected"],
            "{table}: {t}"
        );
        assert!(
            t["filtered_files"].as_u64() < t["files"].as_u64(),
            "{table}: the filter prunes files: {t}"
        );
        assert!(t["source_partition_nulls"].as_u64() > Some(0), "{table}");
    }
}
