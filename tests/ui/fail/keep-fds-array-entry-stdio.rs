// In an array, the literal entries are checked even beside a constant.
use daemon_runtime::daemon;

const LISTEN_FD: i32 = 3;

#[daemon(keep_fds = [LISTEN_FD, 2])]
fn main() {}
