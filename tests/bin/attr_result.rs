//! `main` returning `Result`: after reporting its pid it returns the error
//! named by `$PROBE_ERROR` (or `Ok`) once SIGTERM arrives.

use daemon_runtime::daemon;

#[daemon(pid_file = std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"))]
fn main() -> Result<(), String> {
    daemon_tests::report_pid_and_wait();
    match std::env::var("PROBE_ERROR") {
        Ok(error) => Err(error),
        Err(_) => Ok(()),
    }
}
