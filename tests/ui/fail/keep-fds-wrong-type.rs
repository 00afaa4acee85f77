// An expression given to `keep_fds` must yield descriptors (`RawFd`).
use daemon_runtime::daemon;

fn kept() -> Vec<u8> {
    vec![3]
}

#[daemon(keep_fds = kept())]
fn main() {}
