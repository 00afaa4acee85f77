//! This crate through the attribute, the pid file named by an expression.

use daemon_runtime::daemon;

#[daemon(
    umask = 0o027,
    chdir = "/",
    pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set")
)]
fn main() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
