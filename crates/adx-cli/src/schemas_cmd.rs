//! `adx schemas push` registers `schemas/` in the Glue Schema Registry; `adx schemas check`
//! checks, offline, that every change since a git revision keeps BACKWARD compatibility.

use crate::schema_files::{SchemaFile, read_dir};
#[cfg(feature = "aws")]
use adx_aws::glue_admin::{GlueAdmin, PushOutcome};
#[cfg(feature = "aws")]
use adx_aws::{AwsContext, AwsSettings};
use adx_core::{SchemaChange, compare_schemas};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `adx schemas`.
#[derive(Args)]
pub struct SchemasArgs {
    #[command(subcommand)]
    command: SchemasCommand,
}

#[derive(Subcommand)]
enum SchemasCommand {
    /// Creates the registry and missing schemas, and registers changed schemas as new versions;
    /// refuses a change that breaks BACKWARD compatibility.
    Push {
        /// Folder of `<dataset>.avsc` files.
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
        /// Glue registry name.
        #[arg(long, env = "REGISTRY_NAME", default_value = "advertisex")]
        registry: String,
    },
    /// Checks every schema file against its version at a git revision, offline.
    Check {
        /// Folder of `<dataset>.avsc` files (inside a git work tree).
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
        /// The revision to compare with.
        #[arg(long, default_value = "HEAD")]
        against: String,
    },
    /// Prints the Glue table columns of each dataset's curated Parquet (as the template's
    /// `Columns` YAML), derived from the schema files.
    Columns {
        /// Folder of `<dataset>.avsc` files.
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
    },
}

/// Runs `adx schemas`.
pub fn run(args: SchemasArgs) -> Result<(), String> {
    match args.command {
        SchemasCommand::Push { dir, registry } => push(&dir, &registry),
        SchemasCommand::Check { dir, against } => check(&dir, &against),
        SchemasCommand::Columns { dir } => columns(&dir),
    }
}

/// Without the `aws` feature there is no registry to push to.
#[cfg(not(feature = "aws"))]
fn push(_: &Path, _: &str) -> Result<(), String> {
    Err(crate::built_without("aws", "schemas push"))
}

#[cfg(feature = "aws")]
fn push(dir: &Path, registry: &str) -> Result<(), String> {
    let files = read_dir(dir)?;
    let settings = AwsSettings::from_env().map_err(|e| e.to_string())?;
    let context = AwsContext::load(&settings).map_err(|e| e.to_string())?;
    let admin = GlueAdmin::new(&context, registry);
    if admin.ensure_registry().map_err(|e| e.to_string())? {
        println!("registry {registry}: created");
    }
    let mut refused = 0;
    for file in &files {
        let outcome = admin
            .push(&file.name, &file.definition)
            .map_err(|e| e.to_string())?;
        let line = match outcome {
            PushOutcome::Created { version } => format!("created, version {version}"),
            PushOutcome::Registered { version } => format!("registered version {version}"),
            PushOutcome::Unchanged { version } => format!("unchanged (version {version})"),
            PushOutcome::Refused(reason) => {
                refused += 1;
                format!("REFUSED: {reason}")
            }
        };
        println!("{registry}/{}: {line}", file.name);
    }
    if refused > 0 {
        return Err(format!("{refused} schema(s) refused"));
    }
    Ok(())
}

/// The file's text at `revision`, or `None` when the file is not in it.
fn at_revision(file: &SchemaFile, revision: &str) -> Result<Option<String>, String> {
    let parent = file.path.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let file_name = file
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: not a UTF-8 file name", file.path.display()))?;
    let output = Command::new("git")
        .arg("-C")
        .arg(parent)
        .args(["show", &format!("{revision}:./{file_name}")])
        .output()
        .map_err(|e| format!("running git: {e}"))?;
    if output.status.success() {
        return String::from_utf8(output.stdout)
            .map(Some)
            .map_err(|_| format!("{file_name} at {revision} is not UTF-8"));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("does not exist in") || stderr.contains("exists on disk, but not in") {
        Ok(None)
    } else {
        Err(format!(
            "git show {revision}:{file_name}: {}",
            stderr.trim()
        ))
    }
}

fn check(dir: &Path, revision: &str) -> Result<(), String> {
    let files = read_dir(dir)?;
    let mut bad = 0;
    for file in &files {
        let previous = at_revision(file, revision)?;
        let line = match compare_schemas(&file.name, previous.as_deref(), &file.definition) {
            Ok(SchemaChange::New) => format!("new (not in {revision})"),
            Ok(SchemaChange::Unchanged) => format!("unchanged since {revision}"),
            Ok(SchemaChange::Compatible) => {
                format!("changed since {revision}, BACKWARD compatible")
            }
            Ok(SchemaChange::Breaking(reason)) => {
                bad += 1;
                format!("BREAKING since {revision}: {reason}")
            }
            Err(reason) => {
                bad += 1;
                format!("INVALID: {reason}")
            }
        };
        println!("{}: {line}", file.name);
    }
    if bad > 0 {
        return Err(format!("{bad} schema(s) would be refused"));
    }
    Ok(())
}

fn columns(dir: &Path) -> Result<(), String> {
    for file in read_dir(dir)? {
        let dataset = adx_core::Dataset::from_registered(&adx_core::RegisteredSchema {
            name: file.name.clone(),
            version_id: String::new(),
            version_number: 0,
            data_format: "AVRO".into(),
            definition: file.definition.clone(),
        })
        .map_err(|e| format!("{}: {e}", file.path.display()))?;
        println!("# {}", file.name);
        println!("Columns:");
        for (name, ty) in adx_core::table_columns(&dataset.shape) {
            println!("  - {{ Name: {name}, Type: \"{ty}\" }}");
        }
    }
    Ok(())
}
