use daemon_runtime::daemon;

#[daemon(umask = 0o022 chdir = "/")]
fn main() {}
