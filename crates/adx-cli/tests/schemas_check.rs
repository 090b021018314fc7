//! `adx schemas check`: offline, every schema file against its version in git's HEAD: new,
//! unchanged, a compatible change, or a breaking change (refused, with the reason).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check(repo: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(["schemas", "check", "--dir"])
        .arg(repo.join("schemas"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn add_field(path: &Path, field: Value) {
    let mut schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    schema["fields"].as_array_mut().unwrap().push(field);
    std::fs::write(path, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
}

#[test]
fn changes_since_head_are_checked_for_backward_compatibility() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir(repo.join("schemas")).unwrap();
    for name in ["ad_impressions", "click_conversions"] {
        std::fs::copy(
            schema_dir().join(format!("{name}.avsc")),
            repo.join("schemas").join(format!("{name}.avsc")),
        )
        .unwrap();
    }
    git(repo, &["init", "-q"]);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "v1"]);

    let out = check(repo);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out).matches("unchanged since HEAD").count(),
        2,
        "{}",
        text(&out)
    );

    // A new file, and a compatible change: both fine.
    std::fs::copy(
        schema_dir().join("bid_requests.avsc"),
        repo.join("schemas/bid_requests.avsc"),
    )
    .unwrap();
    let clicks = repo.join("schemas/click_conversions.avsc");
    add_field(
        &clicks,
        serde_json::json!({"name": "channel", "type": ["null", "string"], "default": null}),
    );
    let out = check(repo);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bid_requests: new (not in HEAD)"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("click_conversions: changed since HEAD, BACKWARD compatible"),
        "{}",
        text(&out)
    );

    // A required field without a default: refused, with the field named.
    add_field(
        &clicks,
        serde_json::json!({"name": "landing_page", "type": "string"}),
    );
    let out = check(repo);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("click_conversions: BREAKING since HEAD")
            && text(&out).contains("landing_page"),
        "{}",
        text(&out)
    );

    // A schema that is not a valid dataset schema at all.
    std::fs::write(
        repo.join("schemas/ad_impressions.avsc"),
        b"{\"type\": \"record\"",
    )
    .unwrap();
    let out = check(repo);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ad_impressions: INVALID"),
        "{}",
        text(&out)
    );
}
