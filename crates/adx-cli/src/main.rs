//! `adx`: the AdvertiseX command-line tool. It runs the Lambda handlers locally (`invoke`),
//! generates sample data (`gen`), runs the whole file path on the embedded default (`demo`)
//! and measures it (`bench`), registers the schemas (`schemas`), checks a deployment
//! (`doctor`) and replays quarantined records (`quarantine replay`).

mod bench;
mod demo;
mod doctor_cmd;
mod embedded;
mod gen_cmd;
mod invoke;
mod quarantine_cmd;
mod samples;
mod schema_files;
mod schemas_cmd;
mod stats;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// AdvertiseX ingestion: local runs of the Lambda handlers, sample data, demo and benchmarks.
#[derive(Parser)]
#[command(name = "adx", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a Lambda handler once on an event file, with its configuration from the environment.
    Invoke(invoke::InvokeArgs),
    /// Writes realistic sample files (and their S3 events) for every dataset and format.
    Gen(gen_cmd::GenArgs),
    /// The main job on the embedded default: generate, drop, ingest, summarise.
    Demo(demo::DemoArgs),
    /// Measures records/s per core and peak memory of the file handler per dataset and format.
    Bench(bench::BenchArgs),
    /// Registers `schemas/` in the Glue Schema Registry, or checks changes offline.
    Schemas(schemas_cmd::SchemasArgs),
    /// Checks a deployment: buckets, registry, registered schemas, MSK cluster and topics.
    Doctor(doctor_cmd::DoctorArgs),
    /// Works on quarantined records: `replay` re-drives them through the pipeline.
    Quarantine(quarantine_cmd::QuarantineArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ADX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Invoke(args) => invoke::run(args),
        Command::Gen(args) => gen_cmd::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Schemas(args) => schemas_cmd::run(args),
        Command::Doctor(args) => doctor_cmd::run(args),
        Command::Quarantine(args) => quarantine_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adx: {e}");
            ExitCode::FAILURE
        }
    }
}
