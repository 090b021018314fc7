//! The LocalStack process, as `infra/local/start.sh` started it: paused and resumed by the
//! tests that need S3 to stop answering for a while.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// The LocalStack process group, as `infra/local/start.sh` recorded it.
pub struct LocalStack {
    pgid: String,
}

impl LocalStack {
    /// The process group recorded under `ADX_LOCAL_STATE`.
    pub fn from_state() -> LocalStack {
        let state = std::env::var("ADX_LOCAL_STATE").expect("ADX_LOCAL_STATE (infra/local/env.sh)");
        let path = PathBuf::from(state).join("localstack.pid");
        let pgid = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string();
        LocalStack { pgid }
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the whole group.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.pgid)])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} -{}", self.pgid);
    }
}

/// Resumes LocalStack when dropped, even if the test fails.
pub struct Resume(pub Arc<LocalStack>);

impl Drop for Resume {
    fn drop(&mut self) {
        self.0.signal("-CONT");
    }
}
