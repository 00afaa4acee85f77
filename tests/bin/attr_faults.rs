//! The attribute with every key a failed start must clean up after, for
//! `tests/faults.rs`: a pid file from `$PROBE_PID_FILE`, `user = "nobody"`,
//! log files and manual readiness with a 2 s timeout. The body reports
//! ready, then waits for SIGTERM.

use std::ffi::OsString;

use daemon_runtime::daemon;

/// The pid file's path, after stopping for the tracer when
/// `$PROBE_STOP_FOR_TRACER` is set. The attribute evaluates `pid_file = ...`
/// in the launcher before its start runs (before the user lookup and any
/// fork), so this is the one place in the program where the test can stop
/// it with SIGSTOP: strace attaches then (`-p`) and its per-process counters
/// count only the attribute's start, not the loader's or std's start-up.
fn pid_file_after_stopping_for_tracer() -> OsString {
    if std::env::var_os("PROBE_STOP_FOR_TRACER").is_some() {
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    }
    std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE")
}

#[daemon(
    pid_file = pid_file_after_stopping_for_tracer(),
    user = "nobody",
    stdout = "/tmp/daemon-tests-attr_faults.log",
    stderr = "/tmp/daemon-tests-attr_faults.log",
    ready = "manual",
    ready_timeout = "2s",
)]
fn main() {
    daemon_runtime::ready();
    daemon_tests::report_pid_and_wait();
}
