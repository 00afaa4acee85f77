use daemon_runtime::daemon;

#[daemon(umask = 0o1000)]
fn main() {}
