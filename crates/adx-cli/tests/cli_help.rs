//! The tool explains itself: the top-level help says what every command is for, the commands
//! people start from show an example, and an enumerated option lists its values in its help
//! and refuses any other value with that list.

use std::process::Command;

fn adx(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_says_what_it_is_for() {
    let (ok, help, _) = adx(&["--help"]);
    assert!(ok);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(commands.len() >= 12, "{help}");
    for line in commands {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap();
        assert!(words.count() >= 3, "`{name}` has no description: {line}");
    }
}

#[test]
fn the_commands_people_start_from_show_an_example() {
    for command in [
        &["invoke", "--help"][..],
        &["gen", "--help"],
        &["consume", "--help"],
        &["quarantine", "replay", "--help"],
        &["failed", "redrive", "--help"],
        &["commit", "--help"],
        &["tables", "sync", "--help"],
    ] {
        let (ok, help, _) = adx(command);
        assert!(ok, "{command:?}");
        assert!(help.contains("Example"), "{command:?}: no example\n{help}");
        assert!(
            help.contains("adx "),
            "{command:?}: the example runs adx\n{help}"
        );
    }
}

#[test]
fn an_enumerated_option_lists_its_values_and_refuses_others() {
    for (option, values) in [
        (
            "--format",
            "csv, jsonl, json, avro, avro-deflate, avro-snappy, avro-zstd",
        ),
        ("--compression", "none, gz, zst"),
        ("--stream-encoding", "glue, glue-zlib, json"),
    ] {
        let (ok, _, err) = adx(&["gen", "--out", "/nonexistent", option, "nope"]);
        assert!(!ok, "{option} nope was accepted");
        assert!(
            err.contains("invalid value 'nope'") && err.contains(values),
            "{option}: {err}"
        );
    }
    let (_, help, _) = adx(&["gen", "--help"]);
    assert!(
        help.contains("avro-snappy") && help.contains("glue-zlib"),
        "{help}"
    );
    let (ok, _, err) = adx(&["commit", "--catalog", "hive"]);
    assert!(!ok && err.contains("local, glue"), "{err}");
}

#[test]
fn the_commands_that_write_say_which_buckets_they_need_and_take_them_as_flags() {
    for command in [
        &["invoke", "--help"][..],
        &["consume", "--help"],
        &["failed", "redrive", "--help"],
        &["quarantine", "replay", "--help"],
    ] {
        let (ok, help, _) = adx(command);
        assert!(ok, "{command:?}");
        assert!(help.contains("Buckets (required"), "{command:?}: {help}");
        for (flag, variable) in [
            ("--curated-bucket <BUCKET>", "[env: CURATED_BUCKET"),
            ("--quarantine-bucket <BUCKET>", "[env: QUARANTINE_BUCKET"),
        ] {
            assert!(
                help.contains(flag) && help.contains(variable),
                "{command:?} lacks {flag} ({variable}): {help}"
            );
        }
    }
}

#[test]
fn a_bucket_missing_from_flags_and_environment_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(["invoke", "file-ingest", "--event", "-"])
        .env_remove("CURATED_BUCKET")
        .env_remove("QUARANTINE_BUCKET")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--curated-bucket") && stderr.contains("CURATED_BUCKET"),
        "{stderr}"
    );
}
