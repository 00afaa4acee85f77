use daemon_runtime::daemon;

#[daemon(umask = "022")]
fn main() {}
