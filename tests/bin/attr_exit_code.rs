//! `main` returning `ExitCode`: exits with 7 once SIGTERM arrives.

use std::process::ExitCode;

use daemon_runtime::daemon;

#[daemon]
fn main() -> ExitCode {
    daemon_tests::report_pid_and_wait();
    ExitCode::from(7)
}
