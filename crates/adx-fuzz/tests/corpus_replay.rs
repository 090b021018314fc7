//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and the reproducers of every
//! defect the fuzzer found (`fuzz/regressions/<target>/`: crashes, and inputs whose quarantine
//! or CPU cost was out of all proportion to their size) through the targets, so that every
//! input the fuzzer kept, and every defect it found, stays fixed. A corpus folder that is
//! missing or empty fails (a replay of nothing proves nothing); a regressions folder exists
//! only for a target that has had a defect, and then must not be empty, and must be named
//! after a target.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} cannot be listed: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
}

fn replay(folder: &str, name: &str) {
    let target = adx_fuzz::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {name}"));
    let dir = fuzz_dir().join(folder).join(name);
    if folder == "regressions" && !dir.exists() {
        return;
    }
    let mut failed = Vec::new();
    for path in inputs(&dir) {
        let data = std::fs::read(&path).expect("an input reads");
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{name}: inputs that fail: {failed:#?}");
}

#[test]
fn regression_folders_are_named_after_targets() {
    let dir = fuzz_dir().join("regressions");
    let mut folders = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions lists") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(
            path.is_dir() && adx_fuzz::TARGETS.iter().any(|(n, _)| *n == name),
            "{} is not a folder named after a target",
            path.display()
        );
        folders += 1;
    }
    assert!(folders > 0, "no regression folder at all");
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        mod corpus {
            $(#[test]
            fn $target() {
                super::replay("corpus", stringify!($target));
            })*
        }
        mod regressions {
            $(#[test]
            fn $target() {
                super::replay("regressions", stringify!($target));
            })*
        }
    };
}

replay_tests!(
    csv_file,
    json_lines_file,
    avro_file,
    glue_record,
    s3_event,
    msk_event
);

#[test]
fn every_target_has_a_replay() {
    let names: Vec<&str> = adx_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "csv_file",
            "json_lines_file",
            "avro_file",
            "glue_record",
            "s3_event",
            "msk_event"
        ]
    );
    for name in names {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("adx_fuzz::{name}(")),
            "{} does not call adx_fuzz::{name}",
            source.display()
        );
    }
}
