//! `adx doctor`: checks a deployment (buckets, registry, registered schemas, MSK cluster and
//! topics, and the Iceberg tables: each exists, follows its contract, and receives commits)
//! and prints a table of what is fine and what is not. With `--stack`, the stack's outputs name
//! all of these, and the stack's wiring (event source mappings, landing notifications, alarm
//! subscription) is checked too.

use crate::schema_files::read_dir;
use adx_aws::doctor::{Deployment, Verdict, examine, render};
use adx_aws::stack::{StackOutputs, StackWiring, examine_wiring, output};
use adx_aws::{AwsContext, AwsSettings};
use adx_tables::aws::{AwsCommitter, CommitterSettings};
use clap::Args;
use clap::parser::ValueSource;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// `adx doctor`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
  adx doctor --stack adx-prod          # everything from the stack's outputs, plus its wiring\n  \
  adx doctor --cluster-arn arn:aws:kafka:... --database adx_prod_curated\n\n\
A flag typed on the command line wins over the stack's output, which wins over the flag's \
environment variable, which wins over the default.")]
pub struct DoctorArgs {
    /// A deployed stack (the stack name of `sam deploy`): its outputs name the buckets, the
    /// registry, the database, the cluster, the topics and the functions, and the doctor also
    /// checks the stream function's event source mappings, the landing bucket's notifications
    /// and the alarm topic's subscription.
    #[arg(long, env = "ADX_STACK")]
    stack: Option<String>,
    /// The bucket that receives file drops [default: adx-landing].
    #[arg(long, env = "LANDING_BUCKET")]
    landing_bucket: Option<String>,
    /// The bucket of curated Parquet [default: adx-curated].
    #[arg(long, env = "CURATED_BUCKET")]
    curated_bucket: Option<String>,
    /// The bucket of quarantined records [default: adx-quarantine].
    #[arg(long, env = "QUARANTINE_BUCKET")]
    quarantine_bucket: Option<String>,
    /// Glue registry name [default: advertisex].
    #[arg(long, env = "REGISTRY_NAME")]
    registry: Option<String>,
    /// Folder of `<dataset>.avsc` files the registry should match.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// ARN of the MSK cluster the stream function reads.
    #[arg(long, env = "MSK_CLUSTER_ARN")]
    cluster_arn: Option<String>,
    /// Topics the stream function reads (comma-separated); the dataset names by default.
    #[arg(long, env = "MSK_TOPICS", value_delimiter = ',')]
    topics: Vec<String>,
    /// The Glue database of the tables (the template's `GlueDatabase` output): checks that each
    /// dataset's table exists, follows its contract, and receives commits.
    #[arg(long, env = "TABLE_DATABASE")]
    database: Option<String>,
    /// A table with pending files and no commit for this many minutes is reported.
    #[arg(long, default_value_t = 10)]
    stale_minutes: i64,
}

/// The ids of the doctor's flags typed on the command line (not taken from the environment or
/// a default): only those win over the stack's outputs.
pub fn typed_flags(matches: &clap::ArgMatches) -> BTreeSet<String> {
    let Some(doctor) = matches.subcommand_matches("doctor") else {
        return BTreeSet::new();
    };
    doctor
        .ids()
        .filter(|id| doctor.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

/// A value of the doctor's: the flag if typed, else the stack's output, else the flag's
/// environment variable; `None` when none of them has a non-empty value.
struct Picker<'a> {
    typed: &'a BTreeSet<String>,
    stack: Option<&'a StackOutputs>,
}

impl Picker<'_> {
    fn pick(&self, id: &str, given: Option<String>, output: &str) -> Option<String> {
        let given = given.filter(|v| !v.trim().is_empty());
        if self.typed.contains(id) {
            return given;
        }
        self.stack
            .and_then(|s| s.get(output))
            .map(str::to_string)
            .or(given)
    }
}

/// Runs `adx doctor`: fails when any check fails.
pub fn run(args: DoctorArgs, typed: &BTreeSet<String>) -> Result<(), String> {
    let schemas = read_dir(&args.schemas)?;
    let datasets = schemas
        .iter()
        .map(|s| {
            adx_core::Dataset::from_registered(&adx_core::RegisteredSchema {
                name: s.name.clone(),
                version_id: String::new(),
                version_number: 1,
                data_format: "AVRO".into(),
                definition: s.definition.clone(),
            })
            .map(std::sync::Arc::new)
            .map_err(|e| format!("{}: {e}", s.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let settings = AwsSettings::from_env().map_err(|e| e.to_string())?;
    let context = AwsContext::load(&settings).map_err(|e| e.to_string())?;
    let stack = match args.stack.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(name) => Some(StackOutputs::read(&context, name).map_err(|e| e.to_string())?),
        None => None,
    };
    let stack = stack.as_ref();
    let picker = Picker { typed, stack };
    let or = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
    let landing = or(
        picker.pick(
            "landing_bucket",
            args.landing_bucket,
            output::LANDING_BUCKET,
        ),
        "adx-landing",
    );
    let curated_bucket = or(
        picker.pick(
            "curated_bucket",
            args.curated_bucket,
            output::CURATED_BUCKET,
        ),
        "adx-curated",
    );
    let quarantine = or(
        picker.pick(
            "quarantine_bucket",
            args.quarantine_bucket,
            output::QUARANTINE_BUCKET,
        ),
        "adx-quarantine",
    );
    let registry = or(
        picker.pick("registry", args.registry, output::REGISTRY),
        "advertisex",
    );
    let listed = (!args.topics.is_empty()).then(|| args.topics.join(","));
    let topics = match picker.pick("topics", listed, output::TOPICS) {
        Some(listed) => listed
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        None => schemas.iter().map(|s| s.name.clone()).collect(),
    };
    let deployment = Deployment {
        buckets: vec![
            ("landing".into(), landing.clone()),
            ("curated".into(), curated_bucket.clone()),
            ("quarantine".into(), quarantine),
        ],
        registry: registry.clone(),
        schemas: schemas
            .into_iter()
            .map(|s| (s.name, s.definition))
            .collect(),
        cluster_arn: picker.pick("cluster_arn", args.cluster_arn, output::CLUSTER_ARN),
        topics,
    };
    let mut findings = Vec::new();
    if let Some(outputs) = stack {
        findings.push(outputs.status_finding());
    }
    findings.extend(examine(&context, &deployment));
    if let Some(outputs) = stack {
        findings.extend(examine_wiring(
            &context,
            &StackWiring {
                landing_bucket: landing,
                file_function: outputs.get(output::FILE_FUNCTION).map(str::to_string),
                stream_function: outputs.get(output::STREAM_FUNCTION).map(str::to_string),
                alarm_topic_arn: outputs.get(output::ALARM_TOPIC).map(str::to_string),
            },
        ));
    }
    if let Some(database) = picker.pick("database", args.database, output::DATABASE) {
        let committer = AwsCommitter::new(CommitterSettings {
            curated_bucket,
            registry_name: registry,
            database,
            optimizer_role: None,
            settle: adx_tables::aws::DEFAULT_SETTLE,
        })
        .map_err(|e| e.to_string())?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        findings.extend(committer.examine_tables(&datasets, now_ms, args.stale_minutes * 60_000));
    }
    print!("{}", render(&findings));
    let failed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fail)
        .count();
    if failed > 0 {
        return Err(format!("{failed} check(s) failed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stack() -> StackOutputs {
        StackOutputs {
            name: "adx-prod".into(),
            status: "UPDATE_COMPLETE".into(),
            values: BTreeMap::from([
                (
                    output::TOPICS.to_string(),
                    "ad_impressions,bid_requests".to_string(),
                ),
                (output::LANDING_BUCKET.to_string(), "from-stack".to_string()),
            ]),
        }
    }

    #[test]
    fn a_typed_flag_wins_then_the_stack_then_the_environment() {
        let outputs = stack();
        let none = BTreeSet::new();
        let typed = BTreeSet::from(["landing_bucket".to_string()]);
        let from_env = Some("from-env".to_string());
        // Given through the environment (not typed): the stack's output wins.
        let picker = Picker {
            typed: &none,
            stack: Some(&outputs),
        };
        assert_eq!(
            picker.pick("landing_bucket", from_env.clone(), output::LANDING_BUCKET),
            Some("from-stack".into())
        );
        // Typed: the flag wins.
        let picker = Picker {
            typed: &typed,
            stack: Some(&outputs),
        };
        assert_eq!(
            picker.pick(
                "landing_bucket",
                Some("typed".into()),
                output::LANDING_BUCKET
            ),
            Some("typed".into())
        );
        // No stack output: the environment's value stands.
        let picker = Picker {
            typed: &none,
            stack: Some(&outputs),
        };
        assert_eq!(
            picker.pick("registry", from_env.clone(), output::REGISTRY),
            from_env
        );
        // The topics of the stack's output, over the environment's list.
        assert_eq!(
            picker.pick("topics", Some("env-topic".into()), output::TOPICS),
            Some("ad_impressions,bid_requests".into())
        );
        // No stack at all: the environment's value.
        let picker = Picker {
            typed: &none,
            stack: None,
        };
        assert_eq!(
            picker.pick("topics", Some("env-topic".into()), output::TOPICS),
            Some("env-topic".into())
        );
    }
}
