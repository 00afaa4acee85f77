use daemon_runtime::daemon;

#[daemon(keep_fds = 3)]
fn main() {}
