//! `adx invoke <function> --event <file>`: the very handler the Lambda runs, once, with its
//! configuration from the environment; prints the handler's JSON answer.

use crate::stats::{ProcessStats, cpu_seconds};
use adx_handlers::{
    Adapters, HandlerConfig, handle_kafka_event, handle_s3_event, s3_event::parse_event,
};
use clap::{Args, ValueEnum};
use std::io::Read;
use std::path::PathBuf;

/// The functions `adx invoke` can run.
#[derive(Clone, Copy, ValueEnum)]
pub enum Function {
    /// The S3-triggered file-ingest function.
    FileIngest,
    /// The MSK-triggered stream-ingest function.
    StreamIngest,
}

/// Arguments of `adx invoke`.
#[derive(Args)]
pub struct InvokeArgs {
    /// Which function.
    function: Function,
    /// The event JSON file (`-` for standard input).
    #[arg(long)]
    event: PathBuf,
    /// Also print elapsed seconds and peak memory to standard error.
    #[arg(long)]
    stats: bool,
    /// Handle the same event this many times in one process, as a warm Lambda would; with
    /// --stats, the figures are then per invocation, averaged over the warm ones (all but the first).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

/// Runs the handler and prints its answer.
pub fn run(args: InvokeArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let bytes = if args.event.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading the event from stdin: {e}"))?;
        buf
    } else {
        std::fs::read(&args.event).map_err(|e| format!("reading {}: {e}", args.event.display()))?
    };
    let config = HandlerConfig::from_env().map_err(|e| e.to_string())?;
    let adapters = Adapters::from_config(&config).map_err(|e| e.to_string())?;
    let repeat = args.repeat.max(1);
    let mut answer = String::new();
    let mut warm_from: Option<(std::time::Instant, f64)> = None;
    for i in 0..repeat {
        if i == 1 {
            warm_from = Some((std::time::Instant::now(), cpu_seconds()));
        }
        // The event is parsed every time: Lambda hands each invocation its JSON.
        answer = match args.function {
            Function::FileIngest => {
                let event = parse_event(&bytes)?;
                let report = handle_s3_event(&adapters, &config, &event)
                    .map_err(|e| format!("handler failed: {e}"))?;
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            }
            Function::StreamIngest => {
                let event = adx_handlers::kafka_event::parse_event(&bytes)?;
                let report = handle_kafka_event(&adapters, &config, &event)
                    .map_err(|e| format!("handler failed: {e}"))?;
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            }
        };
    }
    println!("{answer}");
    if args.stats {
        let mut stats = ProcessStats::read(started);
        if let Some((at, cpu)) = warm_from {
            let warm = (repeat - 1) as f64;
            stats.wall_s = at.elapsed().as_secs_f64() / warm;
            stats.cpu_s = (cpu_seconds() - cpu) / warm;
        }
        eprintln!(
            "{}",
            serde_json::to_string(&stats).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}
