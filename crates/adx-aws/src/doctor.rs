//! The checks of `adx doctor`: does a deployment have what the functions need? Buckets,
//! registry, registered schemas equal to `schemas/`, and an ACTIVE MSK cluster with its topics.

use crate::error::{describe, status};
use crate::glue_admin::GlueAdmin;
use crate::{AwsContext, msk};
use adx_core::{SchemaChange, compare_schemas};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Not checked, or not wrong but worth a look.
    Warn,
    /// Wrong: the functions would fail or lose data.
    Fail,
}

impl Verdict {
    /// `ok`, `warn` or `FAIL`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One row of the doctor's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked (`bucket curated`, `schema bid_requests`, ...).
    pub what: String,
    /// How it came out.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
}

/// What a deployment should have.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// Buckets by role (`landing`, `curated`, `quarantine`).
    pub buckets: Vec<(String, String)>,
    /// Glue registry name.
    pub registry: String,
    /// Dataset schemas as in `schemas/`: (name, definition).
    pub schemas: Vec<(String, String)>,
    /// The MSK cluster, if the deployment has one.
    pub cluster_arn: Option<String>,
    /// Topics the stream function reads.
    pub topics: Vec<String>,
}

fn finding(what: String, verdict: Verdict, detail: impl Into<String>) -> Finding {
    Finding {
        what,
        verdict,
        detail: detail.into(),
    }
}

/// Runs every check; a failed call is a failed check, never an early stop.
pub fn examine(context: &AwsContext, deployment: &Deployment) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (role, bucket) in &deployment.buckets {
        let what = format!("bucket {role}");
        let answer = context.block_on(context.s3().head_bucket().bucket(bucket).send());
        findings.push(match answer {
            Ok(_) => finding(what, Verdict::Ok, format!("s3://{bucket} exists")),
            Err(e) if status(&e) == Some(404) => {
                finding(what, Verdict::Fail, format!("s3://{bucket} does not exist"))
            }
            Err(e) if status(&e) == Some(403) => {
                finding(what, Verdict::Fail, format!("s3://{bucket}: access denied"))
            }
            Err(e) => finding(
                what,
                Verdict::Fail,
                format!("s3://{bucket}: {}", describe(&e)),
            ),
        });
    }

    let admin = GlueAdmin::new(context, &deployment.registry);
    let registry_ok = match admin.registry_exists() {
        Ok(true) => {
            findings.push(finding(
                "registry".into(),
                Verdict::Ok,
                format!("{} exists", deployment.registry),
            ));
            true
        }
        Ok(false) => {
            findings.push(finding(
                "registry".into(),
                Verdict::Fail,
                format!(
                    "{} does not exist (adx schemas push creates it)",
                    deployment.registry
                ),
            ));
            false
        }
        Err(e) => {
            findings.push(finding("registry".into(), Verdict::Fail, e.to_string()));
            false
        }
    };
    for (name, definition) in &deployment.schemas {
        let what = format!("schema {name}");
        if !registry_ok {
            findings.push(finding(what, Verdict::Fail, "no registry to hold it"));
            continue;
        }
        findings.push(match admin.latest(name) {
            Err(e) => finding(what, Verdict::Fail, e.to_string()),
            Ok(None) => finding(what, Verdict::Fail, "not registered (adx schemas push)"),
            Ok(Some(latest)) => {
                let version = latest.version_number;
                match compare_schemas(name, Some(&latest.definition), definition) {
                    Ok(SchemaChange::Unchanged) => finding(
                        what,
                        Verdict::Ok,
                        format!("version {version} matches schemas/"),
                    ),
                    Ok(SchemaChange::Compatible) => finding(
                        what,
                        Verdict::Warn,
                        format!("version {version} differs from schemas/ (adx schemas push)"),
                    ),
                    Ok(SchemaChange::Breaking(reason)) => finding(
                        what,
                        Verdict::Fail,
                        format!("schemas/ breaks version {version}: {reason}"),
                    ),
                    Ok(SchemaChange::New) => finding(what, Verdict::Fail, "not registered"),
                    Err(reason) => finding(what, Verdict::Fail, format!("schemas/: {reason}")),
                }
            }
        });
    }

    let Some(arn) = &deployment.cluster_arn else {
        findings.push(finding(
            "msk cluster".into(),
            Verdict::Warn,
            "not checked: no cluster ARN given (--cluster-arn or MSK_CLUSTER_ARN)",
        ));
        return findings;
    };
    match msk::cluster_state(context, arn) {
        Ok(state) if state == "ACTIVE" => findings.push(finding(
            "msk cluster".into(),
            Verdict::Ok,
            format!("{arn} is ACTIVE"),
        )),
        Ok(state) => findings.push(finding(
            "msk cluster".into(),
            Verdict::Fail,
            format!("{arn} is {state}, not ACTIVE"),
        )),
        Err(e) => findings.push(finding("msk cluster".into(), Verdict::Fail, e.to_string())),
    }
    match msk::topic_names(context, arn) {
        Ok(existing) => {
            for topic in &deployment.topics {
                let what = format!("topic {topic}");
                findings.push(if existing.iter().any(|t| t == topic) {
                    finding(what, Verdict::Ok, "exists")
                } else {
                    finding(what, Verdict::Fail, "does not exist on the cluster")
                });
            }
        }
        Err(e) => findings.push(finding("msk topics".into(), Verdict::Fail, e.to_string())),
    }
    findings
}

/// The findings as an aligned text table.
pub fn render(findings: &[Finding]) -> String {
    let width = findings
        .iter()
        .map(|f| f.what.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$}  {:<6}  detail\n", "check", "result");
    for f in findings {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {}\n",
            f.what,
            f.verdict.label(),
            f.detail
        ));
    }
    out
}
