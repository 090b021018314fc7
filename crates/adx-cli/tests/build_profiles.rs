//! The build settings that keep the Lambda functions as optimized as before while the README's
//! first command builds quickly. `sam build` runs `cargo lambda build --release`, which adds
//! `lto = "thin"`, `codegen-units = 1`, `strip` and `panic = "abort"` for each of these keys the
//! workspace's `[profile.release]` leaves out: so `lto` must stay out of it (the functions get
//! thin LTO from cargo-lambda; a local `cargo build --release` skips the LTO pass), and
//! `codegen-units` must stay in it (or cargo-lambda would force one unit and slow `sam build`).

use std::collections::BTreeMap;

fn root_file(name: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../").to_string() + name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `key = value` lines of one `[section]` of a TOML file (enough for the profiles).
fn section(text: &str, name: &str) -> BTreeMap<String, String> {
    let header = format!("[{name}]");
    text.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[test]
fn the_functions_keep_thin_lto_and_the_local_build_skips_it() {
    let cargo = root_file("Cargo.toml");
    let release = section(&cargo, "profile.release");
    assert!(!release.is_empty(), "no [profile.release]");
    assert!(
        !release.contains_key("lto"),
        "[profile.release] sets lto: cargo-lambda would not add thin LTO to the functions' \
         build any more, or the local build would pay for it: {release:?}"
    );
    assert_eq!(
        release.get("codegen-units").map(String::as_str),
        Some("4"),
        "without codegen-units, cargo-lambda forces 1: {release:?}"
    );
    for measured in ["profile.bench", "profile.measure"] {
        let profile = section(&cargo, measured);
        assert_eq!(
            profile.get("lto").map(String::as_str),
            Some("\"thin\""),
            "{measured} measures what Lambda runs: thin LTO"
        );
        assert_eq!(
            profile.get("inherits").map(String::as_str),
            Some("\"release\"")
        );
    }
}

#[test]
fn the_first_command_builds_only_the_embedded_default() {
    // The demo needs neither AWS nor Kafka: the README's first command leaves them out, and
    // the tool's default build keeps them.
    let readme = root_file("README.md");
    assert!(
        readme.contains("cargo run --release -p adx-cli --no-default-features -- demo"),
        "the README's first command"
    );
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let features = section(&manifest, "features");
    assert_eq!(
        features.get("default").map(String::as_str),
        Some("[\"aws\", \"kafka\"]")
    );
}
