use daemon_runtime::daemon;

#[daemon(pid_file = "/run/")]
fn main() {}
