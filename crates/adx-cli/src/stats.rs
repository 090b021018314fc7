//! Process figures for benchmarks: wall and CPU seconds, and peak resident memory, read from
//! the kernel's accounting of this process (`/proc/self/status`, `/proc/self/stat`).

use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Figures of one process run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ProcessStats {
    /// Wall seconds since `started`.
    pub wall_s: f64,
    /// User + system CPU seconds of the process so far.
    pub cpu_s: f64,
    /// Peak resident set size, MiB (VmHWM).
    pub peak_rss_mib: f64,
}

impl ProcessStats {
    /// Reads the figures now.
    pub fn read(started: Instant) -> ProcessStats {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let hwm_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        ProcessStats {
            wall_s: started.elapsed().as_secs_f64(),
            cpu_s: cpu_seconds(),
            peak_rss_mib: hwm_kib / 1024.0,
        }
    }
}

/// CPU seconds of this process so far: the nanosecond run time the scheduler accounts to the
/// main thread (`/proc/self/schedstat`; the handler runs there), else user + system ticks.
pub fn cpu_seconds() -> f64 {
    let schedstat = std::fs::read_to_string("/proc/self/schedstat").unwrap_or_default();
    if let Some(ns) = schedstat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
    {
        return ns / 1e9;
    }
    // Fields 14 and 15 of /proc/self/stat: utime and stime in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}
