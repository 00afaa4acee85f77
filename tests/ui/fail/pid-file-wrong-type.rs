use daemon_runtime::daemon;

#[daemon(pid_file = 42)]
fn main() {}
