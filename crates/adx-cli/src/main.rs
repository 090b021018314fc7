//! `adx`: the AdvertiseX command-line tool. It runs the Lambda handlers locally (`invoke`),
//! generates sample data (`gen`), runs the whole file path on the embedded default (`demo`)
//! and measures it (`bench`), registers the schemas (`schemas`), checks a deployment
//! (`doctor`), replays quarantined records (`quarantine replay`), and publishes to and
//! consumes from Kafka as the MSK trigger does (`produce`, `consume`), and keeps the curated
//! Iceberg tables in step with the contracts (`tables sync`).

mod bench;
#[cfg(feature = "kafka")]
mod bench_kafka;
mod bucket_args;
#[cfg(feature = "kafka")]
mod consume_cmd;
mod demo;
#[cfg(feature = "aws")]
mod doctor_cmd;
mod embedded;
mod failed_cmd;
mod gen_cmd;
#[cfg(feature = "kafka")]
mod interrupt;
mod invoke;
#[cfg(feature = "kafka")]
mod kafka_target;
mod layout_cmd;
#[cfg(feature = "kafka")]
mod produce_cmd;
mod quarantine_cmd;
mod samples;
mod schema_files;
mod schemas_cmd;
mod stats;
mod tables_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Why a command cannot run in this build: `what` needs a feature it was built without.
#[cfg_attr(all(feature = "aws", feature = "kafka"), allow(dead_code))]
pub(crate) fn built_without(feature: &str, what: &str) -> String {
    format!(
        "{what} needs the `{feature}` feature, and this adx was built without it \
         (build it with its default features: cargo build --release -p adx-cli)"
    )
}

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
    /// Checks a deployment: buckets, registry, registered schemas, MSK cluster and topics, and
    /// (with --database) the Iceberg tables.
    #[cfg(feature = "aws")]
    Doctor(doctor_cmd::DoctorArgs),
    /// Works on quarantined records: `replay` re-drives them through the pipeline.
    Quarantine(quarantine_cmd::QuarantineArgs),
    /// MSK batches that failed past their retries (the failed-batches bucket): list them, and
    /// hand them to the stream handler again, exactly once.
    Failed(failed_cmd::FailedArgs),
    /// Publishes generated records of a dataset to a Kafka topic at a target rate.
    #[cfg(feature = "kafka")]
    Produce(produce_cmd::ProduceArgs),
    /// The local event source mapping: Kafka batches to the stream handler, in this process.
    #[cfg(feature = "kafka")]
    Consume(consume_cmd::ConsumeArgs),
    /// Shows how a curated Parquet file is laid out: row groups, encodings, statistics.
    Layout(layout_cmd::LayoutArgs),
    /// The curated datasets as Iceberg tables: `sync` creates them from the contracts.
    Tables(tables_cmd::TablesArgs),
    /// Commits the handlers' pending data files to the tables, exactly once.
    Commit(tables_cmd::CommitArgs),
}

fn main() -> ExitCode {
    // The allocator as the Lambda functions set it, so that runs and benchmarks match them.
    adx_handlers::allocator::tune();
    // Like any Unix filter: a closed pipe (`adx layout f.parquet | head`) ends the process
    // quietly instead of making `println!` panic.
    // SAFETY: restoring the default disposition of SIGPIPE, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
        #[cfg(feature = "aws")]
        Command::Doctor(args) => doctor_cmd::run(args, &doctor_cmd::typed_flags(&matches)),
        Command::Quarantine(args) => quarantine_cmd::run(args),
        Command::Failed(args) => failed_cmd::run(args),
        #[cfg(feature = "kafka")]
        Command::Produce(args) => produce_cmd::run(args),
        #[cfg(feature = "kafka")]
        Command::Consume(args) => consume_cmd::run(args),
        Command::Layout(args) => layout_cmd::run(args),
        Command::Tables(args) => tables_cmd::run(args),
        Command::Commit(args) => tables_cmd::run_commit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adx: {e}");
            ExitCode::FAILURE
        }
    }
}
