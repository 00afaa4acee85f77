//! Shared code of the daemons that the integration tests start
//! (`tests/bin/`): not part of any published crate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Writes this process's pid and a newline to `$PROBE_OUT` (the tests' proof
/// that the body runs, and where), then returns once SIGTERM arrives.
pub fn report_pid_and_wait() {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop)).expect("SIGTERM");
    if let Some(out) = std::env::var_os("PROBE_OUT") {
        std::fs::write(out, format!("{}\n", std::process::id())).expect("PROBE_OUT");
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
}
