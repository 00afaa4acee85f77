//! Shared code of the daemons that the integration tests start
//! (`tests/bin/`): not part of any published crate.

pub mod listen;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Writes this process's pid and a newline to `$PROBE_OUT` (the tests' proof
/// that the body runs, and where), then returns once SIGTERM arrives.
pub fn report_pid_and_wait() {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop)).expect("SIGTERM");
    write_pid();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes this process's pid and a newline to `$PROBE_OUT`, if set.
pub fn write_pid() {
    if let Some(out) = std::env::var_os("PROBE_OUT") {
        std::fs::write(out, format!("{}\n", std::process::id())).expect("PROBE_OUT");
    }
}

/// Prints numbered lines to stdout every few milliseconds, reopening the log
/// files on SIGHUP (logrotate's signal), until SIGTERM.
pub fn log_lines_until_sigterm() {
    use std::io::Write;
    let stop = Arc::new(AtomicBool::new(false));
    let hangup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop)).expect("SIGTERM");
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hangup)).expect("SIGHUP");
    write_pid();
    let mut line = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if hangup.swap(false, Ordering::Relaxed) {
            daemon_runtime::reopen_logs().expect("reopen logs");
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "line {line}").expect("write");
        stdout.flush().expect("flush");
        line += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
}
