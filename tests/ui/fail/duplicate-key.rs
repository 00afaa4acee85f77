use daemon_runtime::daemon;

#[daemon(umask = 0o022, chdir = "/", umask = 0o027)]
fn main() {}
