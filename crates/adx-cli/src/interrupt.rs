//! Ctrl-C for long-running commands (`adx consume`): the first SIGINT asks the command to stop
//! at the next safe point (the batch in hand is handled and committed, the tables commit, the
//! summary is printed); a second one ends the process at once, as the default would.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The flag the signal handler sets, shared with whoever watches it.
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::Relaxed);
    }
    // SAFETY: signal() is async-signal-safe; the next Ctrl-C gets the default disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Installs the handler (once) and returns the flag it sets on the first Ctrl-C.
pub fn on_ctrl_c() -> Arc<AtomicBool> {
    let flag = FLAG
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only stores to an atomic that is initialised before it is installed,
    // and calls signal(), both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
    flag
}
