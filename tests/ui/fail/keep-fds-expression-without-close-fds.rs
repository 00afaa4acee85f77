// An expression given to `keep_fds` needs `close_fds` as a literal array does.
use daemon_runtime::daemon;

fn kept() -> Vec<i32> {
    vec![3]
}

#[daemon(keep_fds = kept(), close_fds = false)]
fn main() {}
