//! `#[daemon]` alone, for the tests: writes its pid to `$PROBE_OUT`, then
//! waits for SIGTERM.

use daemon_runtime::daemon;

#[daemon]
fn main() {
    daemon_tests::report_pid_and_wait();
}
