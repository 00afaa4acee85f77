use daemon_runtime::daemon;

#[daemon(double_fork = 1)]
fn main() {}
