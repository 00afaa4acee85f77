use daemon_runtime::daemon;

#[daemon(pid_file = "/run/myd.pid", reopen_logs_on = "SIGHUP")]
fn main() {}
