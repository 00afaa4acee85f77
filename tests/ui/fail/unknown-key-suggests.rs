use daemon_runtime::daemon;

#[daemon(umsk = 0o022)]
fn main() {}
