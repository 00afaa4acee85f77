use daemon_runtime::daemon;

#[daemon(stdout = "/var/log/myd.log", reopen_logs_on = SIGHUP)]
fn main() {}
