use daemon_runtime::daemon;

#[daemon(pid_file = "myd.pid")]
fn main() {}
