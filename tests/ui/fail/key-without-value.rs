use daemon_runtime::daemon;

#[daemon(umask)]
fn main() {}
