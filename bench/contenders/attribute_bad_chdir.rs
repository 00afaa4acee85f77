//! The attribute contender with a working directory that does not exist:
//! `chdir` is a literal in the attribute, so figure 4 needs its own binary.

use daemon_runtime::daemon;

#[daemon(
    umask = 0o027,
    chdir = "/nonexistent/daemon-bench",
    pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set")
)]
fn main() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
