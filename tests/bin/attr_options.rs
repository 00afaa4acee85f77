//! Every core key of `#[daemon]`, for the tests. The pid file comes from an
//! expression evaluated before detaching.

use daemon_runtime::daemon;

#[daemon(
    umask = 0o027,
    chdir = "/tmp",
    double_fork = false,
    pid_file = std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"),
    close_fds = true,
    keep_fds = [9],
)]
fn main() {
    daemon_tests::report_pid_and_wait();
}
