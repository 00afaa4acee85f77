use daemon_runtime::daemon;

#[daemon(stdout = "myd.out")]
fn main() {}
