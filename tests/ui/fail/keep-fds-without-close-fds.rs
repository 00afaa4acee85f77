use daemon_runtime::daemon;

#[daemon(close_fds = false, keep_fds = [3])]
fn main() {}
