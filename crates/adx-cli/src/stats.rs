//! Process figures for benchmarks: wall and CPU seconds, and peak resident memory, read from
//! the kernel's accounting of this process (`/proc/self/status`, the process CPU clock).

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

/// CPU seconds of this process so far, every thread's (the encoder thread's too, and those
/// that have exited): `CLOCK_PROCESS_CPUTIME_ID`.
pub fn cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which lives on this frame.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if status != 0 {
        return 0.0;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}
